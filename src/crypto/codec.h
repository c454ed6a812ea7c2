/* codec.h - hex and base64 (RFC 4648) encoders/decoders, strict on input. */
#ifndef SVCR_CRYPTO_CODEC_H
#define SVCR_CRYPTO_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum b64_variant {
    B64_STD,       /* RFC 4648 §4, padded: what approvals' `sig` and key files use */
    B64_URL_NOPAD, /* RFC 4648 §5 without padding: libmacaroons' serialization */
} b64_variant;

/* Value of one hex digit (either case), or -1 for any other character. */
int hex_digit_value(int c);
/* Writes 2n lowercase hex digits and a NUL to out (capacity >= 2n + 1). Cannot fail. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly `len` hex digits (either case) into out (capacity `cap`). Returns 0 and sets
 * *out_len, or -1 on odd length, a non-hex character, or too small a buffer. */
int hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Length of the encoding of n bytes, excluding the NUL. */
size_t b64_encoded_len(size_t n, b64_variant v);
/* Encodes n bytes + NUL into out (capacity `cap` >= b64_encoded_len + 1). Returns the length
 * written (without NUL) or -1 if cap is too small. */
int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, b64_variant v);
/* Decodes exactly `len` characters, strictly: no whitespace, correct padding for B64_STD, no
 * padding for B64_URL_NOPAD, zero trailing bits. Returns 0 and sets *out_len, or -1. */
int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len,
               b64_variant v);

#endif

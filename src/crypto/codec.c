/* codec.c - hex and base64 codecs (see codec.h); base64 is libsodium's constant-time codec. */
#include "crypto/codec.h"

#include <sodium.h>

static int sodium_variant(b64_variant v)
{
    return v == B64_STD ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (len % 2 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit_value(in[2 * i]), lo = hex_digit_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = len / 2;
    return 0;
}

size_t b64_encoded_len(size_t n, b64_variant v)
{
    /* sodium_base64_ENCODED_LEN counts the NUL. */
    return sodium_base64_ENCODED_LEN(n, sodium_variant(v)) - 1;
}

int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, b64_variant v)
{
    size_t need = b64_encoded_len(n, v);
    if (cap < need + 1)
        return -1;
    sodium_bin2base64(out, cap, in, n, sodium_variant(v));
    return (int)need;
}

int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len, b64_variant v)
{
    const char *end = NULL;
    size_t n = 0;
    if (sodium_base642bin(out, cap, in, len, NULL, &n, &end, sodium_variant(v)) != 0)
        return -1;
    if (end != in + len)
        return -1; /* trailing characters not consumed */
    *out_len = n;
    return 0;
}

/* approval.h - the approval signature of SPEC §3: message layout, signing and verifying, for
 * any algorithm of the sig_algo table. */
#ifndef SVCR_CRYPTO_APPROVAL_H
#define SVCR_CRYPTO_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/b3.h"
#include "crypto/ed25519.h"
#include "crypto/sig_algo.h"
#include "interop/error.h"

#define APPROVAL_CONTEXT "ron:svc-registry:v1\n"
#define APPROVAL_CONTEXT_LEN 20
#define APPROVAL_MSG_LEN (APPROVAL_CONTEXT_LEN + B3_TAG_LEN) /* 87 */
/* Padded base64 of the longest signature of any row: bounds a `sig` field's text. */
#define APPROVAL_SIG_B64_MAX (4 * ((SIG_SIG_MAX + 2) / 3))
/* Padded base64 of an Ed25519 signature (64 bytes): only for the Ed25519 helpers below. */
#define APPROVAL_SIG_B64_LEN 88

/* Builds the 87-byte message: the context string then the payload_b3 tag's ASCII bytes.
 * Returns 0, or -1 if payload_b3 is not a well-formed tag ("b3:" + 64 lowercase hex). */
int approval_message(const char *payload_b3, size_t len, uint8_t out[APPROVAL_MSG_LEN]);

/* Decodes an approval's `sig` field (len characters) into sig and *sig_len: standard padded
 * base64 (D6: no whitespace, no URL-safe alphabet, padding present, zero trailing bits) of
 * exactly a->sig_len bytes. `a` NULL stands for an approval naming an algo without a row: its
 * sig must then be the length of some row's signatures, so that it reaches the algo check of
 * SPEC §4.3 (422 algo_mismatch) as a well-formed body. Only text that approval_sig_encode
 * gives back unchanged is accepted, so a decoded sig is written out as the same bytes.
 * Returns SVCR_OK, or SVCR_E_MALFORMED (err filled, reason "sig_encoding"); sig is then
 * unspecified. */
svcr_code approval_sig_decode(const sig_algo *a, const char *sig_b64, size_t len,
                              uint8_t sig[SIG_SIG_MAX], size_t *sig_len, svcr_err *err);

/* Writes the standard padded base64 of sig (sig_len <= SIG_SIG_MAX bytes) and a NUL into out
 * (capacity cap >= APPROVAL_SIG_B64_MAX + 1). Returns the length written, or -1 if cap is too
 * small (out untouched). */
int approval_sig_encode(const uint8_t *sig, size_t sig_len, char *out, size_t cap);

/* Verifies a decoded approval signature of `payload_b3` by pk (a->pk_len bytes) under row a.
 * Returns SVCR_OK; SVCR_E_MALFORMED for a badly formed tag or a sig_len other than a's;
 * SVCR_E_INVALID_SIG when the signature does not verify. */
svcr_code approval_verify(const sig_algo *a, const char *payload_b3, const uint8_t *sig,
                          size_t sig_len, const uint8_t *pk, svcr_err *err);

/* Signs `payload_b3` with sk (a->sk_len bytes) under row a and writes the padded base64
 * signature + NUL into sig_b64 (capacity cap >= APPROVAL_SIG_B64_MAX + 1). Returns 0, or -1 if
 * payload_b3 is not a well-formed tag or cap is too small. */
int approval_sign(const sig_algo *a, const char *payload_b3, const uint8_t *sk, char *sig_b64,
                  size_t cap);

/* Ed25519 shorthands (tests, benchmarks): approval_sig_decode then approval_verify with the
 * "ed25519" row, over the sig's text. Same returns as those. */
svcr_code approval_verify_ed25519(const char *payload_b3, const char *sig_b64, size_t sig_len,
                                  const uint8_t pk[ED25519_PK_LEN], svcr_err *err);

/* approval_sign with the "ed25519" row: writes the 88 base64 characters + NUL.
 * Returns 0, or -1 if payload_b3 is not a well-formed tag. */
int approval_sign_ed25519(const char *payload_b3, const uint8_t sk[ED25519_SK_LEN],
                          char sig_b64[APPROVAL_SIG_B64_LEN + 1]);

#endif

/* approval.h - the approval signature of SPEC §3: message layout, signing and verifying. */
#ifndef SVCR_CRYPTO_APPROVAL_H
#define SVCR_CRYPTO_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/b3.h"
#include "crypto/ed25519.h"
#include "interop/error.h"

#define APPROVAL_CONTEXT "ron:svc-registry:v1\n"
#define APPROVAL_CONTEXT_LEN 20
#define APPROVAL_MSG_LEN (APPROVAL_CONTEXT_LEN + B3_TAG_LEN) /* 87 */
#define APPROVAL_SIG_B64_LEN 88                              /* padded base64 of 64 bytes */

/* Builds the 87-byte message: the context string then the payload_b3 tag's ASCII bytes.
 * Returns 0, or -1 if payload_b3 is not a well-formed tag ("b3:" + 64 lowercase hex). */
int approval_message(const char *payload_b3, size_t len, uint8_t out[APPROVAL_MSG_LEN]);

/* Decodes an approval's `sig` field: standard padded base64 of exactly 64 bytes.
 * Returns 0, or SVCR_E_MALFORMED (err filled, reason "sig_encoding"). */
svcr_code approval_sig_decode(const char *sig_b64, size_t len, uint8_t sig[ED25519_SIG_LEN],
                              svcr_err *err);

/* Verifies an Ed25519 approval of `payload_b3` by `pk`. Returns SVCR_OK; SVCR_E_MALFORMED for a
 * badly encoded sig or tag; SVCR_E_INVALID_SIG when the signature does not verify. */
svcr_code approval_verify_ed25519(const char *payload_b3, const char *sig_b64, size_t sig_len,
                                  const uint8_t pk[ED25519_PK_LEN], svcr_err *err);

/* Signs `payload_b3` with sk and writes the padded base64 signature + NUL (89 bytes).
 * Returns 0, or -1 if payload_b3 is not a well-formed tag. */
int approval_sign_ed25519(const char *payload_b3, const uint8_t sk[ED25519_SK_LEN],
                          char sig_b64[APPROVAL_SIG_B64_LEN + 1]);

#endif

/* approval.c - SPEC §3 approval message, signing and verification (see approval.h). */
#include "crypto/approval.h"

#include <string.h>

#include "crypto/codec.h"

int approval_message(const char *payload_b3, size_t len, uint8_t out[APPROVAL_MSG_LEN])
{
    if (b3_tag_parse(payload_b3, len, NULL) != 0)
        return -1;
    memcpy(out, APPROVAL_CONTEXT, APPROVAL_CONTEXT_LEN);
    memcpy(out + APPROVAL_CONTEXT_LEN, payload_b3, B3_TAG_LEN);
    return 0;
}

svcr_code approval_sig_decode(const char *sig_b64, size_t len, uint8_t sig[ED25519_SIG_LEN],
                              svcr_err *err)
{
    uint8_t tmp[ED25519_SIG_LEN + 3];
    size_t n = 0;
    if (len != APPROVAL_SIG_B64_LEN || b64_decode(sig_b64, len, tmp, sizeof tmp, &n, B64_STD) != 0 ||
        n != ED25519_SIG_LEN)
        return svcr_err_set(err, SVCR_E_MALFORMED, "sig", "sig_encoding",
                            "sig must be standard padded base64 of a 64-byte signature");
    memcpy(sig, tmp, ED25519_SIG_LEN);
    return SVCR_OK;
}

svcr_code approval_verify_ed25519(const char *payload_b3, const char *sig_b64, size_t sig_len,
                                  const uint8_t pk[ED25519_PK_LEN], svcr_err *err)
{
    uint8_t sig[ED25519_SIG_LEN];
    uint8_t msg[APPROVAL_MSG_LEN];
    svcr_code c = approval_sig_decode(sig_b64, sig_len, sig, err);
    if (c != SVCR_OK)
        return c;
    if (approval_message(payload_b3, strlen(payload_b3), msg) != 0)
        return svcr_err_set(err, SVCR_E_MALFORMED, "payload_b3", "hash_encoding",
                            "payload_b3 must be b3: followed by 64 lowercase hex digits");
    if (!ed25519_verify(sig, msg, sizeof msg, pk))
        return svcr_err_set(err, SVCR_E_INVALID_SIG, "sig", "signature",
                            "signature does not verify for this signer and payload");
    return SVCR_OK;
}

int approval_sign_ed25519(const char *payload_b3, const uint8_t sk[ED25519_SK_LEN],
                          char sig_b64[APPROVAL_SIG_B64_LEN + 1])
{
    uint8_t msg[APPROVAL_MSG_LEN];
    uint8_t sig[ED25519_SIG_LEN];
    if (approval_message(payload_b3, strlen(payload_b3), msg) != 0)
        return -1;
    ed25519_sign(sig, msg, sizeof msg, sk);
    b64_encode(sig, sizeof sig, sig_b64, APPROVAL_SIG_B64_LEN + 1, B64_STD);
    return 0;
}

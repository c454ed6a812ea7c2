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

svcr_code approval_sig_decode(const sig_algo *a, const char *sig_b64, size_t len,
                              uint8_t sig[SIG_SIG_MAX], size_t *sig_len, svcr_err *err)
{
    uint8_t tmp[SIG_SIG_MAX + 3];
    char again[APPROVAL_SIG_B64_MAX + 1];
    size_t n = 0;
    int ok = len <= APPROVAL_SIG_B64_MAX &&
             b64_decode(sig_b64, len, tmp, sizeof tmp, &n, B64_STD) == 0 &&
             (a ? n == a->sig_len : sig_algo_sig_len_known(n));
    /* strict base64 has one text per byte string; checking it here makes that a property of
     * this function rather than of the decoder: a decoded sig re-encodes as the text sent */
    ok = ok && approval_sig_encode(tmp, n, again, sizeof again) == (int)len &&
         memcmp(again, sig_b64, len) == 0;
    if (!ok) {
        if (a)
            return svcr_err_set(err, SVCR_E_MALFORMED, "sig", "sig_encoding",
                                "sig must be standard padded base64 of a %zu-byte signature",
                                a->sig_len);
        return svcr_err_set(err, SVCR_E_MALFORMED, "sig", "sig_encoding",
                            "sig must be standard padded base64 of a signature");
    }
    memcpy(sig, tmp, n);
    *sig_len = n;
    return SVCR_OK;
}

int approval_sig_encode(const uint8_t *sig, size_t sig_len, char *out, size_t cap)
{
    if (sig_len > SIG_SIG_MAX)
        return -1;
    return b64_encode(sig, sig_len, out, cap, B64_STD);
}

svcr_code approval_verify(const sig_algo *a, const char *payload_b3, const uint8_t *sig,
                          size_t sig_len, const uint8_t *pk, svcr_err *err)
{
    uint8_t msg[APPROVAL_MSG_LEN];
    if (sig_len != a->sig_len)
        return svcr_err_set(err, SVCR_E_MALFORMED, "sig", "sig_encoding",
                            "sig must be a %zu-byte signature", a->sig_len);
    if (approval_message(payload_b3, strlen(payload_b3), msg) != 0)
        return svcr_err_set(err, SVCR_E_MALFORMED, "payload_b3", "hash_encoding",
                            "payload_b3 must be b3: followed by 64 lowercase hex digits");
    if (!a->verify(pk, sig, msg, sizeof msg))
        return svcr_err_set(err, SVCR_E_INVALID_SIG, "sig", "signature",
                            "signature does not verify for this signer and payload");
    return SVCR_OK;
}

int approval_sign(const sig_algo *a, const char *payload_b3, const uint8_t *sk, char *sig_b64,
                  size_t cap)
{
    uint8_t msg[APPROVAL_MSG_LEN];
    uint8_t sig[SIG_SIG_MAX];
    if (approval_message(payload_b3, strlen(payload_b3), msg) != 0 ||
        cap < b64_encoded_len(a->sig_len, B64_STD) + 1)
        return -1;
    a->sign(sig, msg, sizeof msg, sk);
    return approval_sig_encode(sig, a->sig_len, sig_b64, cap) < 0 ? -1 : 0;
}

svcr_code approval_verify_ed25519(const char *payload_b3, const char *sig_b64, size_t sig_len,
                                  const uint8_t pk[ED25519_PK_LEN], svcr_err *err)
{
    const sig_algo *ed = sig_algo_find("ed25519");
    uint8_t sig[SIG_SIG_MAX];
    size_t n = 0;
    svcr_code c = approval_sig_decode(ed, sig_b64, sig_len, sig, &n, err);
    if (c != SVCR_OK)
        return c;
    return approval_verify(ed, payload_b3, sig, n, pk, err);
}

int approval_sign_ed25519(const char *payload_b3, const uint8_t sk[ED25519_SK_LEN],
                          char sig_b64[APPROVAL_SIG_B64_LEN + 1])
{
    return approval_sign(sig_algo_find("ed25519"), payload_b3, sk, sig_b64,
                         APPROVAL_SIG_B64_LEN + 1);
}

/* approvals.c - approval decoding, the §4.3 checks and quorum counting (see approvals.h). */
#include "governance/approvals.h"

#include <stdlib.h>
#include <string.h>

#include "interop/dto.h"

typedef struct approval_dto {
    const char *signer_id, *algo, *sig, *signed_at;
} approval_dto;

static const dto_field approval_fields[] = {
    {.name = "signer_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(approval_dto, signer_id),
     .min = 1,
     .max = SIGNER_ID_MAX},
    {.name = "algo",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(approval_dto, algo),
     .min = 1,
     .max = APPROVAL_ALGO_MAX},
    {.name = "sig", .type = DTO_STRING, .required = 1, .offset = offsetof(approval_dto, sig)},
    {.name = "signed_at",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(approval_dto, signed_at),
     .max = APPROVAL_TS_MAX,
     .flags = DTO_F_RFC3339},
};

svcr_code gov_approval_decode(const json_t *body, const char *path, gov_approval *out,
                              svcr_err *err)
{
    approval_dto d = {0};
    if (dto_decode(body, approval_fields, sizeof approval_fields / sizeof *approval_fields, &d,
                   NULL, path, err) != 0)
        return SVCR_E_MALFORMED;
    uint8_t sig[ED25519_SIG_LEN];
    if (approval_sig_decode(d.sig, strlen(d.sig), sig, err) != SVCR_OK) {
        if (err)
            dto_path_member(err->path, sizeof err->path, path, "sig");
        return SVCR_E_MALFORMED;
    }
    memset(out, 0, sizeof *out);
    strcpy(out->signer_id, d.signer_id);
    strcpy(out->algo, d.algo);
    strcpy(out->sig, d.sig);
    strcpy(out->signed_at, d.signed_at);
    dto_check_timestamp(d.signed_at, path, "signed_at", &out->signed_at_s, NULL);
    return SVCR_OK;
}

svcr_code gov_approval_check_membership(const gov_approval *a, const signer_set *set, svcr_err *err)
{
    const signer *s = signer_set_find(set, a->signer_id);
    if (!s)
        return svcr_err_set(err, SVCR_E_UNKNOWN_SIGNER, "signer_id", "unknown_signer",
                            "signer is not in the signer set that governs this proposal");
    if (s->revoked)
        return svcr_err_set(err, SVCR_E_REVOKED_KEY, "signer_id", "revoked_key",
                            "signer's key is revoked in the governing signer set");
    if (strcmp(a->algo, signer_algo_name(s->algo)) != 0)
        return svcr_err_set(err, SVCR_E_INVALID_SIG, "algo", "algo_mismatch",
                            "algo does not match the signer's registered algo");
    return SVCR_OK;
}

svcr_code gov_approval_check(const gov_approval *a, const signer_set *set, const char *payload_b3,
                             int64_t accepted_at_s, int64_t now_s, svcr_err *err)
{
    svcr_code c = gov_approval_check_membership(a, set, err);
    if (c != SVCR_OK)
        return c;
    if (a->signed_at_s > now_s + APPROVAL_SIGNED_AT_SKEW_SECS ||
        a->signed_at_s < accepted_at_s - APPROVAL_SIGNED_AT_SKEW_SECS)
        return svcr_err_set(err, SVCR_E_INVALID_SIG, "signed_at", "signed_at",
                            "signed_at must lie between the proposal's acceptance - 300 s and "
                            "now + 300 s");
    const signer *s = signer_set_find(set, a->signer_id);
    return approval_verify_ed25519(payload_b3, a->sig, strlen(a->sig), s->pk, err);
}

size_t gov_quorum_count(const gov_approval *list, size_t n, const signer_set *set)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (gov_approval_check_membership(&list[i], set, NULL) != SVCR_OK)
            continue;
        const signer *si = signer_set_find(set, list[i].signer_id);
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            if (gov_approval_check_membership(&list[j], set, NULL) != SVCR_OK)
                continue;
            const signer *sj = signer_set_find(set, list[j].signer_id);
            /* one key is one approver, whatever ids it is listed under */
            seen =
                sj == si || (sj->algo == si->algo && memcmp(sj->pk, si->pk, ED25519_PK_LEN) == 0);
        }
        count += !seen;
    }
    return count;
}

svcr_code gov_quorum_check(const gov_approval *list, size_t n, const signer_set *set, svcr_err *err)
{
    size_t have = gov_quorum_count(list, n, set);
    if (have >= set->m)
        return SVCR_OK;
    return svcr_err_set(err, SVCR_E_QUORUM_FAILED, NULL, "quorum",
                        "%zu valid approvals of the %u required", have, set->m);
}

json_t *gov_approval_to_json(const gov_approval *a)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "signer_id", a->signer_id, "algo", a->algo, "sig",
                     a->sig, "signed_at", a->signed_at);
}

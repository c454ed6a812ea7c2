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
    memset(out, 0, sizeof *out);
    if (approval_sig_decode(sig_algo_find(d.algo), d.sig, strlen(d.sig), out->sig, &out->sig_len,
                            err) != SVCR_OK) {
        if (err)
            dto_path_member(err->path, sizeof err->path, path, "sig");
        return SVCR_E_MALFORMED;
    }
    strcpy(out->signer_id, d.signer_id);
    strcpy(out->algo, d.algo);
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
    if (strcmp(a->algo, s->algo->name) != 0)
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
    return approval_verify(s->algo, payload_b3, a->sig, a->sig_len, s->pk, err);
}

size_t gov_quorum_tally(const gov_approval *list, size_t n, const signer_set *set, size_t *pq)
{
    size_t count = 0, count_pq = 0;
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
            seen = sj == si || signer_same_key(sj, si);
        }
        count += !seen;
        count_pq += !seen && si->algo->pq;
    }
    if (pq)
        *pq = count_pq;
    return count;
}

size_t gov_quorum_count(const gov_approval *list, size_t n, const signer_set *set)
{
    return gov_quorum_tally(list, n, set, NULL);
}

svcr_code gov_quorum_check(const gov_approval *list, size_t n, const signer_set *set, svcr_err *err)
{
    size_t have_pq = 0;
    size_t have = gov_quorum_tally(list, n, set, &have_pq);
    if (have >= set->m && have_pq >= set->k_pq)
        return SVCR_OK;
    if (have < set->m)
        return svcr_err_set(err, SVCR_E_QUORUM_FAILED, NULL, "quorum",
                            "%zu valid approvals of the %u required", have, set->m);
    return svcr_err_set(err, SVCR_E_QUORUM_FAILED, NULL, "quorum",
                        "%zu valid post-quantum approvals of the %u (k_pq) required", have_pq,
                        set->k_pq);
}

json_t *gov_approval_to_json(const gov_approval *a)
{
    char sig[APPROVAL_SIG_B64_MAX + 1];
    if (approval_sig_encode(a->sig, a->sig_len, sig, sizeof sig) < 0)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s}", "signer_id", a->signer_id, "algo", a->algo, "sig", sig,
                     "signed_at", a->signed_at);
}

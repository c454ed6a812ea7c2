/* proposal.c - proposal records and their storage encoding (see proposal.h). */
#include "governance/proposal.h"

#include <stdlib.h>
#include <string.h>

#include "interop/dto.h"
#include "interop/jcs.h"

void proposal_id_from_b3(const char *payload_b3, char out[PROPOSAL_ID_LEN + 1])
{
    memcpy(out, "p_", 2);
    memcpy(out + 2, payload_b3 + 3, 24);
    out[PROPOSAL_ID_LEN] = '\0';
}

int proposal_id_valid(const char *s, size_t len)
{
    if (len != PROPOSAL_ID_LEN || s[0] != 'p' || s[1] != '_')
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

proposal *proposal_new(descriptor_set *ds, signer_set *governing, int64_t accepted_at_ms)
{
    proposal *p = calloc(1, sizeof *p);
    if (!p) {
        descriptor_set_free(ds);
        return NULL;
    }
    proposal_id_from_b3(ds->b3, p->id);
    p->ds = ds;
    p->governing = signer_set_retain(governing);
    p->accepted_at_ms = accepted_at_ms;
    uint64_t ttl = governing ? governing->ttl_secs : SIGNER_SET_DEFAULT_TTL_SECS;
    p->quorum_m = governing ? governing->m : 0;
    p->quorum_n = governing ? (uint32_t)governing->n_active : 0;
    p->expires_at_ms =
        accepted_at_ms + (int64_t)(ttl > INT64_MAX / 2000 ? INT64_MAX / 2000 : ttl) * 1000;
    p->status = PROPOSAL_PENDING;
    return p;
}

/* A descriptor set is immutable after decoding; clones share it by re-parsing nothing: we
 * retain the JSON and signer set and copy the canonical bytes. */
static descriptor_set *ds_share(const descriptor_set *d)
{
    descriptor_set *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *d;
    c->canonical = NULL;
    if (d->canonical) {
        c->canonical = malloc(d->canonical_len + 1);
        if (!c->canonical) {
            free(c);
            return NULL;
        }
        memcpy(c->canonical, d->canonical, d->canonical_len + 1);
    }
    json_incref(c->json);
    signer_set_retain(c->signers);
    return c;
}

proposal *proposal_clone(const proposal *p)
{
    proposal *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *p;
    c->ds = ds_share(p->ds);
    c->approvals = p->cap_approvals ? malloc(p->cap_approvals * sizeof(gov_approval)) : NULL;
    if (!c->ds || (p->cap_approvals && !c->approvals)) {
        descriptor_set_free(c->ds);
        free(c->approvals);
        free(c);
        return NULL;
    }
    if (p->n_approvals)
        memcpy(c->approvals, p->approvals, p->n_approvals * sizeof(gov_approval));
    signer_set_retain(c->governing);
    return c;
}

void proposal_free(proposal *p)
{
    if (!p)
        return;
    descriptor_set_free(p->ds);
    signer_set_release(p->governing);
    free(p->approvals);
    free(p);
}

int proposal_add_approval(proposal *p, const gov_approval *a)
{
    if (p->n_approvals == p->cap_approvals) {
        size_t cap = p->cap_approvals ? p->cap_approvals * 2 : 4;
        gov_approval *n = realloc(p->approvals, cap * sizeof *n);
        if (!n)
            return -1;
        p->approvals = n;
        p->cap_approvals = cap;
    }
    p->approvals[p->n_approvals++] = *a;
    return 0;
}

const gov_approval *proposal_find_approval(const proposal *p, const char *signer_id)
{
    for (size_t i = 0; i < p->n_approvals; i++)
        if (strcmp(p->approvals[i].signer_id, signer_id) == 0)
            return &p->approvals[i];
    return NULL;
}

proposal_status proposal_effective_status(const proposal *p, uint64_t head_version, int64_t now_ms)
{
    if (p->status == PROPOSAL_COMMITTED)
        return PROPOSAL_COMMITTED;
    if (p->ds->version <= head_version)
        return PROPOSAL_STALE;
    if (now_ms >= p->expires_at_ms)
        return PROPOSAL_EXPIRED;
    return PROPOSAL_PENDING;
}

const char *proposal_status_name(proposal_status s)
{
    switch (s) {
    case PROPOSAL_PENDING:
        return "pending";
    case PROPOSAL_COMMITTED:
        return "committed";
    case PROPOSAL_EXPIRED:
        return "expired";
    case PROPOSAL_STALE:
        return "stale";
    }
    return "pending";
}

static int cmp_approval(const void *a, const void *b)
{
    return strcmp(((const gov_approval *)a)->signer_id, ((const gov_approval *)b)->signer_id);
}

json_t *proposal_approvals_json(const proposal *p, int sorted)
{
    gov_approval *tmp = NULL;
    const gov_approval *list = p->approvals;
    if (sorted && p->n_approvals > 1) {
        tmp = malloc(p->n_approvals * sizeof *tmp);
        if (!tmp)
            return NULL;
        memcpy(tmp, p->approvals, p->n_approvals * sizeof *tmp);
        qsort(tmp, p->n_approvals, sizeof *tmp, cmp_approval);
        list = tmp;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->n_approvals; i++) {
        if (json_array_append_new(arr, gov_approval_to_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(tmp);
    return arr;
}

int proposal_encode(const proposal *p, buf *out)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:s, s:{s:I, s:I}}", "id", p->id,
                          "payload_b3", p->ds->b3, "payload_version", (json_int_t)p->ds->version,
                          "accepted_at_ms", (json_int_t)p->accepted_at_ms, "expires_at_ms",
                          (json_int_t)p->expires_at_ms, "approvals", proposal_approvals_json(p, 0),
                          "status", proposal_status_name(p->status), "quorum", "m",
                          (json_int_t)p->quorum_m, "n", (json_int_t)p->quorum_n);
    if (!o)
        return -1;
    if (p->ds->supersede_of[0])
        json_object_set_new(o, "supersede_of", json_string(p->ds->supersede_of));
    if (p->key_id[0])
        json_object_set_new(o, "key_id", json_string(p->key_id));
    if (p->status == PROPOSAL_COMMITTED) {
        /* the payload lives in the version's artifact; the record keeps only its hash */
        json_object_set_new(o, "version", json_integer((json_int_t)p->committed_version));
        json_object_set_new(o, "committed_at_ms", json_integer((json_int_t)p->committed_at_ms));
        json_object_set_new(o, "commit_corr_id", json_string(p->commit_corr_id));
    } else if (p->ds->canonical) {
        /* spliced in as its canonical bytes: a pending payload is never held as a tree */
        json_object_set_new(o, "payload", json_null());
        int rc = jcs_write_spliced(out, o, "payload", p->ds->canonical, p->ds->canonical_len, NULL);
        json_decref(o);
        return rc;
    }
    int rc = jcs_write(out, o, NULL);
    json_decref(o);
    return rc;
}

/* A committed record carries no payload: its descriptor set is reduced to what the record
 * states (hash, version, supersede_of); json is NULL until someone loads the artifact. */
static descriptor_set *hash_only_descriptor_set(const json_t *o)
{
    const char *b3 = json_string_value(json_object_get(o, "payload_b3"));
    const char *sup = json_string_value(json_object_get(o, "supersede_of"));
    if (!b3 || b3_tag_parse(b3, strlen(b3), NULL) != 0 ||
        (sup && b3_tag_parse(sup, strlen(sup), NULL) != 0))
        return NULL;
    descriptor_set *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    memcpy(ds->b3, b3, B3_TAG_LEN + 1);
    if (sup)
        memcpy(ds->supersede_of, sup, B3_TAG_LEN + 1);
    int64_t v = 0;
    if (dto_int_in(json_object_get(o, "payload_version"), 1, DTO_MAX_SAFE_INT, &v) != 0) {
        free(ds);
        return NULL;
    }
    ds->version = (uint64_t)v;
    return ds;
}

svcr_code proposal_decode(const void *rec, size_t len, signer_set *governing, proposal **out,
                          svcr_err *err)
{
    *out = NULL;
    json_t *o = jcs_parse(rec, len, 0, err);
    if (!o)
        return SVCR_E_INTERNAL;
    descriptor_set *ds = NULL;
    const char *status = json_string_value(json_object_get(o, "status"));
    svcr_code c = SVCR_OK;
    if (json_object_get(o, "payload"))
        c = descriptor_set_decode(json_object_get(o, "payload"), "payload", &ds, err);
    else if (status && strcmp(status, "committed") == 0 && !(ds = hash_only_descriptor_set(o)))
        c = SVCR_E_INTERNAL;
    else if (!ds)
        c = SVCR_E_INTERNAL;
    const json_t *apps = json_object_get(o, "approvals");
    if (c != SVCR_OK || !status || !json_is_array(apps)) {
        json_decref(o);
        descriptor_set_free(ds);
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "corrupt_record",
                            "stored proposal record is not readable");
    }
    proposal *p = proposal_new(ds, governing, 0);
    if (!p) {
        json_decref(o);
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "oom", "out of memory");
    }
    const json_t *q = json_object_get(o, "quorum");
    int64_t acc = 0, exp = 0, m = 0, n = 0, ver = 0, at = 0;
    int bad = dto_int_in(json_object_get(o, "accepted_at_ms"), 0, DTO_MAX_SAFE_INT, &acc) ||
              dto_int_in(json_object_get(o, "expires_at_ms"), 0, DTO_MAX_SAFE_INT, &exp) ||
              dto_int_in(json_object_get(q, "m"), 0, UINT32_MAX, &m) ||
              dto_int_in(json_object_get(q, "n"), 0, UINT32_MAX, &n);
    if (strcmp(status, "committed") == 0)
        bad = bad || dto_int_in(json_object_get(o, "version"), 1, DTO_MAX_SAFE_INT, &ver) ||
              dto_int_in(json_object_get(o, "committed_at_ms"), 0, DTO_MAX_SAFE_INT, &at);
    if (bad) {
        proposal_free(p);
        json_decref(o);
        return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "corrupt_record",
                            "stored proposal record has an unreadable number");
    }
    p->accepted_at_ms = acc;
    p->expires_at_ms = exp;
    const char *kid = json_string_value(json_object_get(o, "key_id"));
    if (kid && strlen(kid) <= PROPOSAL_KEY_ID_MAX)
        strcpy(p->key_id, kid);
    /* a pending payload is kept as its canonical bytes only, never as a tree (memory) */
    descriptor_set_drop_tree(p->ds);
    p->quorum_m = (uint32_t)m;
    p->quorum_n = (uint32_t)n;
    if (strcmp(status, "committed") == 0) {
        p->status = PROPOSAL_COMMITTED;
        p->committed_version = (uint64_t)ver;
        p->committed_at_ms = at;
        const char *cc = json_string_value(json_object_get(o, "commit_corr_id"));
        if (cc && strlen(cc) <= CORR_ID_MAX)
            strcpy(p->commit_corr_id, cc);
    }
    size_t i;
    json_t *a;
    json_array_foreach (apps, i, a) {
        gov_approval g;
        if (gov_approval_decode(a, "approvals", &g, NULL) != SVCR_OK ||
            proposal_add_approval(p, &g) != 0) {
            proposal_free(p);
            json_decref(o);
            return svcr_err_set(err, SVCR_E_INTERNAL, NULL, "corrupt_record",
                                "stored approval is not readable");
        }
    }
    json_decref(o);
    *out = p;
    return SVCR_OK;
}

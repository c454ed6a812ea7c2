/* artifact.c - building and parsing signed artifacts (see artifact.h). */
#include "governance/artifact.h"

#include <stdlib.h>
#include <string.h>

#include "interop/dto.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"

int artifact_build(const proposal *p, uint64_t version, int64_t committed_at_ms, buf *out,
                   uint8_t artifact_b3[B3_LEN])
{
    char ts[32];
    if (rfc3339_format_ms(committed_at_ms, ts) < 0)
        return -1;
    /* the payload is embedded as its canonical bytes: no tree of it is needed (or kept) */
    json_t *o = json_pack("{s:s, s:I, s:n, s:s, s:o, s:s, s:s, s:s}", "schema_version",
                          SCHEMA_VERSION, "version", (json_int_t)version, "payload", "payload_b3",
                          p->ds->b3, "approvals", proposal_approvals_json(p, 1), "prev_hash",
                          p->ds->prev_hash, "committed_at", ts, "proposal_id", p->id);
    if (!o || !p->ds->canonical) {
        json_decref(o);
        return -1;
    }
    size_t start = out->len;
    int rc = jcs_write_spliced(out, o, "payload", p->ds->canonical, p->ds->canonical_len, NULL);
    json_decref(o);
    if (rc == 0)
        b3_hash(out->data + start, out->len - start, artifact_b3);
    return rc;
}

void artifact_free(artifact *a)
{
    if (!a)
        return;
    descriptor_set_free(a->ds);
    free(a->approvals);
    free(a);
}

static svcr_code copy_tag(const json_t *o, const char *name, char *dst, size_t cap, svcr_err *err)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (!s || strlen(s) >= cap)
        return svcr_err_set(err, SVCR_E_MALFORMED, name, "invalid_value",
                            "artifact field %s is missing or malformed", name);
    strcpy(dst, s);
    return SVCR_OK;
}

svcr_code artifact_parse(const void *bytes, size_t len, artifact **out, svcr_err *err)
{
    *out = NULL;
    json_t *o = jcs_parse(bytes, len, 0, err);
    if (!o)
        return SVCR_E_MALFORMED;
    artifact *a = calloc(1, sizeof *a);
    svcr_code c = a ? SVCR_OK : SVCR_E_INTERNAL;
    const json_t *ver = json_object_get(o, "version");
    const json_t *apps = json_object_get(o, "approvals");
    if (c == SVCR_OK && (!json_is_number(ver) || !json_is_array(apps)))
        c = svcr_err_set(err, SVCR_E_MALFORMED, NULL, "invalid_value",
                         "artifact lacks version or approvals");
    if (c == SVCR_OK)
        c = copy_tag(o, "payload_b3", a->payload_b3, sizeof a->payload_b3, err);
    if (c == SVCR_OK)
        c = copy_tag(o, "prev_hash", a->prev_hash, sizeof a->prev_hash, err);
    if (c == SVCR_OK)
        c = copy_tag(o, "committed_at", a->committed_at, sizeof a->committed_at, err);
    if (c == SVCR_OK)
        c = copy_tag(o, "proposal_id", a->proposal_id, sizeof a->proposal_id, err);
    if (c == SVCR_OK) {
        int64_t sec = 0;
        int32_t ns = 0;
        if (rfc3339_parse(a->committed_at, strlen(a->committed_at), &sec, &ns) != 0)
            c = svcr_err_set(err, SVCR_E_MALFORMED, "committed_at", "invalid_value",
                             "artifact committed_at is not an RFC 3339 UTC timestamp");
        a->committed_at_ms = sec * 1000 + ns / 1000000;
        int64_t v = 0;
        if (c == SVCR_OK && dto_int_in(ver, 1, DTO_MAX_SAFE_INT, &v) != 0)
            c = svcr_err_set(err, SVCR_E_MALFORMED, "version", "invalid_value",
                             "artifact version is not an integer in 1..2^53-1");
        a->version = (uint64_t)v;
        if (c == SVCR_OK)
            c = descriptor_set_decode(json_object_get(o, "payload"), "payload", &a->ds, err);
    }
    if (c == SVCR_OK && json_array_size(apps) > 0) {
        a->approvals = calloc(json_array_size(apps), sizeof *a->approvals);
        if (!a->approvals)
            c = SVCR_E_INTERNAL;
    }
    for (size_t i = 0; c == SVCR_OK && i < json_array_size(apps); i++) {
        c = gov_approval_decode(json_array_get(apps, i), "approvals", &a->approvals[i], err);
        a->n_approvals += c == SVCR_OK;
    }
    json_decref(o);
    if (c != SVCR_OK) {
        artifact_free(a);
        return c;
    }
    *out = a;
    return SVCR_OK;
}

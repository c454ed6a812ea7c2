/* base.c - HEAD fetched and verified as the base of a change (see base.h). */
#include "base.h"

#include <stdio.h>
#include <string.h>

#include "governance/artifact.h"
#include "governance/proposal.h"
#include "interop/jcs.h"
#include "term.h"

signer_set *base_roots_load(const char *verb, const char *path)
{
    json_t *j = cli_read_json(verb, path);
    if (!j)
        return NULL;
    signer_set *s = NULL;
    svcr_err err;
    if (signer_set_from_json(j, "trust_roots", &s, &err) != SVCR_OK)
        term_fprintf(stderr, "svcr %s: %s: %s: %s\n", verb, path, err.path, err.message);
    json_decref(j);
    return s;
}

/* GETs /registry/v into rep: CLI_OK for a 200 answer, -1 with `why` for another status, or
 * CLI_REFUSED when the registry could not be reached (printed). */
static int fetch_version(remote *r, uint64_t v, http_reply *rep, char *why, size_t why_len)
{
    char path[64];
    snprintf(path, sizeof path, "/registry/%llu", (unsigned long long)v);
    if (http_get(r->http, path, rep) != 0)
        return remote_unreachable(r);
    if (rep->status == 200)
        return CLI_OK;
    json_t *e = jcs_parse(rep->body.data, rep->body.len, 0, NULL);
    snprintf(why, why_len, "version %llu: GET %s answered HTTP %ld (%.40s)", (unsigned long long)v,
             path, rep->status, cli_json_str(json_object_get(e, "error"), "code", "no envelope"));
    json_decref(e);
    return -1;
}

int base_verify_next(remote *r, chain_verifier *cv, buf *bytes, char *why, size_t why_len)
{
    http_reply rep = {0};
    int rc = fetch_version(r, cv->next_version, &rep, why, why_len);
    svcr_err err;
    svcr_err_clear(&err);
    if (rc == CLI_OK &&
        chain_verify_next(cv, rep.body.data, rep.body.len, NULL, 1, &err) != SVCR_OK) {
        snprintf(why, why_len, "%s", err.message);
        rc = -1;
    }
    if (rc == CLI_OK && bytes) {
        buf_reset(bytes);
        if (buf_append(bytes, rep.body.data, rep.body.len) != 0) {
            snprintf(why, why_len, "out of memory");
            rc = -1;
        }
    }
    http_reply_free(&rep);
    return rc;
}

/* Version 1 without trust roots: what can be checked without the set that governs it (the
 * same checks and words as chain_verify_next, signatures and quorum aside). */
static int verify_links_only(const http_reply *rep, char b3[B3_TAG_LEN + 1], char *why,
                             size_t why_len)
{
    artifact *a = NULL;
    svcr_err err;
    svcr_err_clear(&err);
    if (artifact_parse(rep->body.data, rep->body.len, &a, &err) != SVCR_OK) {
        snprintf(why, why_len, "version 1: artifact is not a valid signed artifact (%s)",
                 err.message);
        return -1;
    }
    char pid[PROPOSAL_ID_LEN + 1];
    proposal_id_from_b3(a->ds->b3, pid);
    const char *what = NULL;
    if (a->version != 1 || a->ds->version != 1)
        what = "version field does not match its position";
    else if (strcmp(a->payload_b3, a->ds->b3) != 0)
        what = "payload_b3 does not match the payload's hash";
    else if (strcmp(a->prev_hash, B3_ZERO_TAG) != 0 || strcmp(a->ds->prev_hash, B3_ZERO_TAG) != 0)
        what = "prev_hash does not link to the version before";
    else if (strcmp(a->proposal_id, pid) != 0)
        what = "proposal_id does not match payload_b3";
    if (what)
        snprintf(why, why_len, "version 1: %s", what);
    else
        memcpy(b3, a->ds->b3, B3_TAG_LEN + 1);
    artifact_free(a);
    return what ? -1 : CLI_OK;
}

/* HEAD's version and payload_b3 from /registry/head. Returns CLI_OK, -1 (why) or CLI_REFUSED. */
static int fetch_head(remote *r, base_head *out, char *why, size_t why_len)
{
    json_t *h = NULL;
    int rc = remote_get_json(r, "/registry/head", &h, NULL, 0);
    if (rc != CLI_OK)
        return rc;
    const char *b3 = cli_json_str(h, "payload_b3", "");
    out->version = cli_json_u64(h, "version", UINT64_MAX);
    if (out->version == UINT64_MAX || b3_tag_parse(b3, strlen(b3), NULL) != 0) {
        snprintf(why, why_len, "/registry/head is not {\"version\":N,\"payload_b3\":\"b3:...\"}");
        rc = -1;
    } else {
        snprintf(out->b3, sizeof out->b3, "%s", b3);
    }
    json_decref(h);
    return rc;
}

/* Verifies HEAD's artifact as base_head_fetch says; its bytes go to `bytes`, the hash of its
 * payload to got_b3. */
static int verify_head(remote *r, signer_set *roots, base_head *out, buf *bytes,
                       char got_b3[B3_TAG_LEN + 1], char *why, size_t why_len)
{
    uint64_t v = out->version;
    chain_verifier cv;
    memset(&cv, 0, sizeof cv);
    http_reply rep = {0};
    svcr_err err;
    svcr_err_clear(&err);
    int rc = CLI_OK;
    if (roots) {
        out->trust = BASE_FROM_ROOTS;
        chain_verifier_init_genesis(&cv, roots);
        while (rc == CLI_OK && cv.next_version <= v)
            rc = base_verify_next(r, &cv, bytes, why, why_len);
    } else if (v == 1) {
        out->trust = BASE_HASHES_ONLY;
        rc = fetch_version(r, 1, &rep, why, why_len);
        if (rc == CLI_OK)
            rc = verify_links_only(&rep, got_b3, why, why_len);
        if (rc == CLI_OK && buf_append(bytes, rep.body.data, rep.body.len) != 0)
            rc = -1;
    } else {
        out->trust = BASE_FROM_PREVIOUS;
        rc = fetch_version(r, v - 1, &rep, why, why_len);
        if (rc == CLI_OK &&
            chain_verifier_init_after(&cv, v - 1, rep.body.data, rep.body.len, &err) != SVCR_OK) {
            snprintf(why, why_len, "version %llu: artifact is not a valid signed artifact (%s)",
                     (unsigned long long)(v - 1), err.message);
            rc = -1;
        }
        if (rc == CLI_OK)
            rc = base_verify_next(r, &cv, bytes, why, why_len);
    }
    if (rc == CLI_OK && out->trust != BASE_HASHES_ONLY)
        memcpy(got_b3, cv.prev_b3, B3_TAG_LEN + 1);
    chain_verifier_free(&cv);
    http_reply_free(&rep);
    return rc;
}

int base_head_fetch(remote *r, signer_set *roots, base_head *out)
{
    memset(out, 0, sizeof *out);
    char why[400] = "", got[B3_TAG_LEN + 1] = "";
    buf bytes = {0};
    int rc = fetch_head(r, out, why, sizeof why);
    if (rc == CLI_OK && out->version == 0) {
        out->trust = BASE_GENESIS;
        if (strcmp(out->b3, B3_ZERO_TAG) != 0) {
            snprintf(why, sizeof why, "version 0 has payload_b3 %s, not the zero hash", out->b3);
            rc = -1;
        }
    } else if (rc == CLI_OK) {
        rc = verify_head(r, roots, out, &bytes, got, why, sizeof why);
        if (rc == CLI_OK && strcmp(got, out->b3) != 0) {
            snprintf(why, sizeof why,
                     "/registry/head says payload_b3 %s but version %llu's payload hashes to %s",
                     out->b3, (unsigned long long)out->version, got);
            rc = -1;
        }
        if (rc == CLI_OK) {
            out->artifact = jcs_parse(bytes.data, bytes.len, 0, NULL);
            out->payload = json_object_get(out->artifact, "payload");
            if (!json_is_object(out->payload)) {
                snprintf(why, sizeof why, "out of memory");
                rc = -1;
            }
        }
    }
    buf_free(&bytes);
    if (rc == -1) {
        term_fprintf(stderr, "svcr %s: HEAD version %llu does not verify: %s\n", r->verb,
                     (unsigned long long)out->version, why);
        rc = CLI_REFUSED;
    }
    return rc;
}

void base_head_free(base_head *b)
{
    json_decref(b->artifact);
    memset(b, 0, sizeof *b);
}

void base_head_describe(const base_head *b, FILE *f)
{
    unsigned long long v = (unsigned long long)b->version;
    switch (b->trust) {
    case BASE_GENESIS:
        fprintf(f, "HEAD is version 0 (the empty genesis)\n");
        break;
    case BASE_FROM_ROOTS:
        fprintf(f, "HEAD version %llu verified from the trust roots (versions 1..%llu)\n", v, v);
        break;
    case BASE_FROM_PREVIOUS:
        fprintf(f,
                "HEAD version %llu verified against the signer set of version %llu as served"
                " (--trust-roots verifies from genesis)\n",
                v, v - 1);
        break;
    case BASE_HASHES_ONLY:
        fprintf(f, "HEAD version 1: hash and links verified; its approvals need --trust-roots\n");
        break;
    }
}

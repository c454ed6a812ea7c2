/* audit.c - audit records and their hash chain (see audit.h). */
#include "governance/audit.h"

#include <string.h>

#include <jansson.h>

#include "interop/alloc.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"

void audit_tip_init(audit_tip *t)
{
    t->seq = 0;
    memcpy(t->hash, B3_ZERO_TAG, sizeof t->hash);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

/* Hash of the record without its `hash` member; the record gets `hash` added. */
static int seal(json_t *o, char hash[B3_TAG_LEN + 1])
{
    buf b = {0};
    json_object_del(o, "hash");
    if (jcs_write(&b, o, NULL) != 0) {
        buf_free(&b);
        return -1;
    }
    b3_tag_of(b.data, b.len, hash);
    buf_free(&b);
    return 0;
}

int audit_record_build(audit_tip *tip, const audit_entry *e, int64_t ts_ms, buf *out)
{
    char ts[32];
    if (rfc3339_format_ms(ts_ms, ts) < 0)
        return -1;
    json_t *o = json_object();
    if (!o)
        return -1;
    /* A member that fails to allocate would leave a record without it (no seq, no prev): a
     * break in the chain. Any failed allocation while building refuses the record instead. */
    unsigned long failed_before = svcr_alloc_thread_failures();
    json_object_set_new(o, "seq", json_integer((json_int_t)(tip->seq + 1)));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "event", json_string(e->event));
    json_object_set_new(o, "decision", json_string(e->accepted ? "accepted" : "rejected"));
    if (!e->accepted)
        json_object_set_new(o, "err_code", json_string(svcr_code_name(e->err_code)));
    set_str(o, "reason", e->reason);
    json_object_set_new(o, "corr_id", json_string(e->corr_id ? e->corr_id : ""));
    set_str(o, "proposal_id", e->proposal_id);
    set_str(o, "payload_b3", e->payload_b3);
    set_str(o, "signer_id", e->signer_id);
    if (e->version)
        json_object_set_new(o, "version", json_integer((json_int_t)e->version));
    json_object_set_new(o, "input_b3", json_string(e->input_b3 ? e->input_b3 : B3_ZERO_TAG));
    json_object_set_new(o, "prev", json_string(tip->hash));
    char hash[B3_TAG_LEN + 1];
    int rc = svcr_alloc_thread_failures() != failed_before ? -1 : seal(o, hash);
    if (rc == 0) {
        json_object_set_new(o, "hash", json_string(hash));
        rc = svcr_alloc_thread_failures() != failed_before ? -1 : jcs_write(out, o, NULL);
    }
    json_decref(o);
    if (rc == 0) {
        tip->seq++;
        memcpy(tip->hash, hash, sizeof hash);
    }
    return rc;
}

svcr_code audit_record_verify(audit_tip *tip, const void *rec, size_t len, svcr_err *err)
{
    json_t *o = jcs_parse(rec, len, 0, err);
    if (!o)
        return SVCR_E_MALFORMED;
    svcr_code c = SVCR_OK;
    double seq = json_number_value(json_object_get(o, "seq"));
    const char *prev = json_string_value(json_object_get(o, "prev"));
    const char *stored = json_string_value(json_object_get(o, "hash"));
    char want[B3_TAG_LEN + 1] = {0}, got[B3_TAG_LEN + 1];
    if (stored && strlen(stored) == B3_TAG_LEN)
        memcpy(want, stored, sizeof want);
    if (seq != (double)(tip->seq + 1))
        c = svcr_err_set(err, SVCR_E_MALFORMED, "seq", "audit_seq",
                         "audit record after seq %llu: found seq %.17g",
                         (unsigned long long)tip->seq, seq);
    else if (!prev || strcmp(prev, tip->hash) != 0)
        c = svcr_err_set(err, SVCR_E_MALFORMED, "prev", "audit_link",
                         "audit record %llu: prev does not link to the record before",
                         (unsigned long long)(tip->seq + 1));
    else if (!stored || seal(o, got) != 0 || strcmp(got, want) != 0)
        c = svcr_err_set(err, SVCR_E_MALFORMED, "hash", "audit_hash",
                         "audit record %llu: hash does not match its content",
                         (unsigned long long)(tip->seq + 1));
    json_decref(o);
    if (c == SVCR_OK) {
        tip->seq++;
        memcpy(tip->hash, want, sizeof want);
    }
    return c;
}

/* error.c - code table of SPEC §5.1 and the error value helpers. */
#include "interop/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One row per code, in enum order: wire name, HTTP status, rejected_total reason. */
static const struct {
    const char *name;
    int status;
    const char *reject;
} code_table[SVCR_CODE_COUNT] = {
    [SVCR_OK] = {"OK", 200, NULL},
    [SVCR_E_MALFORMED] = {"Malformed", 400, "malformed"},
    [SVCR_E_UNAUTHORIZED] = {"Unauthorized", 401, "unauth"},
    [SVCR_E_FORBIDDEN] = {"Forbidden", 403, "forbidden"},
    [SVCR_E_NOT_FOUND] = {"NotFound", 404, NULL},
    [SVCR_E_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 405, NULL},
    [SVCR_E_CHAIN_MISMATCH] = {"ChainMismatch", 409, "chain_mismatch"},
    [SVCR_E_DUPLICATE_APPROVAL] = {"DuplicateApproval", 409, "duplicate_approval"},
    [SVCR_E_PROPOSAL_EXPIRED] = {"ProposalExpired", 410, "expired"},
    [SVCR_E_PRUNED] = {"Pruned", 410, NULL},
    [SVCR_E_PAYLOAD_TOO_LARGE] = {"PayloadTooLarge", 413, "body_cap"},
    [SVCR_E_UNSUPPORTED_MEDIA_TYPE] = {"UnsupportedMediaType", 415, "media_type"},
    [SVCR_E_INVALID_SIG] = {"InvalidSig", 422, "invalid_sig"},
    [SVCR_E_UNKNOWN_SIGNER] = {"UnknownSigner", 422, "unknown_signer"},
    [SVCR_E_REVOKED_KEY] = {"RevokedKey", 422, "revoked_key"},
    [SVCR_E_QUORUM_FAILED] = {"QuorumFailed", 422, "quorum_failed"},
    [SVCR_E_BUSY] = {"Busy", 429, "busy"},
    [SVCR_E_NOT_READY] = {"NotReady", 503, "not_ready"},
    [SVCR_E_TIMEOUT] = {"Timeout", 504, "timeout"},
    [SVCR_E_NOT_IMPLEMENTED] = {"NotImplemented", 501, "malformed"},
    [SVCR_E_INTERNAL] = {"NotReady", 503, "not_ready"},
};

const char *svcr_code_name(svcr_code c)
{
    if ((unsigned)c >= SVCR_CODE_COUNT)
        return "NotReady";
    return code_table[c].name;
}

int svcr_code_http_status(svcr_code c)
{
    if ((unsigned)c >= SVCR_CODE_COUNT)
        return 503;
    return code_table[c].status;
}

const char *svcr_code_reject_reason(svcr_code c)
{
    if ((unsigned)c >= SVCR_CODE_COUNT)
        return "not_ready";
    return code_table[c].reject;
}

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return;
    }
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

svcr_code svcr_err_set(svcr_err *e, svcr_code code, const char *path, const char *reason,
                       const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    copy_trunc(e->path, sizeof e->path, path);
    copy_trunc(e->reason, sizeof e->reason, reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}

void svcr_err_clear(svcr_err *e)
{
    if (!e)
        return;
    e->code = SVCR_OK;
    e->path[0] = e->reason[0] = e->message[0] = '\0';
}

/* error.h - the registry's one error taxonomy: SPEC §5.1 codes, HTTP statuses and the
 * rejected_total{reason} label, plus a small error value that carries a JSON path. */
#ifndef SVCR_INTEROP_ERROR_H
#define SVCR_INTEROP_ERROR_H

#include <stddef.h>

typedef enum svcr_code {
    SVCR_OK = 0,
    SVCR_E_MALFORMED,
    SVCR_E_UNAUTHORIZED,
    SVCR_E_FORBIDDEN,
    SVCR_E_NOT_FOUND,
    SVCR_E_METHOD_NOT_ALLOWED,
    SVCR_E_CHAIN_MISMATCH,
    SVCR_E_DUPLICATE_APPROVAL,
    SVCR_E_PROPOSAL_EXPIRED,
    SVCR_E_PRUNED,
    SVCR_E_PAYLOAD_TOO_LARGE,
    SVCR_E_UNSUPPORTED_MEDIA_TYPE,
    SVCR_E_INVALID_SIG,
    SVCR_E_UNKNOWN_SIGNER,
    SVCR_E_REVOKED_KEY,
    SVCR_E_QUORUM_FAILED,
    SVCR_E_BUSY,
    SVCR_E_NOT_READY,
    SVCR_E_TIMEOUT,
    SVCR_E_NOT_IMPLEMENTED, /* 501: a transfer coding this server does not know (RFC 9112 §6.1) */
    SVCR_E_INTERNAL, /* never on the wire as such: answered as 503 NotReady (storage fault) */
    SVCR_CODE_COUNT
} svcr_code;

/* An error value. `path` is the JSON path of the offending field ("payload.items[3].endpoint")
 * or empty; `reason` is a short machine word for details.reason or empty; `message` is prose
 * for humans. None of them may ever hold a secret or a raw payload. */
typedef struct svcr_err {
    svcr_code code;
    char path[192];
    char reason[48];
    char message[256];
} svcr_err;

/* Wire name of a code ("Malformed"); "Internal" for SVCR_E_INTERNAL. Never NULL. */
const char *svcr_code_name(svcr_code c);
/* HTTP status for a code (400, 401, ...). */
int svcr_code_http_status(svcr_code c);
/* rejected_total{reason} label for a code, or NULL when the code is not a rejection
 * (404, 405, OK). */
const char *svcr_code_reject_reason(svcr_code c);

/* Fills `e` (if not NULL) and returns `code`, so callers can `return svcr_err_set(...)`.
 * `path` and `reason` may be NULL. The message is printf-formatted and truncated to fit. */
svcr_code svcr_err_set(svcr_err *e, svcr_code code, const char *path, const char *reason,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Resets `e` to SVCR_OK with empty strings. */
void svcr_err_clear(svcr_err *e);

#endif

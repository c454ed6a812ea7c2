/* routes.h - the route table of SPEC §5: one row per route carries its path (also its metric
 * label), allowed methods, write capability scope, audit event, policy flags and handlers.
 * Dispatch, the Allow header, path matching, metric labels and the OpenAPI sync test all read
 * this one table. Adding a route = one row in ROUTE_ROWS + one handler. */
#ifndef SVCR_HTTP_ROUTES_H
#define SVCR_HTTP_ROUTES_H

#include <stddef.h>

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };
#define M_READ (M_GET | M_HEAD)

/* Policy flags of a row. */
enum {
    RF_PROBE = 1,          /* probe or scrape: never rate-limited (an operator must see) */
    RF_LIST = 2,           /* a read whose cost grows with the data: also limits.list_rps */
    RF_PROPOSAL_PARAM = 4, /* {id} names the proposal a write acts on (audit, logs) */
    RF_SIGNER_CAVEAT = 8,  /* the capability must carry a signer caveat (approvals) */
    RF_EMPTY_BODY_OK = 16, /* a write that may come without a body (and so a Content-Type) */
};

/* The rows: X(id, path/label, methods, write scope, audit event, flags, read, write).
 * Paths: exact, "<prefix>{id}" (one non-empty segment) or "<prefix>{version}" (1-16 digits);
 * exact paths win, then parameter rows in this order. `read` answers GET and HEAD, `write`
 * POST (both: see handlers.h); NULL where the method is not allowed. */
#define ROUTE_ROWS(X)                                                                              \
    X(RT_VERSION, "/version", M_READ, NULL, NULL, 0, read_version, NULL)                           \
    X(RT_SCHEMA, "/schema", M_READ, NULL, NULL, 0, read_schema, NULL)                              \
    X(RT_HEALTHZ, "/healthz", M_READ, NULL, NULL, RF_PROBE, read_healthz, NULL)                    \
    X(RT_READYZ, "/readyz", M_READ, NULL, NULL, RF_PROBE, read_readyz, NULL)                       \
    X(RT_METRICS, "/metrics", M_READ, NULL, NULL, RF_PROBE, read_metrics, NULL)                    \
    X(RT_HEAD, "/registry/head", M_READ, NULL, NULL, 0, read_head, NULL)                           \
    X(RT_STREAM, "/registry/stream", M_READ, NULL, NULL, 0, read_stream, NULL)                     \
    X(RT_PROPOSALS, "/registry/proposals", M_READ | M_POST, "registry:propose", "propose",         \
      RF_LIST, read_proposals, write_propose)                                                      \
    X(RT_PROPOSAL, "/registry/proposals/{id}", M_READ, NULL, NULL, RF_LIST, read_proposal, NULL)   \
    X(RT_APPROVE, "/registry/approvals/{id}", M_POST, "registry:approve", "approve",               \
      RF_PROPOSAL_PARAM | RF_SIGNER_CAVEAT, NULL, write_approve)                                   \
    X(RT_COMMIT, "/registry/commit/{id}", M_POST, "registry:commit", "commit",                     \
      RF_PROPOSAL_PARAM | RF_EMPTY_BODY_OK, NULL, write_commit)                                    \
    X(RT_SUPERSEDE, "/registry/supersede", M_POST, "registry:supersede", "supersede", 0, NULL,     \
      write_supersede)                                                                             \
    X(RT_FREEZE, "/registry/admin/freeze", M_POST, "registry:operate", "freeze", 0, NULL,          \
      write_freeze)                                                                                \
    X(RT_THAW, "/registry/admin/thaw", M_POST, "registry:operate", "thaw", 0, NULL, write_thaw)    \
    X(RT_AUDIT, "/registry/audit", M_READ, NULL, NULL, RF_LIST, read_audit, NULL)                  \
    X(RT_GET_VERSION, "/registry/{version}", M_READ, NULL, NULL, 0, read_artifact, NULL)           \
    X(RT_NOT_FOUND, "unmatched", 0, NULL, NULL, 0, NULL, NULL)

#define ROUTE_AS_ID(id, ...) id,
typedef enum route_id { ROUTE_ROWS(ROUTE_AS_ID) RT_COUNT } route_id;
#undef ROUTE_AS_ID

struct http_server;
struct MHD_Connection;
struct req;
struct resp;
struct write_ctx;
struct pipeline_result;

/* A read (GET/HEAD): fills the response r. Never fails silently: an error is a response. */
typedef void route_read_fn(struct http_server *s, struct MHD_Connection *c, struct req *q,
                           struct resp *r);
/* A write (POST), once the common checks passed (capability, media type, body cap): hands the
 * body (borrowed, len bytes) to the pipeline and fills res. */
typedef void route_write_fn(struct http_server *s, struct req *q, const struct write_ctx *w,
                            const char *body, size_t len, struct pipeline_result *res);

typedef struct route_def {
    route_id id;
    const char *label;       /* the path template; the normalized metric label (never a raw id) */
    unsigned methods;        /* M_* allowed */
    const char *write_scope; /* capability scope for POST, NULL for read-only routes */
    const char *event;       /* audit event name of the write, NULL for reads */
    unsigned flags;          /* RF_* */
    route_read_fn *read;     /* GET and HEAD, NULL if not allowed */
    route_write_fn *write;   /* POST, NULL if not allowed */
} route_def;

/* The table, indexed by route_id (ROUTE_ROWS). */
extern const route_def route_table[RT_COUNT];
/* The labels of route_table in route_id order (for the metrics registry), generated from the
 * same rows. */
extern const char *const route_labels[RT_COUNT];

/* Matches a request path (without query) against the table's paths. Returns the route and
 * copies the path parameter ({id} or {version}) into param (cap bytes), "" when the route has
 * none; RT_NOT_FOUND (param "") when no row matches or the parameter does not fit in cap. */
route_id route_match(const char *path, char *param, size_t cap);
/* The Allow header value for a route ("GET, HEAD" / "POST" / "GET, HEAD, POST"); "" for a
 * route that allows nothing. Never NULL. */
const char *route_allow(const route_def *r);

#endif

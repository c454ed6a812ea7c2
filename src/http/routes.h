/* routes.h - the route table of SPEC §5: paths, normalized metric labels, allowed methods,
 * required capability scope, and the handler of each. */
#ifndef SVCR_HTTP_ROUTES_H
#define SVCR_HTTP_ROUTES_H

#include <stddef.h>

typedef enum route_id {
    RT_VERSION,
    RT_SCHEMA,
    RT_HEALTHZ,
    RT_READYZ,
    RT_METRICS,
    RT_HEAD,
    RT_STREAM,
    RT_PROPOSALS,   /* GET list, POST propose */
    RT_PROPOSAL,    /* GET /registry/proposals/{id} */
    RT_APPROVE,     /* POST /registry/approvals/{id} */
    RT_COMMIT,      /* POST /registry/commit/{id} */
    RT_SUPERSEDE,   /* POST /registry/supersede */
    RT_FREEZE,      /* POST /registry/admin/freeze */
    RT_THAW,        /* POST /registry/admin/thaw */
    RT_AUDIT,       /* GET /registry/audit */
    RT_GET_VERSION, /* GET /registry/{version} */
    RT_NOT_FOUND,   /* any other path (label "unmatched") */
    RT_COUNT
} route_id;

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

typedef struct route_def {
    route_id id;
    const char *label;       /* normalized: never a raw id */
    unsigned methods;        /* M_* allowed */
    const char *write_scope; /* capability scope for POST, NULL for read-only routes */
    const char *event;       /* audit event name of the write, NULL for reads */
} route_def;

/* The table, indexed by route_id. */
extern const route_def route_table[RT_COUNT];
/* Labels in route_id order (for the metrics registry). */
extern const char *const route_labels[RT_COUNT];

/* Matches a request path (without query). Returns the route and copies the path parameter
 * ({id} or {version}) into param (cap bytes), "" when the route has none. */
route_id route_match(const char *path, char *param, size_t cap);
/* The Allow header value for a route ("GET, HEAD" / "POST" / "GET, HEAD, POST"). */
const char *route_allow(const route_def *r);

#endif

/* routes.c - route table and path matching (see routes.h). */
#include "http/routes.h"

#include <stdio.h>
#include <string.h>

#define RO (M_GET | M_HEAD)

const route_def route_table[RT_COUNT] = {
    [RT_VERSION] = {RT_VERSION, "/version", RO, NULL, NULL},
    [RT_SCHEMA] = {RT_SCHEMA, "/schema", RO, NULL, NULL},
    [RT_HEALTHZ] = {RT_HEALTHZ, "/healthz", RO, NULL, NULL},
    [RT_READYZ] = {RT_READYZ, "/readyz", RO, NULL, NULL},
    [RT_METRICS] = {RT_METRICS, "/metrics", RO, NULL, NULL},
    [RT_HEAD] = {RT_HEAD, "/registry/head", RO, NULL, NULL},
    [RT_STREAM] = {RT_STREAM, "/registry/stream", RO, NULL, NULL},
    [RT_PROPOSALS] = {RT_PROPOSALS, "/registry/proposals", RO | M_POST, "registry:propose",
                      "propose"},
    [RT_PROPOSAL] = {RT_PROPOSAL, "/registry/proposals/{id}", RO, NULL, NULL},
    [RT_APPROVE] = {RT_APPROVE, "/registry/approvals/{id}", M_POST, "registry:approve", "approve"},
    [RT_COMMIT] = {RT_COMMIT, "/registry/commit/{id}", M_POST, "registry:commit", "commit"},
    [RT_SUPERSEDE] = {RT_SUPERSEDE, "/registry/supersede", M_POST, "registry:supersede",
                      "supersede"},
    [RT_FREEZE] = {RT_FREEZE, "/registry/admin/freeze", M_POST, "registry:operate", "freeze"},
    [RT_THAW] = {RT_THAW, "/registry/admin/thaw", M_POST, "registry:operate", "thaw"},
    [RT_AUDIT] = {RT_AUDIT, "/registry/audit", RO, NULL, NULL},
    [RT_GET_VERSION] = {RT_GET_VERSION, "/registry/{version}", RO, NULL, NULL},
    [RT_NOT_FOUND] = {RT_NOT_FOUND, "unmatched", 0, NULL, NULL},
};

const char *const route_labels[RT_COUNT] = {
    "/version",
    "/schema",
    "/healthz",
    "/readyz",
    "/metrics",
    "/registry/head",
    "/registry/stream",
    "/registry/proposals",
    "/registry/proposals/{id}",
    "/registry/approvals/{id}",
    "/registry/commit/{id}",
    "/registry/supersede",
    "/registry/admin/freeze",
    "/registry/admin/thaw",
    "/registry/audit",
    "/registry/{version}",
    "unmatched",
};

static const struct {
    const char *path;
    route_id id;
} exact[] = {
    {"/version", RT_VERSION},
    {"/schema", RT_SCHEMA},
    {"/healthz", RT_HEALTHZ},
    {"/readyz", RT_READYZ},
    {"/metrics", RT_METRICS},
    {"/registry/head", RT_HEAD},
    {"/registry/stream", RT_STREAM},
    {"/registry/proposals", RT_PROPOSALS},
    {"/registry/supersede", RT_SUPERSEDE},
    {"/registry/admin/freeze", RT_FREEZE},
    {"/registry/admin/thaw", RT_THAW},
    {"/registry/audit", RT_AUDIT},
};

static const struct {
    const char *prefix;
    route_id id;
} with_param[] = {
    {"/registry/proposals/", RT_PROPOSAL},
    {"/registry/approvals/", RT_APPROVE},
    {"/registry/commit/", RT_COMMIT},
};

route_id route_match(const char *path, char *param, size_t cap)
{
    param[0] = '\0';
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(path, exact[i].path) == 0)
            return exact[i].id;
    for (size_t i = 0; i < sizeof with_param / sizeof *with_param; i++) {
        size_t n = strlen(with_param[i].prefix);
        const char *rest = path + n;
        if (strncmp(path, with_param[i].prefix, n) == 0 && *rest && !strchr(rest, '/') &&
            strlen(rest) < cap) {
            strcpy(param, rest);
            return with_param[i].id;
        }
    }
    const char *v = "/registry/";
    size_t n = strlen(v);
    if (strncmp(path, v, n) == 0) {
        const char *d = path + n;
        size_t len = strspn(d, "0123456789");
        if (len > 0 && len <= 16 && d[len] == '\0' && len < cap) {
            memcpy(param, d, len + 1);
            return RT_GET_VERSION;
        }
    }
    return RT_NOT_FOUND;
}

const char *route_allow(const route_def *r)
{
    switch (r->methods) {
    case M_GET | M_HEAD:
        return "GET, HEAD";
    case M_POST:
        return "POST";
    case M_GET | M_HEAD | M_POST:
        return "GET, HEAD, POST";
    default:
        return "";
    }
}

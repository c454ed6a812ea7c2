/* routes.c - the route table and path matching (see routes.h). */
#include "http/routes.h"

#include <stdio.h>
#include <string.h>

#include "http/handlers.h"

#define ROUTE_AS_ROW(id_, label_, methods_, scope_, event_, flags_, read_, write_)                 \
    [id_] = {.id = id_,                                                                            \
             .label = label_,                                                                      \
             .methods = methods_,                                                                  \
             .write_scope = scope_,                                                                \
             .event = event_,                                                                      \
             .flags = flags_,                                                                      \
             .read = read_,                                                                        \
             .write = write_},
#define ROUTE_AS_LABEL(id_, label_, ...) [id_] = label_,

const route_def route_table[RT_COUNT] = {ROUTE_ROWS(ROUTE_AS_ROW)};
const char *const route_labels[RT_COUNT] = {ROUTE_ROWS(ROUTE_AS_LABEL)};

/* The parameter of `path` for a row whose label is "<prefix>{name}", copied into param;
 * 1 on a match. {version}: 1-16 digits; any other name: one non-empty segment. */
static int match_param(const char *label, const char *path, char *param, size_t cap)
{
    const char *brace = strchr(label, '{');
    size_t n = (size_t)(brace - label);
    if (strncmp(path, label, n) != 0)
        return 0;
    const char *rest = path + n;
    size_t len = strlen(rest);
    if (strcmp(brace, "{version}") == 0) {
        if (len == 0 || len > 16 || strspn(rest, "0123456789") != len)
            return 0;
    } else if (len == 0 || strchr(rest, '/')) {
        return 0;
    }
    if (len >= cap)
        return 0;
    memcpy(param, rest, len + 1);
    return 1;
}

route_id route_match(const char *path, char *param, size_t cap)
{
    param[0] = '\0';
    for (int i = 0; i < RT_COUNT; i++) {
        const char *label = route_table[i].label;
        if (label[0] == '/' && !strchr(label, '{') && strcmp(path, label) == 0)
            return (route_id)i;
    }
    for (int i = 0; i < RT_COUNT; i++) {
        const char *label = route_table[i].label;
        if (label[0] == '/' && strchr(label, '{') && match_param(label, path, param, cap))
            return (route_id)i;
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

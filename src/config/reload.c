/* reload.c - SIGHUP: a new snapshot in which only the reloadable keys may differ. */
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_text(char *dst, size_t cap, const char *s)
{
    if (dst && cap)
        snprintf(dst, cap, "%s", s);
}

int cfg_reload(int argc, char **argv, char **envp, const svcr_config *cur, svcr_config *out,
               char *reason, size_t rcap, char *err, size_t errcap)
{
    set_text(reason, rcap, "");
    svcr_config *next = malloc(sizeof *next);
    if (!next) {
        set_text(reason, rcap, "invalid");
        set_text(err, errcap, "out of memory");
        return -1;
    }
    cfg_action action = CFG_RUN;
    int rc = cfg_build(argc, argv, envp, next, &action, err, errcap);
    if (rc != 0) {
        set_text(reason, rcap, rc == CFG_ERR_INVALID ? "invalid" : "parse");
        free(next);
        return -1;
    }
    size_t n;
    const cfg_key *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if ((keys[i].flags & CFG_F_RELOAD) || cfg_key_equal(&keys[i], cur, next))
            continue;
        set_text(reason, rcap, "disruptive_key");
        if (err && errcap)
            snprintf(err, errcap, "%s: changed, but it only takes effect on restart", keys[i].name);
        free(next);
        return -1;
    }
    *out = *next;
    free(next);
    return 0;
}

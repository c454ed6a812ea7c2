/* proc_rss.c - memory of a process from /proc/<pid>/status (see proc_rss.h). */
#include "proc_rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rss_info read_rss(long pid)
{
    rss_info r = {-1, -1, -1, -1};
    if (pid <= 0)
        return r;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return r;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            r.rss = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "RssAnon:", 8))
            r.anon = strtol(line + 8, NULL, 10);
        else if (!strncmp(line, "RssFile:", 8))
            r.file = strtol(line + 8, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            r.hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return r;
}

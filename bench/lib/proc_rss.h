/* proc_rss.h - what the benchmarks read about a server process from /proc: its memory. */
#ifndef SVCR_BENCH_PROC_RSS_H
#define SVCR_BENCH_PROC_RSS_H

/* VmRSS / RssAnon / RssFile / VmHWM of a process in KiB (each -1 when unknown). */
typedef struct rss_info {
    long rss, anon, file, hwm;
} rss_info;

/* Reads /proc/<pid>/status; every field -1 if the process is gone or pid <= 0. */
rss_info read_rss(long pid);

#endif

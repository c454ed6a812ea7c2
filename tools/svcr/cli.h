/* cli.h - what every svcr verb shares: the verb table entry, exit statuses, input reading. */
#ifndef SVCR_TOOLS_CLI_H
#define SVCR_TOOLS_CLI_H

#include <stddef.h>

#include "interop/buf.h"

/* Exit statuses of every verb: success, a request the registry refused, bad usage or input. */
enum { CLI_OK = 0, CLI_REFUSED = 1, CLI_USAGE = 2 };

typedef struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb name */
    const char *summary;
} cli_verb;

/* Reads all of FILE (or standard input for "-") into out. Returns 0, or -1 after printing
 * "svcr: <what>: <reason>" on stderr. */
int cli_read_input(const char *path, buf *out);
/* Prints "svcr <verb>: <message>" on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Verbs, one group per file. */
int cmd_b3(int argc, char **argv);
int cmd_jcs(int argc, char **argv);
int cmd_payload_b3(int argc, char **argv);
int cmd_verify_store(int argc, char **argv);

#endif

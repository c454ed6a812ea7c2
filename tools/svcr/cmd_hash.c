/* cmd_hash.c - svcr verbs over bytes and canonical JSON: b3, jcs, payload-b3. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto/b3.h"
#include "crypto/codec.h"
#include "interop/jcs.h"
#include "term.h"

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* Hashes one file (or stdin for "-") as it streams. Returns 0, or -1 after printing why. */
static int hash_stream(const char *path, uint8_t out[B3_LEN])
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        term_fprintf(stderr, "svcr b3: %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char chunk[1 << 16];
    b3_hasher h;
    b3_init(&h);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            term_fprintf(stderr, "svcr b3: %s: %s\n", path, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        b3_update(&h, chunk, (size_t)n);
    }
    if (fd != STDIN_FILENO)
        close(fd);
    b3_final(&h, out);
    return rc;
}

/* Prints "<hex>  <name>" as b3sum does, including its escaping of names that hold a
 * backslash or a newline (line prefixed by '\', those characters written as \\ and \n). */
static void print_b3sum_line(const uint8_t d[B3_LEN], const char *name)
{
    char hex[2 * B3_LEN + 1];
    hex_encode(d, B3_LEN, hex);
    int escape = strchr(name, '\\') || strchr(name, '\n');
    printf("%s%s  ", escape ? "\\" : "", hex);
    for (const char *p = name; *p; p++) {
        if (escape && *p == '\\')
            fputs("\\\\", stdout);
        else if (escape && *p == '\n')
            fputs("\\n", stdout);
        else
            putchar(*p);
    }
    putchar('\n');
}

int cmd_b3(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: svcr b3 [FILE|-]...\n"
               "Prints the BLAKE3-256 of each FILE (standard input for - or no FILE) in the\n"
               "format of b3sum: 64 hex digits, two spaces, the name.\n");
        return CLI_OK;
    }
    int status = CLI_OK;
    char *stdin_only[] = {"-"};
    char **files = argc > 1 ? argv + 1 : stdin_only;
    int nfiles = argc > 1 ? argc - 1 : 1;
    for (int i = 0; i < nfiles; i++) {
        uint8_t d[B3_LEN];
        if (hash_stream(files[i], d) != 0) {
            status = CLI_USAGE;
            continue;
        }
        print_b3sum_line(d, files[i]);
    }
    return status;
}

/* Reads one JSON input and canonicalizes it into out; prints the error and returns -1. */
static int canonical_input(const char *verb, const char *path, int allow_scalar, buf *out)
{
    buf in = {0};
    if (cli_read_input(path, &in) != 0) {
        buf_free(&in);
        return -1;
    }
    svcr_err err;
    svcr_err_clear(&err);
    int rc = jcs_canonicalize(in.data, in.len, allow_scalar, out, &err);
    buf_free(&in);
    if (rc != 0) {
        term_fprintf(stderr, "svcr %s: %s: %s: %s\n", verb, path, svcr_code_name(err.code),
                     err.message);
        return -1;
    }
    return 0;
}

int cmd_jcs(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: svcr jcs FILE|-\n"
               "Prints the RFC 8785 canonical form of the JSON document in FILE (or standard\n"
               "input), with no trailing newline: exactly the bytes that are hashed.\n");
        return CLI_OK;
    }
    if (argc != 2)
        return cli_usage_error("jcs", "expected exactly one FILE or -");
    buf out = {0};
    int rc = canonical_input("jcs", argv[1], 1, &out);
    if (rc == 0)
        fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    return rc == 0 ? CLI_OK : CLI_USAGE;
}

int cmd_payload_b3(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: svcr payload-b3 FILE|-\n"
               "Prints b3:<hex>, the BLAKE3-256 of the RFC 8785 canonical form of the JSON\n"
               "payload object in FILE (or standard input): the payload_b3 signers approve.\n");
        return CLI_OK;
    }
    if (argc != 2)
        return cli_usage_error("payload-b3", "expected exactly one FILE or -");
    buf out = {0};
    int rc = canonical_input("payload-b3", argv[1], 0, &out);
    if (rc == 0 && (out.len == 0 || out.data[0] != '{')) {
        term_fprintf(stderr, "svcr payload-b3: %s: Malformed: a payload is a JSON object\n",
                     argv[1]);
        rc = -1;
    }
    if (rc == 0) {
        char tag[B3_TAG_LEN + 1];
        b3_tag_of(out.data, out.len, tag);
        printf("%s\n", tag);
    }
    buf_free(&out);
    return rc == 0 ? CLI_OK : CLI_USAGE;
}

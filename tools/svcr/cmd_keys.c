/* cmd_keys.c - svcr verbs for signer keys and governance: keygen, trust-roots, sign. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto/b3.h"
#include "crypto/codec.h"
#include "crypto/ed25519.h" /* crypto_random, crypto_wipe */
#include "governance/signer_set.h"
#include "interop/jcs.h"
#include "keyfile.h"
#include "payload.h"

#define TRUST_ROOTS_MAX_SIGNERS 256

/* Writes all of data to fd, retrying on EINTR. Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates `path` with `mode` (O_EXCL when `exclusive`) holding text + "\n". Returns 0, or -1
 * after printing why. */
static int write_file(const char *verb, const char *path, const buf *text, mode_t mode,
                      int exclusive)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
    int fd = open(path, flags, mode);
    if (fd < 0) {
        fprintf(stderr, "svcr %s: %s: %s%s\n", verb, path, strerror(errno),
                errno == EEXIST ? " (refusing to overwrite it)" : "");
        return -1;
    }
    int rc = write_all(fd, text->data, text->len) == 0 ? write_all(fd, "\n", 1) : -1;
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "svcr %s: %s: %s\n", verb, path, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        fprintf(stderr, "svcr %s: %s: %s\n", verb, path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* A signer id or org the registry can accept: 1..256 bytes, no control characters. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SIGNER_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* ---- keygen ------------------------------------------------------------------------------ */

static void keygen_help(void)
{
    printf("usage: svcr keygen --signer-id ID --out FILE [--org ORG] [--json]\n"
           "Creates a new Ed25519 signer key. Writes the secret key file FILE with mode 0600\n"
           "(JSON {\"signer_id\",\"algo\":\"ed25519\",\"secret_key\",\"public_key\"}; an existing\n"
           "file is never overwritten) and prints the public signer entry JSON on stdout, ready\n"
           "for `svcr trust-roots` or a signer_set item.\n\n"
           "  --signer-id ID   the signer's id, e.g. org:alpha#key1 (1..256 bytes)\n"
           "  --out FILE       where to write the secret key\n"
           "  --org ORG        org recorded in the entry (default: text between org: and #)\n"
           "  --json           print only the entry (no note on stderr)\n\n"
           "Exit status: 0 written, 2 bad usage or the file cannot be created.\n");
}

/* Writes the key file of the key made from `seed` (algo->seed_len bytes). */
static int keygen_write(const char *path, const char *id, const char *org, const sig_algo *algo,
                        const uint8_t *pk, const uint8_t *seed)
{
    char seed64[4 * ((SIG_SEED_MAX + 2) / 3) + 1];
    b64_encode(seed, algo->seed_len, seed64, sizeof seed64, B64_STD);
    json_t *k = keyfile_signer_entry(id, algo, pk, org);
    int rc = -1;
    buf text = {0};
    if (k && json_object_set_new(k, "secret_key", json_string(seed64)) == 0 &&
        buf_reserve(&text, 2048) == 0 && jcs_write(&text, k, NULL) == 0)
        rc = write_file("keygen", path, &text, 0600, 1);
    else
        fprintf(stderr, "svcr keygen: out of memory\n");
    const char *copy = json_string_value(json_object_get(k, "secret_key"));
    if (copy)
        crypto_wipe((char *)copy, strlen(copy));
    crypto_wipe(seed64, sizeof seed64);
    if (text.data)
        crypto_wipe(text.data, text.len);
    buf_free(&text);
    json_decref(k);
    return rc;
}

int cmd_keygen(int argc, char **argv)
{
    const char *id = NULL, *out = NULL, *org = NULL, *v = NULL;
    int json = 0, r;
    if (cli_wants_help(argc, argv)) {
        keygen_help();
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++) {
        if ((r = cli_opt("keygen", argc, argv, &i, "--signer-id", &v)) != 0)
            id = v;
        else if ((r = cli_opt("keygen", argc, argv, &i, "--out", &v)) != 0)
            out = v;
        else if ((r = cli_opt("keygen", argc, argv, &i, "--org", &v)) != 0)
            org = v;
        else if ((r = strcmp(argv[i], "--json") == 0))
            json = 1;
        else
            return cli_usage_error("keygen", "unexpected argument %s (see --help)", argv[i]);
        if (r < 0)
            return CLI_USAGE;
    }
    if (!id || !out)
        return cli_usage_error("keygen", "--signer-id and --out are required (see --help)");
    if (!id_ok(id) || (org && !id_ok(org)))
        return cli_usage_error("keygen", "ids are 1..256 bytes without control characters");
    const sig_algo *algo = sig_algo_find("ed25519");
    uint8_t seed[SIG_SEED_MAX], pk[SIG_PK_MAX], sk[SIG_SK_MAX];
    crypto_random(seed, algo->seed_len);
    algo->keypair_from_seed(seed, pk, sk);
    crypto_wipe(sk, sizeof sk);
    int rc = keygen_write(out, id, org, algo, pk, seed);
    crypto_wipe(seed, sizeof seed);
    if (rc != 0)
        return CLI_USAGE;
    json_t *entry = keyfile_signer_entry(id, algo, pk, org);
    rc = entry ? cli_print_json(entry) : -1;
    json_decref(entry);
    if (!json)
        fprintf(stderr, "svcr keygen: wrote the secret key of %s to %s (mode 0600)\n", id, out);
    return rc == 0 ? CLI_OK : CLI_USAGE;
}

/* ---- trust-roots ------------------------------------------------------------------------- */

static void trust_roots_help(void)
{
    printf(
        "usage: svcr trust-roots --m M [--ttl DUR] [--out FILE] [--json] PUBFILE...\n"
        "Builds the genesis signer set (the registry's --trust-roots file), the signer_set item\n"
        "  {\"kind\":\"signer_set\",\"id\":\"governance\",\"quorum\":{\"m\":M},\"signers\":[...]}\n"
        "from PUBFILEs, each a key file from `svcr keygen` (only its public part is used) or\n"
        "a signer entry JSON. Writes it to FILE (or prints it) and prints its pin, the\n"
        "b3:<hex> of its RFC 8785 form, for bootstrap.trust_roots_hash (on stderr).\n\n"
        "  --m M        quorum: approvals needed (1 <= M <= number of signers)\n"
        "  --ttl DUR    proposal_ttl_secs as a duration (s m h d; default 3d, at most 365d)\n"
        "  --out FILE   write the set to FILE instead of stdout\n"
        "  --json       print {\"trust_roots_hash\":\"b3:...\",\"signer_set\":{...}}\n\n"
        "Exit status: 0 done, 2 bad usage or input (the set is checked as the registry\n"
        "checks it).\n");
}

/* The public signer entry of one PUBFILE (a key file or an entry). New reference or NULL. */
static json_t *trust_roots_entry(const char *path)
{
    json_t *j = cli_read_json("trust-roots", path);
    if (!j || !json_object_get(j, "secret_key"))
        return j;
    json_decref(j); /* a key file: take only what keyfile_load vouches for */
    cli_key k;
    if (keyfile_load("trust-roots", path, &k) != 0)
        return NULL;
    keyfile_wipe(&k);
    return keyfile_signer_entry(k.signer_id, k.algo, k.pk, k.org);
}

/* Builds and checks the set item. New reference, or NULL after printing why. */
static json_t *trust_roots_build(uint64_t m, int64_t ttl_ms, char **files, int nfiles)
{
    json_t *signers = json_array();
    for (int i = 0; signers && i < nfiles; i++) {
        json_t *e = trust_roots_entry(files[i]);
        if (!e || json_array_append_new(signers, e) != 0) {
            json_decref(signers);
            return NULL;
        }
    }
    json_t *set = json_pack("{s:s, s:s, s:{s:I}, s:o}", "kind", "signer_set", "id", "governance",
                            "quorum", "m", (json_int_t)m, "signers", signers);
    if (set && ttl_ms)
        json_object_set_new(set, "proposal_ttl_secs", json_integer(ttl_ms / 1000));
    signer_set *ss = NULL;
    svcr_err err;
    if (set && signer_set_from_json(set, "trust_roots", &ss, &err) != SVCR_OK) {
        fprintf(stderr, "svcr trust-roots: %s: %s\n", err.path, err.message);
        json_decref(set);
        return NULL;
    }
    signer_set_release(ss);
    return set;
}

/* Prints or writes the set and its pin. */
static int trust_roots_emit(const json_t *set, const char *out, int json)
{
    buf canon = {0};
    if (jcs_write(&canon, set, NULL) != 0) {
        buf_free(&canon);
        return CLI_USAGE;
    }
    char pin[B3_TAG_LEN + 1];
    b3_tag_of(canon.data, canon.len, pin);
    int rc = out ? write_file("trust-roots", out, &canon, 0644, 0) : 0;
    if (rc == 0 && json) {
        json_t *o = json_pack("{s:s, s:O}", "trust_roots_hash", pin, "signer_set", set);
        rc = o ? cli_print_json(o) : -1;
        json_decref(o);
    } else if (rc == 0) {
        if (!out)
            printf("%s\n", canon.data);
        else
            fprintf(stderr, "svcr trust-roots: wrote %s\n", out);
        fprintf(stderr, "trust_roots_hash: %s\n", pin);
    }
    buf_free(&canon);
    return rc == 0 ? CLI_OK : CLI_USAGE;
}

typedef struct tr_opts {
    const char *m, *ttl, *out;
    int json;
    char **files; /* borrowed from argv */
    int nfiles;
} tr_opts;

/* Parses the options; files must hold argc pointers. Returns 0 or CLI_USAGE (printed). */
static int trust_roots_args(int argc, char **argv, tr_opts *o)
{
    const char *v = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if ((r = cli_opt("trust-roots", argc, argv, &i, "--m", &v)) != 0)
            o->m = v;
        else if ((r = cli_opt("trust-roots", argc, argv, &i, "--ttl", &v)) != 0)
            o->ttl = v;
        else if ((r = cli_opt("trust-roots", argc, argv, &i, "--out", &v)) != 0)
            o->out = v;
        else if ((r = strcmp(argv[i], "--json") == 0))
            o->json = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("trust-roots", "unknown option %s (see --help)", argv[i]);
        else
            o->files[o->nfiles++] = argv[i];
        if (r < 0)
            return CLI_USAGE;
    }
    return 0;
}

int cmd_trust_roots(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        trust_roots_help();
        return CLI_OK;
    }
    tr_opts o = {.files = calloc((size_t)argc, sizeof(char *))};
    if (!o.files)
        return CLI_USAGE;
    uint64_t m = 0;
    int64_t ttl_ms = 0;
    int rc = trust_roots_args(argc, argv, &o);
    if (rc == 0 && (!o.m || cli_parse_u64(o.m, 1, TRUST_ROOTS_MAX_SIGNERS, &m) != 0))
        rc = cli_usage_error("trust-roots", "--m wants a quorum from 1 to the number of signers");
    else if (rc == 0 && o.ttl &&
             (cli_parse_duration(o.ttl, &ttl_ms) != 0 || ttl_ms < 1000 ||
              ttl_ms / 1000 > SIGNER_SET_MAX_TTL_SECS))
        rc = cli_usage_error("trust-roots", "--ttl wants a duration from 1s to 365d (e.g. 3d)");
    else if (rc == 0 && (o.nfiles == 0 || o.nfiles > TRUST_ROOTS_MAX_SIGNERS))
        rc = cli_usage_error("trust-roots", "give 1 to 256 PUBFILEs (see --help)");
    if (rc == 0) {
        json_t *set = trust_roots_build(m, ttl_ms, o.files, o.nfiles);
        rc = set ? trust_roots_emit(set, o.out, o.json) : CLI_USAGE;
        json_decref(set);
    }
    free(o.files);
    return rc;
}

/* ---- sign -------------------------------------------------------------------------------- */

static void sign_help(void)
{
    printf("usage: svcr sign --key FILE (--payload-b3 B3 | --proposal FILE) [--json]\n"
           "Prints an approval body (SPEC §2.3) signed now with the key in FILE:\n"
           "{\"signer_id\",\"algo\":\"ed25519\",\"sig\",\"signed_at\"}. The signature covers\n"
           "\"ron:svc-registry:v1\\n\" followed by the payload_b3.\n\n"
           "  --key FILE          a key file from `svcr keygen`\n"
           "  --payload-b3 B3     the b3:<hex> to approve\n"
           "  --proposal FILE     a payload JSON or a proposal request ({\"payload\":...}); its\n"
           "                      payload_b3 is computed here (and checked against the\n"
           "                      request's own payload_b3 when it has one)\n"
           "  --json              print only the approval (no note on stderr)\n\n"
           "Exit status: 0 signed, 2 bad usage or input.\n");
}

int cmd_sign(int argc, char **argv)
{
    const char *key = NULL, *b3 = NULL, *prop = NULL, *v = NULL;
    int json = 0, r;
    if (cli_wants_help(argc, argv)) {
        sign_help();
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++) {
        if ((r = cli_opt("sign", argc, argv, &i, "--key", &v)) != 0)
            key = v;
        else if ((r = cli_opt("sign", argc, argv, &i, "--payload-b3", &v)) != 0)
            b3 = v;
        else if ((r = cli_opt("sign", argc, argv, &i, "--proposal", &v)) != 0)
            prop = v;
        else if ((r = strcmp(argv[i], "--json") == 0))
            json = 1;
        else
            return cli_usage_error("sign", "unexpected argument %s (see --help)", argv[i]);
        if (r < 0)
            return CLI_USAGE;
    }
    if (!key || !b3 == !prop)
        return cli_usage_error("sign", "needs --key and one of --payload-b3 / --proposal");
    char tag[B3_TAG_LEN + 1];
    if (b3 && b3_tag_parse(b3, strlen(b3), NULL) != 0)
        return cli_usage_error("sign", "--payload-b3 wants b3: and 64 lowercase hex digits");
    if (b3)
        snprintf(tag, sizeof tag, "%s", b3);
    else if (payload_file_tag("sign", prop, tag) != 0)
        return CLI_USAGE;
    cli_key k;
    if (keyfile_load("sign", key, &k) != 0)
        return CLI_USAGE;
    json_t *a = keyfile_approval(&k, tag);
    keyfile_wipe(&k);
    int rc = a ? cli_print_json(a) : -1;
    json_decref(a);
    if (rc == 0 && !json)
        fprintf(stderr, "svcr sign: %s signed %s\n", k.signer_id, tag);
    return rc == 0 ? CLI_OK : CLI_USAGE;
}

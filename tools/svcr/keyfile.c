/* keyfile.c - signer key files (see keyfile.h). */
#include "keyfile.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "crypto/approval.h"
#include "crypto/codec.h"
#include "interop/dto.h"
#include "interop/jcs.h"
#include "interop/rfc3339.h"
#include "term.h"

typedef struct key_fields {
    const char *signer_id, *algo, *secret_key, *public_key, *org;
} key_fields;

static const dto_field key_table[] = {
    {.name = "signer_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(key_fields, signer_id),
     .min = 1,
     .max = SIGNER_ID_MAX},
    {.name = "algo", .type = DTO_STRING, .required = 1, .offset = offsetof(key_fields, algo)},
    {.name = "secret_key",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(key_fields, secret_key)},
    {.name = "public_key", .type = DTO_STRING, .offset = offsetof(key_fields, public_key)},
    {.name = "org", .type = DTO_STRING, .offset = offsetof(key_fields, org), .max = SIGNER_ID_MAX},
};

static int key_error(const char *verb, const char *path, const char *what)
{
    term_fprintf(stderr, "svcr %s: %s: %s\n", verb, path, what);
    return -1;
}

/* Fills out from the decoded fields. */
static int key_from_fields(const char *verb, const char *path, const key_fields *f, cli_key *out)
{
    uint8_t seed[SIG_SEED_MAX + 2], pk[SIG_PK_MAX + 2];
    size_t n = 0, pn = 0;
    const sig_algo *a = sig_algo_find(f->algo);
    if (!a)
        return key_error(verb, path, "algo must be \"ed25519\"");
    if (b64_decode(f->secret_key, strlen(f->secret_key), seed, sizeof seed, &n, B64_STD) != 0 ||
        n != a->seed_len) {
        crypto_wipe(seed, sizeof seed);
        char what[96];
        snprintf(what, sizeof what, "secret_key is not base64 of a %zu-byte seed", a->seed_len);
        return key_error(verb, path, what);
    }
    out->algo = a;
    a->keypair_from_seed(seed, out->pk, out->sk);
    crypto_wipe(seed, sizeof seed);
    if (f->public_key &&
        (b64_decode(f->public_key, strlen(f->public_key), pk, sizeof pk, &pn, B64_STD) != 0 ||
         pn != a->pk_len || memcmp(pk, out->pk, a->pk_len) != 0)) {
        keyfile_wipe(out);
        return key_error(verb, path, "public_key does not belong to secret_key");
    }
    snprintf(out->signer_id, sizeof out->signer_id, "%s", f->signer_id);
    snprintf(out->org, sizeof out->org, "%s", f->org ? f->org : "");
    return 0;
}

int keyfile_load(const char *verb, const char *path, cli_key *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        return key_error(verb, path, "key file is readable by group or other (chmod 600 it)");
    buf in = {0};
    if (cli_read_input(path, &in) != 0) {
        buf_free(&in);
        return -1;
    }
    svcr_err err;
    json_t *j = jcs_parse(in.data, in.len, 0, &err);
    crypto_wipe(in.data, in.len);
    buf_free(&in);
    if (!j)
        return key_error(verb, path, "not a key file (invalid JSON)");
    key_fields f = {0};
    int rc = dto_decode(j, key_table, sizeof key_table / sizeof key_table[0], &f, NULL, "", &err);
    if (rc != 0) {
        term_fprintf(stderr, "svcr %s: %s: not a key file: %s: %s\n", verb, path, err.path,
                     err.message);
    } else {
        rc = key_from_fields(verb, path, &f, out);
    }
    if (f.secret_key) /* jansson's copy of the secret (best effort) */
        crypto_wipe((char *)f.secret_key, strlen(f.secret_key));
    json_decref(j);
    return rc;
}

void keyfile_wipe(cli_key *k)
{
    crypto_wipe(k->sk, sizeof k->sk);
}

json_t *keyfile_signer_entry(const char *signer_id, const sig_algo *algo, const uint8_t *pk,
                             const char *org)
{
    char pk64[4 * ((SIG_PK_MAX + 2) / 3) + 1];
    b64_encode(pk, algo->pk_len, pk64, sizeof pk64, B64_STD);
    json_t *e = json_pack("{s:s, s:s, s:s}", "signer_id", signer_id, "algo", algo->name,
                          "public_key", pk64);
    if (e && org && *org)
        json_object_set_new(e, "org", json_string(org));
    return e;
}

json_t *keyfile_approval(const cli_key *k, const char *payload_b3)
{
    char sig[APPROVAL_SIG_B64_MAX + 1], now[32];
    if (approval_sign(k->algo, payload_b3, k->sk, sig, sizeof sig) != 0)
        return NULL;
    rfc3339_format(cli_now_s(), now);
    return json_pack("{s:s, s:s, s:s, s:s}", "signer_id", k->signer_id, "algo", k->algo->name,
                     "sig", sig, "signed_at", now);
}

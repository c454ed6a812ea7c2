/* root_keys.c - loading and looking up the macaroon root keys (auth.root_keys_path). */
#include "auth/macaroon.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/codec.h"
#include "crypto/ed25519.h"
#include "interop/dto.h"
#include "interop/file.h"
#include "interop/jcs.h"

typedef struct auth_key {
    char id[AUTH_KEY_ID_MAX + 1];
    size_t id_len;
    uint8_t *secret; /* owned; wiped on free */
    size_t secret_len;
} auth_key;

struct auth_keys {
    auth_key *keys;
    size_t n;
};

/* dto_decode slots of one "keys" entry (borrowed from the JSON value). */
typedef struct auth_key_dto {
    const char *id;
    const char *secret;
} auth_key_dto;

static void auth_errf(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auth_errf(char *err, size_t errcap, const char *fmt, ...)
{
    if (!err || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

void auth_keys_free(auth_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        if (k->keys[i].secret) {
            crypto_wipe(k->keys[i].secret, k->keys[i].secret_len);
            free(k->keys[i].secret);
        }
    }
    free(k->keys);
    free(k);
}

size_t auth_keys_count(const auth_keys *k)
{
    return k ? k->n : 0;
}

const char *auth_keys_id(const auth_keys *k, size_t i)
{
    return k && i < k->n ? k->keys[i].id : NULL;
}

int auth_keys_find(const auth_keys *k, const void *id, size_t id_len, const uint8_t **secret,
                   size_t *secret_len)
{
    if (!k || !id)
        return 0;
    for (size_t i = 0; i < k->n; i++) {
        /* Key ids are public (every token carries one): a plain comparison is fine. */
        if (k->keys[i].id_len == id_len && memcmp(k->keys[i].id, id, id_len) == 0) {
            *secret = k->keys[i].secret;
            *secret_len = k->keys[i].secret_len;
            return 1;
        }
    }
    return 0;
}

/* 1 if id is 1..AUTH_KEY_ID_MAX bytes of printable ASCII other than space. */
static int auth_key_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > AUTH_KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

/* Overwrites the characters of a jansson string in place before it is freed, so the base64
 * of a secret does not linger in freed heap memory. jansson owns the buffer and hands it out as
 * const; writing bytes of the same length into it breaks no invariant jansson relies on. */
static void auth_wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        crypto_wipe((char *)json_string_value(s), json_string_length(s));
}

/* Decodes one entry of "keys" into out. Returns 0 or -1 with err filled. */
static int auth_key_decode(const json_t *entry, size_t index, auth_key *out, char *err,
                           size_t errcap)
{
    auth_key_dto f = {NULL, NULL};
    static const dto_field fields[] = {
        {.name = "id",
         .type = DTO_STRING,
         .required = 1,
         .offset = offsetof(auth_key_dto, id),
         .min = 1,
         .max = AUTH_KEY_ID_MAX},
        {.name = "secret",
         .type = DTO_STRING,
         .required = 1,
         .offset = offsetof(auth_key_dto, secret),
         .min = 1},
    };
    char path[48];
    svcr_err e;
    dto_path_index(path, sizeof path, "keys", index);
    if (dto_decode(entry, fields, 2, &f, NULL, path, &e) != 0) {
        auth_errf(err, errcap, "%s: %s (%s)", e.path, e.message, e.reason);
        return -1;
    }
    if (!auth_key_id_valid(f.id)) {
        auth_errf(err, errcap, "%s.id: must be 1..%d bytes of printable ASCII without spaces", path,
                  AUTH_KEY_ID_MAX);
        return -1;
    }
    size_t b64len = strlen(f.secret);
    /* Decode into a buffer large enough for any length, then check the bounds. */
    size_t cap = b64len / 4 * 3 + 3;
    uint8_t *sec = malloc(cap);
    size_t n = 0;
    if (!sec) {
        auth_errf(err, errcap, "out of memory");
        return -1;
    }
    if (b64_decode(f.secret, b64len, sec, cap, &n, B64_STD) != 0) {
        crypto_wipe(sec, cap);
        free(sec);
        auth_errf(err, errcap, "%s.secret: not standard padded base64", path);
        return -1;
    }
    if (n < AUTH_SECRET_MIN_LEN || n > AUTH_SECRET_MAX_LEN) {
        crypto_wipe(sec, cap);
        free(sec);
        auth_errf(err, errcap, "%s.secret: decodes to %zu bytes; %d..%d needed", path, n,
                  AUTH_SECRET_MIN_LEN, AUTH_SECRET_MAX_LEN);
        return -1;
    }
    memcpy(out->id, f.id, strlen(f.id) + 1);
    out->id_len = strlen(f.id);
    out->secret = sec;
    out->secret_len = n;
    return 0;
}

int auth_keys_parse(const char *json, size_t len, auth_keys **out, char *err, size_t errcap)
{
    svcr_err e;
    auth_keys *k = NULL;
    const json_t *arr = NULL;
    static const dto_field top[] = {
        {.name = "keys", .type = DTO_ARRAY, .required = 1, .offset = 0, .min = 1},
    };
    if (crypto_init() != 0) {
        auth_errf(err, errcap, "libsodium failed to initialize");
        return -1;
    }
    json_t *root = jcs_parse(json, len, 0, &e);
    if (!root) {
        /* jansson's text can quote the input near the error (a secret, say): keep only the
         * "line L, column C" part of the message and the reason word. */
        size_t cut = strcspn(e.message, ":");
        auth_errf(err, errcap, "root keys: invalid JSON at %.*s (%s)", (int)cut, e.message,
                  e.reason);
        return -1;
    }
    int rc = -1;
    if (dto_decode(root, top, 1, &arr, NULL, "", &e) != 0) {
        auth_errf(err, errcap, "%s: %s (%s)", e.path[0] ? e.path : "root keys", e.message,
                  e.reason);
        goto done;
    }
    k = calloc(1, sizeof *k);
    if (!k || !(k->keys = calloc(json_array_size(arr), sizeof *k->keys))) {
        auth_errf(err, errcap, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (auth_key_decode(json_array_get(arr, i), i, &k->keys[i], err, errcap) != 0)
            goto done;
        k->n = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(k->keys[j].id, k->keys[i].id) == 0) {
                auth_errf(err, errcap, "keys[%zu].id: duplicate key id \"%s\"", i, k->keys[i].id);
                goto done;
            }
        }
    }
    *out = k;
    k = NULL;
    rc = 0;
done:
    if (json_is_array(arr)) {
        for (size_t i = 0; i < json_array_size(arr); i++)
            auth_wipe_json_string(json_object_get(json_array_get(arr, i), "secret"));
    }
    json_decref(root);
    auth_keys_free(k);
    return rc;
}

int auth_keys_load(const char *path, auth_keys **out, char *err, size_t errcap)
{
    char *text = NULL, inner[256];
    size_t len = 0;
    /* the one reader (interop/file.h): regular file, cap, owner-only mode, checked on the fd */
    if (file_read_all(path, AUTH_KEYS_FILE_MAX, FILE_OWNER_ONLY, &text, &len, err, errcap) != 0)
        return -1;
    int rc = auth_keys_parse(text, len, out, inner, sizeof inner);
    file_free(text, len); /* wiped: the file holds the secrets */
    if (rc != 0)
        auth_errf(err, errcap, "%s: %s", path, inner);
    return rc;
}

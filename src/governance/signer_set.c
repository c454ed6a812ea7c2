/* signer_set.c - parsing and validating the governance signer set (see signer_set.h). */
#include "governance/signer_set.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/codec.h"
#include "interop/dto.h"
#include "interop/rfc3339.h"

typedef struct set_dto {
    const char *kind, *id;
    const json_t *quorum, *signers, *meta;
    int64_t k_pq, ttl;
} set_dto;

static const dto_field set_fields[] = {
    {.name = "kind", .type = DTO_STRING, .required = 1, .offset = offsetof(set_dto, kind)},
    {.name = "id", .type = DTO_STRING, .required = 1, .offset = offsetof(set_dto, id)},
    {.name = "quorum", .type = DTO_OBJECT, .required = 1, .offset = offsetof(set_dto, quorum)},
    {.name = "k_pq",
     .type = DTO_INT,
     .offset = offsetof(set_dto, k_pq),
     .min = 0,
     .max = UINT32_MAX},
    {.name = "proposal_ttl_secs",
     .type = DTO_INT,
     .offset = offsetof(set_dto, ttl),
     .min = 1,
     .max = SIGNER_SET_MAX_TTL_SECS},
    {.name = "signers",
     .type = DTO_ARRAY,
     .required = 1,
     .offset = offsetof(set_dto, signers),
     .min = 1},
    {.name = "meta", .type = DTO_OBJECT, .offset = offsetof(set_dto, meta)},
};

typedef struct quorum_dto {
    int64_t m;
} quorum_dto;

static const dto_field quorum_fields[] = {
    {.name = "m",
     .type = DTO_INT,
     .required = 1,
     .offset = offsetof(quorum_dto, m),
     .min = 1,
     .max = UINT32_MAX},
};

typedef struct signer_dto {
    const char *signer_id, *algo, *public_key, *org, *revoked_at;
} signer_dto;

static const dto_field signer_fields[] = {
    {.name = "signer_id",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(signer_dto, signer_id),
     .min = 1,
     .max = SIGNER_ID_MAX},
    {.name = "algo", .type = DTO_STRING, .required = 1, .offset = offsetof(signer_dto, algo)},
    {.name = "public_key",
     .type = DTO_STRING,
     .required = 1,
     .offset = offsetof(signer_dto, public_key)},
    {.name = "org",
     .type = DTO_STRING,
     .offset = offsetof(signer_dto, org),
     .min = 1,
     .max = SIGNER_ID_MAX},
    {.name = "revoked_at",
     .type = DTO_STRING,
     .offset = offsetof(signer_dto, revoked_at),
     .flags = DTO_F_RFC3339},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Default org: the text between "org:" and "#" of the signer id, else the whole id. */
static void default_org(const char *id, char out[SIGNER_ID_MAX + 1])
{
    const char *start = strncmp(id, "org:", 4) == 0 ? id + 4 : id;
    const char *hash = strchr(start, '#');
    size_t n = hash ? (size_t)(hash - start) : strlen(start);
    if (n == 0) {
        start = id;
        n = strlen(id);
    }
    memcpy(out, start, n);
    out[n] = '\0';
}

/* A row's pk_valid may be costly: Ed25519's is a scalar multiplication (the subgroup check,
 * ~40 us: as much as a signature verification), and every stored version re-parses its signer
 * set, which rarely changes: verifying history would take almost twice as long. So each thread
 * remembers the keys it last found valid (4-way set-associative, newest first), as (row, key
 * bytes) for keys of at most PK_MEMO_KEY_MAX bytes; a longer key is checked every time (a row
 * with such keys must have a cheap pk_valid, or this memo must grow). Only valid keys are
 * stored and a hit needs the same row and all the bytes equal, so the memo never changes an
 * answer; it is per thread (no lock, nothing shared) and small (about 5 KiB). */
#define PK_MEMO_SETS 32
#define PK_MEMO_WAYS 4
#define PK_MEMO_KEY_MAX 32

typedef struct pk_memo_entry {
    const sig_algo *algo;
    uint8_t pk[PK_MEMO_KEY_MAX];
} pk_memo_entry;

typedef struct pk_memo {
    uint8_t n[PK_MEMO_SETS]; /* ways filled per set */
    pk_memo_entry e[PK_MEMO_SETS][PK_MEMO_WAYS];
} pk_memo;

static _Thread_local pk_memo memo;

/* a->pk_valid(pk), remembered per thread. pk is a->pk_len bytes. */
static int pk_usable(const sig_algo *a, const uint8_t *pk)
{
    if (a->pk_len > PK_MEMO_KEY_MAX)
        return a->pk_valid(pk);
    size_t set = ((size_t)pk[0] ^ (size_t)pk[1] * 7u ^ (size_t)pk[2] * 31u) % PK_MEMO_SETS;
    pk_memo_entry *ways = memo.e[set];
    for (size_t w = 0; w < memo.n[set]; w++)
        if (ways[w].algo == a && memcmp(ways[w].pk, pk, a->pk_len) == 0)
            return 1;
    if (!a->pk_valid(pk))
        return 0;
    memmove(&ways[1], &ways[0], (PK_MEMO_WAYS - 1) * sizeof ways[0]);
    ways[0].algo = a;
    memcpy(ways[0].pk, pk, a->pk_len);
    if (memo.n[set] < PK_MEMO_WAYS)
        memo.n[set]++;
    return 1;
}

static svcr_code parse_signer(const json_t *v, const char *path, signer *out, svcr_err *err)
{
    signer_dto d = {0};
    if (dto_decode(v, signer_fields, NFIELDS(signer_fields), &d, NULL, path, err) != 0)
        return SVCR_E_MALFORMED;
    char fpath[192];
    const sig_algo *a = sig_algo_find(d.algo);
    if (!a) {
        dto_path_member(fpath, sizeof fpath, path, "algo");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "algo_unsupported",
                            "algo must be \"ed25519\" (ml-dsa-65 is reserved for the PQ phase)");
    }
    size_t n = 0;
    uint8_t pk[SIG_PK_MAX + 3];
    if (b64_decode(d.public_key, strlen(d.public_key), pk, sizeof pk, &n, B64_STD) != 0 ||
        n != a->pk_len) {
        dto_path_member(fpath, sizeof fpath, path, "public_key");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "key_encoding",
                            "public_key must be standard base64 of %zu bytes", a->pk_len);
    }
    if (!pk_usable(a, pk)) {
        dto_path_member(fpath, sizeof fpath, path, "public_key");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "weak_key",
                            "public_key of \"%.64s\" is not a usable %s key (%s)", d.signer_id,
                            a->display, a->pk_rule);
    }
    memset(out, 0, sizeof *out);
    strcpy(out->id, d.signer_id);
    out->algo = a;
    memcpy(out->pk, pk, n);
    out->pk_len = n;
    if (d.org)
        strcpy(out->org, d.org);
    else
        default_org(d.signer_id, out->org);
    if (d.revoked_at) {
        out->revoked = 1;
        rfc3339_parse(d.revoked_at, strlen(d.revoked_at), &out->revoked_at, NULL);
    }
    return SVCR_OK;
}

int signer_same_key(const signer *a, const signer *b)
{
    return a->algo == b->algo && a->pk_len == b->pk_len && memcmp(a->pk, b->pk, a->pk_len) == 0;
}

static int signer_cmp(const void *a, const void *b)
{
    return strcmp(((const signer *)a)->id, ((const signer *)b)->id);
}

/* A listed key and where it was listed, for the duplicate-key check (sorted by algo name, key
 * length and bytes, then position, so equal (algo, bytes) keys are adjacent and the first
 * listed comes first). */
typedef struct key_pos {
    const signer *s;
    size_t index; /* position in the signers array as sent */
} key_pos;

static int key_pos_cmp(const void *a, const void *b)
{
    const key_pos *x = a, *y = b;
    int c = strcmp(x->s->algo->name, y->s->algo->name);
    if (c == 0)
        c = (x->s->pk_len > y->s->pk_len) - (x->s->pk_len < y->s->pk_len);
    if (c == 0)
        c = memcmp(x->s->pk, y->s->pk, x->s->pk_len);
    if (c == 0)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

/* Refuses a public key listed twice within an algorithm (revoked entries included: a key may
 * appear once per set), naming both entries. `signers` is in the order sent. O(n log n). */
static svcr_code check_unique_keys(const signer *signers, size_t n, const char *spath,
                                   svcr_err *err)
{
    if (n < 2)
        return SVCR_OK;
    key_pos *kp = malloc(n * sizeof *kp);
    if (!kp)
        return svcr_err_set(err, SVCR_E_INTERNAL, spath, "oom", "out of memory");
    for (size_t i = 0; i < n; i++)
        kp[i] = (key_pos){.s = &signers[i], .index = i};
    qsort(kp, n, sizeof *kp, key_pos_cmp);
    svcr_code c = SVCR_OK;
    for (size_t i = 1; i < n && c == SVCR_OK; i++) {
        const key_pos *a = &kp[i - 1], *b = &kp[i];
        if (!signer_same_key(a->s, b->s))
            continue;
        char epath[192], fpath[192];
        dto_path_index(epath, sizeof epath, spath, b->index);
        dto_path_member(fpath, sizeof fpath, epath, "public_key");
        c = svcr_err_set(err, SVCR_E_MALFORMED, fpath, "duplicate_key",
                         "signers[%zu] (\"%.48s\") and signers[%zu] (\"%.48s\") list the same "
                         "public_key; a key may appear once per set, revoked or not",
                         a->index, a->s->id, b->index, b->s->id);
    }
    free(kp);
    return c;
}

svcr_code signer_set_from_json(const json_t *item, const char *path, signer_set **out,
                               svcr_err *err)
{
    *out = NULL;
    set_dto d = {.k_pq = 0, .ttl = SIGNER_SET_DEFAULT_TTL_SECS};
    if (dto_decode(item, set_fields, NFIELDS(set_fields), &d, NULL, path, err) != 0)
        return SVCR_E_MALFORMED;
    char fpath[192];
    if (strcmp(d.kind, "signer_set") != 0) {
        dto_path_member(fpath, sizeof fpath, path, "kind");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "invalid_value",
                            "expected kind \"signer_set\"");
    }
    if (strcmp(d.id, "governance") != 0) {
        dto_path_member(fpath, sizeof fpath, path, "id");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "invalid_value",
                            "the signer_set item's id must be \"governance\"");
    }
    char qpath[192];
    dto_path_member(qpath, sizeof qpath, path, "quorum");
    quorum_dto q = {0};
    if (dto_decode(d.quorum, quorum_fields, NFIELDS(quorum_fields), &q, NULL, qpath, err) != 0)
        return SVCR_E_MALFORMED;
    if (d.k_pq != 0) {
        dto_path_member(fpath, sizeof fpath, path, "k_pq");
        return svcr_err_set(err, SVCR_E_MALFORMED, fpath, "out_of_range",
                            "k_pq must be 0: no post-quantum signers exist in v1");
    }
    signer_set *s = calloc(1, sizeof *s);
    size_t count = json_array_size(d.signers);
    if (!s || !(s->signers = calloc(count, sizeof(signer)))) {
        free(s);
        return svcr_err_set(err, SVCR_E_INTERNAL, path, "oom", "out of memory");
    }
    atomic_init(&s->refs, 1);
    char spath[192], epath[192];
    dto_path_member(spath, sizeof spath, path, "signers");
    for (size_t i = 0; i < count; i++) {
        dto_path_index(epath, sizeof epath, spath, i);
        if (parse_signer(json_array_get(d.signers, i), epath, &s->signers[i], err) != SVCR_OK) {
            signer_set_release(s);
            return SVCR_E_MALFORMED;
        }
        s->n++;
        s->n_active += !s->signers[i].revoked;
    }
    svcr_code kc = check_unique_keys(s->signers, s->n, spath, err);
    if (kc != SVCR_OK) {
        signer_set_release(s);
        return kc;
    }
    qsort(s->signers, s->n, sizeof(signer), signer_cmp);
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->signers[i - 1].id, s->signers[i].id) == 0) {
            svcr_err_set(err, SVCR_E_MALFORMED, spath, "duplicate_signer",
                         "signer_id \"%.64s\" is listed twice", s->signers[i].id);
            signer_set_release(s);
            return SVCR_E_MALFORMED;
        }
    }
    if ((uint64_t)q.m > s->n_active) {
        dto_path_member(fpath, sizeof fpath, qpath, "m");
        svcr_err_set(err, SVCR_E_MALFORMED, fpath, "out_of_range",
                     "quorum m=%lld exceeds the %zu signers without revoked_at", (long long)q.m,
                     s->n_active);
        signer_set_release(s);
        return SVCR_E_MALFORMED;
    }
    s->m = (uint32_t)q.m;
    s->k_pq = (uint32_t)d.k_pq; /* 0: checked above */
    s->ttl_secs = (uint64_t)d.ttl;
    *out = s;
    return SVCR_OK;
}

const signer *signer_set_find(const signer_set *s, const char *id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, s->signers[mid].id);
        if (c == 0)
            return &s->signers[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

signer_set *signer_set_retain(signer_set *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void signer_set_release(signer_set *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(s->signers);
    free(s);
}

/* lmdb_env.c - the default storage backend over LMDB (liblmdb 0.9): opening the environment
 * and its data directory, the map and its growth, closing. Reads are in lmdb_read.c, the
 * write side in lmdb_txn.c. */
#include "storage/dir_lock.h"
#include "storage/lmdb.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout (docs/STORAGE.md): named DBs `meta`, `versions`, `artifact_b3`, `proposals`, `audit`;
 * numeric keys are 8-byte big-endian so byte order is numeric order. */
#define LM_DEFAULT_MAP_SIZE ((uint64_t)256 << 20)
#define LM_MIN_MAP_SIZE ((uint64_t)64 << 10)
#define LM_MAX_READERS 4096
#define LM_MAX_DBS 8

static const store_backend_ops lm_ops;

int lm_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return STORE_OK;
    case MDB_NOTFOUND:
        return STORE_NOTFOUND;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case MDB_MAP_FULL:
        return STORE_ENOSPC;
    case ENOMEM:
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_DBS_FULL:
        return STORE_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_KEYEXIST: /* an append below the last key: the DBs disagree with each other */
        return STORE_ECORRUPT;
    case EINVAL:
    case MDB_BAD_VALSIZE:
        return STORE_EINVAL;
    default: /* EIO, MDB_PANIC, MDB_BAD_TXN, EACCES, ... */
        return STORE_EIO;
    }
}

void lm_rdlock(lm_store *s)
{
    int rc = pthread_rwlock_rdlock(&s->map_lock);
    assert(rc == 0);
    (void)rc;
}

void lm_unlock(lm_store *s)
{
    int rc = pthread_rwlock_unlock(&s->map_lock);
    assert(rc == 0);
    (void)rc;
}

uint64_t lm_page_round(uint64_t v)
{
    long ps = sysconf(_SC_PAGESIZE);
    uint64_t p = ps > 0 ? (uint64_t)ps : 4096;
    return (v + p - 1) / p * p;
}

int lm_resize(lm_store *s, uint64_t want)
{
    int rc = 0;
    pthread_rwlock_wrlock(&s->map_lock);
    if (want == 0 || want > atomic_load(&s->map_size)) /* else someone grew it meanwhile */
        rc = mdb_env_set_mapsize(s->env, (size_t)want);
    if (rc == 0) {
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) == 0)
            atomic_store(&s->map_size, (uint64_t)info.me_mapsize);
    }
    lm_unlock(s);
    return rc;
}

static int64_t lm_size_bytes(store_backend *b)
{
    lm_store *s = (lm_store *)b;
    struct stat sb;
    if (stat(s->data_path, &sb) != 0)
        return STORE_EIO;
    return (int64_t)sb.st_size;
}

/* The map is read-only and shared (LMDB writes with pwrite), so MADV_DONTNEED only unmaps pages
 * from this process; their contents stay in the page cache. LMDB does not expose the map's
 * address (me_mapaddr is set only with MDB_FIXEDMAP), so the mappings of data.mdb are found in
 * /proc/self/maps by inode. Taken under the map lock so a resize cannot move the map meanwhile. */
static void lm_drop_cache(store_backend *b)
{
    lm_store *s = (lm_store *)b;
    struct stat sb;
    if (stat(s->data_path, &sb) != 0)
        return;
    pthread_rwlock_rdlock(&s->map_lock);
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 &&
            ino == (unsigned long)sb.st_ino && hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    if (f)
        fclose(f);
    pthread_rwlock_unlock(&s->map_lock);
}

static void lm_close(store_backend *b)
{
    lm_store *s = (lm_store *)b;
    if (!s)
        return;
    if (s->env)
        mdb_env_close(s->env);
    store_dir_unlock(s->lock_fd); /* after LMDB let go of the files */
    pthread_rwlock_destroy(&s->map_lock);
    free(s);
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int lm_mkdirs(const char *dir)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n >= sizeof path)
        return ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) != 0) /* the umask may have removed owner bits */
                return errno;
        } else if (errno != EEXIST) {
            return errno;
        }
        path[i] = c;
    }
    return 0;
}

/* Checks (read-write: creates) the data directory; fills s->data_path. */
static int lm_prepare_dir(lm_store *s, const char *dir, char *errbuf, size_t errcap)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT)
            return store_open_error(errbuf, errcap, STORE_EIO,
                                    "storage: cannot stat data_dir %s: %s", dir, strerror(errno));
        if (s->read_only)
            return store_open_error(errbuf, errcap, STORE_EIO,
                                    "storage: no store at %s (a read-only open creates nothing)",
                                    dir);
        int e = lm_mkdirs(dir);
        if (e)
            return store_open_error(errbuf, errcap, STORE_EIO,
                                    "storage: cannot create data_dir %s: %s", dir, strerror(e));
        if (stat(dir, &sb) != 0)
            return store_open_error(errbuf, errcap, STORE_EIO,
                                    "storage: cannot stat data_dir %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode))
        return store_open_error(errbuf, errcap, STORE_EIO,
                                "storage: data_dir %s is not a directory", dir);
    int n = snprintf(s->data_path, sizeof s->data_path, "%s/data.mdb", dir);
    if (n < 0 || (size_t)n >= sizeof s->data_path)
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: data_dir path too long");
    if (s->read_only && stat(s->data_path, &sb) != 0)
        return store_open_error(
            errbuf, errcap, STORE_EIO,
            "storage: no store at %s (data.mdb: %s; a read-only open creates nothing)", dir,
            strerror(errno));
    return STORE_OK;
}

/* Opens (read-write: creates) the five named DBs, growing a tiny map if that is needed. */
static int lm_open_dbs(lm_store *s)
{
    /* indexed by store_table */
    static const char *const names[] = {"meta", "versions", "artifact_b3", "proposals", "audit"};
    unsigned int flags = s->read_only ? 0 : MDB_CREATE;
    for (int tries = 0;; tries++) {
        MDB_txn *txn = NULL;
        int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
        if (rc)
            txn = NULL;
        for (size_t i = 0; rc == 0 && i < sizeof names / sizeof names[0]; i++)
            rc = mdb_dbi_open(txn, names[i], flags, &s->dbi[i]);
        if (rc == 0) {
            rc = mdb_txn_commit(txn); /* makes the handles usable by every later txn */
            txn = NULL;
            if (rc == 0)
                return 0;
        }
        if (txn)
            mdb_txn_abort(txn);
        if ((rc != MDB_MAP_FULL && rc != MDB_MAP_RESIZED) || tries >= LM_GROW_TRIES)
            return rc;
        uint64_t want = rc == MDB_MAP_FULL ? atomic_load(&s->map_size) * 2 : 0;
        rc = mdb_env_set_mapsize(s->env, (size_t)want);
        if (rc)
            return rc;
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) == 0)
            atomic_store(&s->map_size, (uint64_t)info.me_mapsize);
    }
}

static int lm_env_open(lm_store *s, const store_open_opts *o, char *errbuf, size_t errcap)
{
    struct stat sb;
    int dead = 0;
    long page = sysconf(_SC_PAGESIZE);
    /* An existing data.mdb shorter than LMDB's two meta pages is damage (a failed restore, a
     * disk that filled during a copy), never a registry to found anew: LMDB would initialise
     * it and start at HEAD 0. Genesis happens only where data.mdb is absent. */
    if (stat(s->data_path, &sb) == 0 && sb.st_size < 2 * (off_t)page)
        return store_open_error(
            errbuf, errcap, STORE_ECORRUPT,
            "storage: %s is %lld bytes, not a complete LMDB environment (truncated?); "
            "a registry is founded only where data.mdb is absent",
            s->data_path, (long long)sb.st_size);
    uint64_t map = o->map_size ? o->map_size : LM_DEFAULT_MAP_SIZE;
    if (map < LM_MIN_MAP_SIZE)
        map = LM_MIN_MAP_SIZE;
    if (stat(s->data_path, &sb) == 0 && (uint64_t)sb.st_size > map)
        map = (uint64_t)sb.st_size * 2;
    if (map > SIZE_MAX / 2)
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: map_size too large");
    map = lm_page_round(map);
    /* MDB_NORDAHEAD: reads touch a few pages each; kernel read-ahead would map neighbours and
     * inflate RSS for nothing on large stores. */
    unsigned int flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (o->read_only)
        flags |= MDB_RDONLY;
    else if (!o->fsync)
        flags |= MDB_NOSYNC;
    int rc = mdb_env_create(&s->env);
    if (rc)
        return store_open_error(errbuf, errcap, lm_status(rc), "storage: %s", mdb_strerror(rc));
    rc = mdb_env_set_maxdbs(s->env, LM_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, LM_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)map);
    if (rc == 0)
        rc = mdb_env_open(s->env, o->data_dir, flags, 0600);
    if (rc)
        return store_open_error(errbuf, errcap, lm_status(rc),
                                "storage: cannot open LMDB store at %s: %s", o->data_dir,
                                mdb_strerror(rc));
    mdb_reader_check(s->env, &dead); /* frees reader slots of crashed processes */
    MDB_envinfo info;
    MDB_stat est;
    int have_info = mdb_env_info(s->env, &info) == 0;
    /* Pages past the end of the file would fault (SIGBUS) on first touch: a file shorter than
     * its meta page says is truncated, and refused before anything reads it. */
    if (have_info && mdb_env_stat(s->env, &est) == 0 && stat(s->data_path, &sb) == 0 &&
        (uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) * est.ms_psize)
        return store_open_error(
            errbuf, errcap, STORE_ECORRUPT,
            "storage: %s is %lld bytes but its meta page has %llu bytes in use: "
            "the file is truncated",
            s->data_path, (long long)sb.st_size,
            (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * est.ms_psize));
    atomic_store(&s->map_size, have_info ? info.me_mapsize : map);
    int kmax = mdb_env_get_maxkeysize(s->env);
    s->base.key_max = kmax > 0 && kmax < STORE_KEY_MAX ? (size_t)kmax : STORE_KEY_MAX;
    rc = lm_open_dbs(s);
    if (rc == MDB_NOTFOUND)
        return store_open_error(errbuf, errcap, STORE_ECORRUPT,
                                "storage: %s lacks the registry's named databases", o->data_dir);
    if (rc)
        return store_open_error(errbuf, errcap, lm_status(rc),
                                "storage: cannot open databases in %s: %s", o->data_dir,
                                mdb_strerror(rc));
    return STORE_OK;
}

/* See backend.h and store.h. Creates data_dir (0700) and locks it unless read_only; on failure
 * nothing stays open or locked and errbuf says why. */
int store_lmdb_backend_open(const store_open_opts *o, store_backend **out, char *errbuf,
                            size_t errcap)
{
    if (!o || !o->data_dir || !*o->data_dir)
        return store_open_error(errbuf, errcap, STORE_EINVAL, "storage: data_dir is required");
    lm_store *s = calloc(1, sizeof *s);
    if (!s)
        return store_open_error(errbuf, errcap, STORE_ENOMEM, "storage: out of memory");
    s->base.ops = &lm_ops;
    s->base.key_max = STORE_KEY_MAX;
    s->read_only = o->read_only != 0;
    s->lock_fd = -1;
    if (pthread_rwlock_init(&s->map_lock, NULL) != 0) {
        free(s);
        return store_open_error(errbuf, errcap, STORE_ENOMEM, "storage: cannot create a lock");
    }
    int st = lm_prepare_dir(s, o->data_dir, errbuf, errcap);
    /* One writer process per directory, locked before LMDB touches a file: a second server
     * on the same store would serve HEADs its own committer never saw. Readers (verify-store)
     * take no lock; LMDB's reader table makes them safe beside the writer. */
    if (st == STORE_OK && !s->read_only)
        st = store_dir_lock(o->data_dir, &s->lock_fd, errbuf, errcap);
    if (st == STORE_OK)
        st = lm_env_open(s, o, errbuf, errcap);
    if (st != STORE_OK) {
        lm_close(&s->base);
        return st;
    }
    *out = &s->base;
    return STORE_OK;
}

/* In store_backend_ops order. */
static const store_backend_ops lm_ops = {"lmdb",      lm_apply,      lm_get_num,  lm_get_named,
                                         lm_iter_num, lm_iter_named, lm_last_num, lm_size_bytes,
                                         lm_close,    lm_drop_cache};

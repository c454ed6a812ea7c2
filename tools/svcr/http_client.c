/* http_client.c - libcurl behind the svcr verbs (see http_client.h). */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "crypto/ed25519.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_REQUEST_TIMEOUT_MS 30000L

struct http_client {
    CURL *curl;
    char *base; /* without a trailing '/' */
    char *auth; /* "Authorization: Bearer ..." or NULL; wiped on free; sent on POST only */
    char err[CURL_ERROR_SIZE];
    int over_limit; /* the last answer was refused for its size */
};

/* Where a non-streamed answer is collected: refused past HTTP_MAX_BODY_BYTES. */
typedef struct collect_ctx {
    http_client *h;
    buf *body;
} collect_ctx;

/* State of one streamed request. */
typedef struct stream_ctx {
    http_client *h;
    http_chunk_cb cb;
    void *ctx;
    http_reply *err_reply;
    int stopped;
    int64_t idle_ms, last_data_ms; /* idle_ms 0: no idle limit */
    int idle;                      /* the idle limit ended the stream */
} stream_ctx;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

http_client *http_client_new(const char *base_url, const char *token)
{
    static int global_done;
    if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return NULL;
    global_done = 1;
    http_client *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->curl = curl_easy_init();
    h->base = strdup(base_url);
    if (h->base) {
        size_t n = strlen(h->base);
        while (n > 0 && h->base[n - 1] == '/')
            h->base[--n] = '\0';
    }
    if (token && asprintf(&h->auth, "Authorization: Bearer %s", token) < 0)
        h->auth = NULL;
    if (!h->curl || !h->base || (token && !h->auth)) {
        http_client_free(h);
        return NULL;
    }
    return h;
}

void http_client_free(http_client *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    if (h->auth) {
        crypto_wipe(h->auth, strlen(h->auth));
        free(h->auth);
    }
    free(h->base);
    free(h);
}

const char *http_client_error(const http_client *h)
{
    return h->err;
}

int http_client_over_limit(const http_client *h)
{
    return h->over_limit;
}

void http_reply_free(http_reply *r)
{
    buf_free(&r->body);
    r->status = 0;
}

/* Marks the answer as too large and says so in the error buffer. */
static void set_over_limit(http_client *h)
{
    h->over_limit = 1;
    snprintf(h->err, sizeof h->err, "the answer is larger than the %u MiB limit",
             (unsigned)(HTTP_MAX_BODY_BYTES >> 20));
}

/* Appends to a body unless that takes it to HTTP_MAX_BODY_BYTES (then 0: libcurl aborts). A
 * body stays below the limit, so that with its NUL it never outgrows a buffer of the limit's
 * size (buf doubles: one byte more would allocate twice the limit). */
static size_t append_capped(http_client *h, buf *body, const char *data, size_t n)
{
    if (n >= HTTP_MAX_BODY_BYTES - body->len) {
        set_over_limit(h);
        return 0;
    }
    return buf_append(body, data, n) == 0 ? n : 0;
}

static size_t collect(char *data, size_t size, size_t n, void *vctx)
{
    collect_ctx *c = vctx;
    return append_capped(c->h, c->body, data, size * n);
}

/* Sets what every request shares; returns the header list the caller frees, or NULL. The
 * token goes only where `with_auth` (writes). */
static struct curl_slist *prepare(http_client *h, const char *path, const char *accept,
                                  const char *extra, int with_auth)
{
    char *url = NULL;
    if (asprintf(&url, "%s%s", h->base, path) < 0)
        return NULL;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url); /* libcurl keeps its own copy */
    h->err[0] = '\0';
    h->over_limit = 0;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->err);
    /* refused before reading when Content-Length announces more */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX_BODY_BYTES);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "svcr/" SVCR_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    struct curl_slist *hd = curl_slist_append(NULL, accept);
    if (hd && with_auth && h->auth)
        hd = curl_slist_append(hd, h->auth);
    if (hd && extra)
        hd = curl_slist_append(hd, extra);
    if (hd)
        hd = curl_slist_append(hd, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    return hd;
}

/* Runs the prepared request into out. */
static int perform(http_client *h, struct curl_slist *hd, http_reply *out)
{
    CURL *c = h->curl;
    collect_ctx cc = {h, &out->body};
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &cc);
    buf_reset(&out->body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    if (rc == CURLE_FILESIZE_EXCEEDED || h->over_limit) {
        set_over_limit(h);
        buf_free(&out->body);
        return -1;
    }
    if (rc != CURLE_OK) {
        if (!h->err[0])
            snprintf(h->err, sizeof h->err, "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (!out->body.data && buf_puts(&out->body, "") != 0)
        return -1;
    return 0;
}

int http_get(http_client *h, const char *path, http_reply *out)
{
    struct curl_slist *hd = prepare(h, path, "Accept: application/json", NULL, 0);
    if (!hd)
        return -1;
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    return perform(h, hd, out);
}

int http_post(http_client *h, const char *path, const char *json, size_t len, http_reply *out)
{
    struct curl_slist *hd =
        prepare(h, path, "Accept: application/json", "Content-Type: application/json", 1);
    if (!hd)
        return -1;
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json);
    int rc = perform(h, hd, out);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    return rc;
}

/* Streams a 200 body to the callback; anything else is collected for the error report. */
static size_t stream_write(char *data, size_t size, size_t n, void *vctx)
{
    stream_ctx *s = vctx;
    s->last_data_ms = mono_ms();
    long status = 0;
    curl_easy_getinfo(s->h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return append_capped(s->h, &s->err_reply->body, data, size * n);
    if (s->cb(s->ctx, data, size * n) != 0) {
        s->stopped = 1;
        return 0;
    }
    return size * n;
}

/* libcurl calls this about once a second: ends a stream on which nothing arrived for idle_ms
 * (a heartbeat counts). */
static int stream_progress(void *vctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    stream_ctx *s = vctx;
    if (s->idle_ms > 0 && mono_ms() - s->last_data_ms > s->idle_ms) {
        s->idle = 1;
        return 1;
    }
    return 0;
}

http_stream_end http_stream(http_client *h, const char *path, const char *last_event_id,
                            int64_t timeout_ms, int64_t idle_ms, http_chunk_cb cb, void *ctx,
                            http_reply *err_reply)
{
    char lei[128];
    if (last_event_id)
        snprintf(lei, sizeof lei, "Last-Event-ID: %s", last_event_id);
    struct curl_slist *hd =
        prepare(h, path, "Accept: text/event-stream", last_event_id ? lei : NULL, 0);
    if (!hd)
        return HTTP_STREAM_FAILED;
    stream_ctx s = {h, cb, ctx, err_reply, 0, idle_ms, mono_ms(), 0};
    CURL *c = h->curl;
    buf_reset(&err_reply->body);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
    curl_slist_free_all(hd);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &err_reply->status);
    if (s.stopped)
        return HTTP_STREAM_STOPPED;
    if (h->over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
        set_over_limit(h);
        return HTTP_STREAM_FAILED;
    }
    if (s.idle) {
        snprintf(h->err, sizeof h->err, "nothing arrived for %lld ms", (long long)idle_ms);
        return HTTP_STREAM_FAILED;
    }
    if (err_reply->status != 0 && err_reply->status != 200)
        return HTTP_STREAM_STATUS;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return HTTP_STREAM_TIMEOUT;
    if (err_reply->status == 200)
        return HTTP_STREAM_CLOSED;
    return HTTP_STREAM_FAILED;
}

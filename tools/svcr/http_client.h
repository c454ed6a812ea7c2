/* http_client.h - the svcr verbs' HTTP client (libcurl): one keep-alive handle per command. */
#ifndef SVCR_TOOLS_HTTP_CLIENT_H
#define SVCR_TOOLS_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "interop/buf.h"

typedef struct http_client http_client;

/* The limit on an answer body (64 MiB: a signed artifact is bounded by the registry's request
 * body limit, 1 MiB by default, and its approvals); a body that reaches it is refused, not
 * read further. */
#define HTTP_MAX_BODY_BYTES ((size_t)64 << 20)

/* One answer: the HTTP status and the body (owned). */
typedef struct http_reply {
    long status;
    buf body;
} http_reply;

/* A client for base_url ("http://host:port", no trailing path needed) that sends
 * "Authorization: Bearer <token>" on POST requests (the writes) when token is not NULL (copied;
 * never printed), and never on GET or the stream: reads are public and the token stays with
 * the registry that needs it. Requests made through one client reuse its connection. NULL when
 * libcurl cannot start. */
http_client *http_client_new(const char *base_url, const char *token);
void http_client_free(http_client *h);
/* The last transport failure, as libcurl describes it ("" when none). Borrowed. */
const char *http_client_error(const http_client *h);
/* 1 when the last request failed because its answer was over HTTP_MAX_BODY_BYTES. */
int http_client_over_limit(const http_client *h);

/* GET base_url + path. Returns 0 with *out filled whatever the HTTP status is, or -1 when no
 * answer arrived or it was over HTTP_MAX_BODY_BYTES (see http_client_error and
 * http_client_over_limit). *out must be zeroed or freed; free it with http_reply_free in both
 * cases. */
int http_get(http_client *h, const char *path, http_reply *out);
/* POST json[0..len) as application/json to base_url + path. Same contract as http_get. */
int http_post(http_client *h, const char *path, const char *json, size_t len, http_reply *out);
void http_reply_free(http_reply *r);

/* Receives a streamed body as it arrives. Returns 0 to go on, non-zero to stop the stream. */
typedef int (*http_chunk_cb)(void *ctx, const char *data, size_t len);

typedef enum http_stream_end {
    HTTP_STREAM_STOPPED, /* the callback asked to stop */
    HTTP_STREAM_CLOSED,  /* the server ended the body, or the connection broke */
    HTTP_STREAM_TIMEOUT, /* timeout_ms passed (or connecting took too long) */
    HTTP_STREAM_STATUS,  /* the answer was not 200: *err_reply holds it */
    HTTP_STREAM_FAILED   /* no answer (connection refused, ...) or idle_ms passed without data:
                            see http_client_error */
} http_stream_end;

/* GETs base_url + path with "Accept: text/event-stream" and, when last_event_id is not NULL,
 * "Last-Event-ID: <it>", handing every chunk of a 200 body to cb (which bounds what it keeps).
 * Gives up after timeout_ms (0: never) and when nothing, not even a heartbeat, arrived for
 * idle_ms (0: never). A non-200 answer is collected up to HTTP_MAX_BODY_BYTES. */
http_stream_end http_stream(http_client *h, const char *path, const char *last_event_id,
                            int64_t timeout_ms, int64_t idle_ms, http_chunk_cb cb, void *ctx,
                            http_reply *err_reply);

#endif

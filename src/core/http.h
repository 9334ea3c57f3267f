/* http.h - one HTTP request through libcurl, with hard caps on body size, header size and time.
 * Retries are the caller's policy (see sources/retry.h); this module does one exchange. */
#ifndef CHATTER_CORE_HTTP_H
#define CHATTER_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define HTTP_MAX_HEADERS 16

typedef struct http_request {
    const char *method;        /* "GET" (default when NULL), "POST", "HEAD" */
    const char *url;
    const char *headers[HTTP_MAX_HEADERS]; /* "Name: value", NULL-terminated */
    const char *body;          /* may be NULL */
    size_t body_len;
    long timeout_ms;           /* whole exchange; default 30000 */
    size_t max_body;           /* response cap; default 8 MiB */
    bool follow_redirects;     /* default false: callers that follow do it hop by hop */
    const char *ca_file;       /* optional PEM CA bundle replacing the system store (private CAs, tests) */
} http_request;

typedef struct http_response {
    long status;               /* 0 when no response arrived */
    buf body;
    char location[2048];       /* Location header, if any */
    int64_t retry_after_ms;    /* from Retry-After (seconds or HTTP date); -1 when absent */
    char content_type[128];
    /* A few named headers callers ask for (e.g. X-Apify-Pagination-Total), filled by name. */
    const char *want_header;   /* set by the caller before http_do; value lands in header_value */
    char header_value[256];
    /* A second one, longer: Instagram's usage headers are JSON with an entry per business account. */
    const char *want_header2;
    char header_value2[1024];
} http_response;

/* Call once from main (curl_global_init is not thread-safe). */
int http_global_init(cerr *e) CH_MUST_USE;
void http_global_cleanup(void);

void http_response_init(http_response *r);
void http_response_free(http_response *r);

/* Performs the request. Returns 0 when any HTTP response arrived (check r->status), -1 on a transport
 * failure (CERR_NETWORK: DNS, connect, TLS, timeout) or a body over the cap (CERR_TOOBIG). */
int http_do(const http_request *req, http_response *r, cerr *e) CH_MUST_USE;

/* URL-encodes s into out (malloc'd). */
char *http_escape(const char *s);

#endif

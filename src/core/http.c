#include "core/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"

int http_global_init(cerr *e) {
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) return cerr_set(e, CERR_INTERNAL, "curl_global_init failed");
    return 0;
}

void http_global_cleanup(void) { curl_global_cleanup(); }

void http_response_init(http_response *r) {
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    r->retry_after_ms = -1;
}

void http_response_free(http_response *r) { buf_free(&r->body); }

typedef struct sink {
    http_response *r;
    cerr *e;
    int failed;
} sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    sink *s = ud;
    size_t n = size * nmemb;
    if (buf_append(&s->r->body, ptr, n, s->e)) {
        s->failed = 1;
        return 0; /* aborts the transfer */
    }
    return n;
}

static void trim_copy(char *dst, size_t cap, const char *src, size_t n) {
    while (n && (*src == ' ' || *src == '\t')) src++, n--;
    while (n && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' ')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    http_response *r = ud;
    size_t n = size * nmemb;
    const char *colon = memchr(ptr, ':', n);
    if (!colon) {
        /* a new status line (redirect or 100-continue): forget the previous response's headers */
        if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
            r->location[0] = r->header_value[0] = r->header_value2[0] = '\0';
            r->retry_after_ms = -1;
        }
        return n;
    }
    size_t name_len = (size_t)(colon - ptr);
    const char *val = colon + 1;
    size_t val_len = n - name_len - 1;
    char value[2048];
    trim_copy(value, sizeof value, val, val_len);
    if (name_len == 8 && strncasecmp(ptr, "Location", 8) == 0) {
        trim_copy(r->location, sizeof r->location, val, val_len);
    } else if (name_len == 11 && strncasecmp(ptr, "Retry-After", 11) == 0) {
        int64_t secs;
        if (parse_i64(value, &secs) == 0) {
            r->retry_after_ms = secs < 0 ? 0 : secs * 1000;
        } else {
            time_t when = curl_getdate(value, NULL);
            if (when > 0) {
                int64_t d = ((int64_t)when - now_unix()) * 1000;
                r->retry_after_ms = d < 0 ? 0 : d;
            }
        }
    } else if (name_len == 12 && strncasecmp(ptr, "Content-Type", 12) == 0) {
        trim_copy(r->content_type, sizeof r->content_type, val, val_len);
    } else if (r->want_header && strlen(r->want_header) == name_len &&
               strncasecmp(ptr, r->want_header, name_len) == 0) {
        trim_copy(r->header_value, sizeof r->header_value, val, val_len);
    } else if (r->want_header2 && strlen(r->want_header2) == name_len &&
               strncasecmp(ptr, r->want_header2, name_len) == 0) {
        trim_copy(r->header_value2, sizeof r->header_value2, val, val_len);
    }
    return n;
}

int http_do(const http_request *req, http_response *r, cerr *e) {
    CURL *c = curl_easy_init();
    if (!c) return cerr_set(e, CERR_NOMEM, "curl_easy_init failed");
    buf_reset(&r->body);
    r->body.limit = req->max_body ? req->max_body : 8u << 20;
    r->status = 0;
    r->location[0] = r->content_type[0] = r->header_value[0] = r->header_value2[0] = '\0';
    r->retry_after_ms = -1;

    sink s = {.r = r, .e = e};
    struct curl_slist *hdrs = NULL;
    for (int i = 0; i < HTTP_MAX_HEADERS && req->headers[i]; i++) hdrs = curl_slist_append(hdrs, req->headers[i]);
    hdrs = curl_slist_append(hdrs, "Expect:");

    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "chatter/" CHATTER_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    if (req->follow_redirects) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (s.failed) return -1; /* e already says the body was too big */
    if (rc != CURLE_OK) {
        /* strip the URL from the message: it may carry an API key in its query */
        return cerr_set(e, CERR_NETWORK, "request failed: %s", curl_easy_strerror(rc));
    }
    if (!r->body.data && buf_append(&r->body, "", 0, e)) return -1;
    return 0;
}

char *http_escape(const char *s) {
    char *t = curl_easy_escape(NULL, s, 0);
    if (!t) return NULL;
    char *out = strdup(t);
    curl_free(t);
    return out;
}

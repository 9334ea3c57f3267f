#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/log.h"

/* Queues data (freed by MHD) with the common headers and, when hname is set, one more header. */
static enum MHD_Result queue_buffer(api_request *r, unsigned status, const char *content_type, char *data,
                                    size_t len, const char *hname, const char *hvalue) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (hname) MHD_add_response_header(resp, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result queue_json(api_request *r, unsigned status, json_t *body, const char *hname,
                                  const char *hvalue) {
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    if (!s) return MHD_NO;
    size_t n = strlen(s);
    /* one trailing newline makes curl output readable */
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return queue_buffer(r, status, "application/json", t, n + 1, hname, hvalue);
}

enum MHD_Result reply_json(api_request *r, unsigned status, json_t *body) {
    return queue_json(r, status, body, NULL, NULL);
}

enum MHD_Result reply_error_header(api_request *r, unsigned status, const char *code, const char *message,
                                   const char *hname, const char *hvalue) {
    return queue_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message), hname,
                      hvalue);
}

enum MHD_Result reply_error_json(api_request *r, unsigned status, const char *code, const char *field,
                                 const char *message, json_t *details) {
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (field) json_object_set_new(err, "field", json_string(field));
    if (details) json_object_set_new(err, "details", details);
    return reply_json(r, status, json_pack("{s:o}", "error", err));
}

enum MHD_Result reply_error(api_request *r, unsigned status, const char *code, const char *field, const char *fmt,
                            ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reply_error_json(r, status, code, field, msg, NULL);
}

enum MHD_Result reply_text(api_request *r, unsigned status, const char *content_type, const char *text) {
    char *copy = strdup(text);
    if (!copy) return MHD_NO;
    return queue_buffer(r, status, content_type, copy, strlen(copy), NULL, NULL);
}

enum MHD_Result reply_store_error(api_request *r, const cerr *e) {
    if (e->code == CERR_NOTFOUND) return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", e->msg);
    log_error("%s %s: %s", r->method, r->path, e->msg);
    return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "internal error; see the server log");
}

enum MHD_Result reply_too_many(api_request *r, int64_t retry_after_s, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", (long long)(retry_after_s > 0 ? retry_after_s : 1));
    return reply_error_header(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", msg, MHD_HTTP_HEADER_RETRY_AFTER, ra);
}

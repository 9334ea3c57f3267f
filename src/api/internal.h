/* internal.h - what the API's files share: the server state, the request, and reply helpers. */
#ifndef CHATTER_API_INTERNAL_H
#define CHATTER_API_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "core/buf.h"

struct api_server {
    api_config cfg;
    store *st;
    queue *q;
    const source_settings *src;
    struct MHD_Daemon *daemon;
    int port;
};

typedef struct api_request {
    api_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
    char owner[OWNER_MAX];
    bool admin;
} api_request;

/* Every handler returns the MHD result of queueing exactly one response. */
enum MHD_Result reply_json(api_request *r, unsigned status, json_t *body); /* steals body */
enum MHD_Result reply_error(api_request *r, unsigned status, const char *code, const char *field,
                            const char *fmt, ...) CH_PRINTF(5, 6);
enum MHD_Result reply_error_json(api_request *r, unsigned status, const char *code, const char *field,
                                 const char *message, json_t *details); /* steals details */
enum MHD_Result reply_text(api_request *r, unsigned status, const char *content_type, const char *text);
enum MHD_Result reply_store_error(api_request *r, const cerr *e);
/* A JSON error with one extra header (Allow, WWW-Authenticate, Retry-After). */
enum MHD_Result reply_error_header(api_request *r, unsigned status, const char *code, const char *message,
                                   const char *hname, const char *hvalue);
/* 429 with a Retry-After header. */
enum MHD_Result reply_too_many(api_request *r, int64_t retry_after_s, const char *fmt, ...) CH_PRINTF(3, 4);

json_t *job_to_json(const job_info *j, store *st, bool with_posts, cerr *e);

enum MHD_Result route_jobs_create(api_request *r);
enum MHD_Result route_jobs_list(api_request *r);
enum MHD_Result route_job_get(api_request *r, int64_t id);
enum MHD_Result route_job_delete(api_request *r, int64_t id);
enum MHD_Result route_job_csv(api_request *r, int64_t id);
enum MHD_Result route_web_page(api_request *r);

#endif

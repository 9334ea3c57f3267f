/* server.c - libmicrohttpd plumbing: listening, limits, request bodies, authentication and routing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api/internal.h"
#include "core/log.h"
#include "core/util.h"

void api_config_defaults(api_config *c) {
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8080";
    c->threads = 4;
    c->max_body = 1u << 20;
    c->max_urls = 500;
    c->max_comments_limit = 100000;
    c->default_max_comments = 1000;
    c->sample_pool = 5000;
    c->max_time_budget_s = 7 * 86400;
    c->connection_timeout_s = 15;
    c->connection_limit = 1024;
    c->per_ip_connection_limit = 64;
    c->default_analyzer = "auto";
}

/* Per-connection state while a request body arrives. */
typedef struct conn_state {
    buf body;
    bool too_big;
    size_t discarded; /* bytes of an oversize body read and dropped */
} conn_state;

/* An oversize body is read and dropped so the client, which is still sending, receives the 413 instead
 * of a reset connection; past this much we answer at once and let MHD close the connection. */
#define DISCARD_MAX (16u << 20)

static bool parse_id(const char *s, size_t n, int64_t *out) {
    if (n == 0 || n > 18) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return v > 0;
}

static enum MHD_Result method_not_allowed(api_request *r, const char *allow) {
    return reply_error_header(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this path",
                              MHD_HTTP_HEADER_ALLOW, allow);
}

static enum MHD_Result route_health(api_request *r, bool ready) {
    if (!ready) return reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
    cerr e;
    json_t *checks = json_object();
    bool ok = true;
    if (r->srv->st->ops->ping(r->srv->st, &e)) {
        ok = false;
        json_object_set_new(checks, "database", json_string("unavailable"));
        log_warn("readyz: database: %s", e.msg);
    } else {
        json_object_set_new(checks, "database", json_string("ok"));
    }
    if (r->srv->q && r->srv->q->ops->ping) {
        if (r->srv->q->ops->ping(r->srv->q, &e)) {
            ok = false;
            json_object_set_new(checks, "queue", json_string("unavailable"));
            log_warn("readyz: queue: %s", e.msg);
        } else {
            json_object_set_new(checks, "queue", json_string("ok"));
        }
    }
    return reply_json(r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                      json_pack("{s:s, s:o}", "status", ok ? "ok" : "unavailable", "checks", checks));
}

static enum MHD_Result authenticate(api_request *r, bool *ok) {
    *ok = false;
    api_server *s = r->srv;
    if (!s->cfg.auth) {
        snprintf(r->owner, sizeof r->owner, "%s", LOCAL_OWNER);
        r->admin = false;
        *ok = true;
        return MHD_YES;
    }
    const char *authz = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char challenge[512] = "Bearer";
    cerr e;
    cerr_clear(&e);
    if (s->cfg.auth(s->cfg.auth_ctx, authz, r->owner, sizeof r->owner, &r->admin, challenge, sizeof challenge, &e) ==
        0) {
        *ok = true;
        return MHD_YES;
    }
    if (e.code != CERR_INVALID && e.code != CERR_OK) {
        /* the identity provider is unreachable or broken: not the client's fault */
        log_warn("%s %s: cannot verify tokens: %s", r->method, r->path, e.msg);
        return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "auth_unavailable", NULL,
                           "the identity provider cannot be reached; try again later");
    }
    log_info("%s %s: unauthorized: %s", r->method, r->path, e.msg[0] ? e.msg : "no bearer token");
    return reply_error_header(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", e.msg[0] ? e.msg : "a bearer token is required",
                              MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
}

static enum MHD_Result dispatch(api_request *r) {
    const char *p = r->path;
    const char *m = r->method;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool post = strcmp(m, "POST") == 0;
    bool del = strcmp(m, "DELETE") == 0;

    if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0)
        return get ? route_web_page(r) : method_not_allowed(r, "GET, HEAD");
    if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0)
        return get ? route_health(r, p[1] == 'r') : method_not_allowed(r, "GET, HEAD");
    if (strncmp(p, "/api/", 5) != 0)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such path: %.200s", p);

    bool authed;
    enum MHD_Result ar = authenticate(r, &authed);
    if (!authed) return ar;

    if (strcmp(p, "/api/jobs") == 0 || strcmp(p, "/api/jobs/") == 0) {
        if (post) return route_jobs_create(r);
        if (get) return route_jobs_list(r);
        return method_not_allowed(r, "GET, HEAD, POST");
    }
    if (strcmp(p, "/api/jobs/create") == 0 || strcmp(p, "/api/jobs/create/") == 0)
        return post ? route_jobs_create(r) : method_not_allowed(r, "POST");
    if (strncmp(p, "/api/jobs/", 10) == 0) {
        const char *id_s = p + 10;
        size_t id_len = strcspn(id_s, "/");
        int64_t id;
        if (!parse_id(id_s, id_len, &id))
            return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "job ids are positive integers");
        const char *rest = id_s + id_len;
        if (*rest == '\0' || strcmp(rest, "/") == 0) {
            if (get) return route_job_get(r, id);
            if (del) return route_job_delete(r, id);
            return method_not_allowed(r, "GET, HEAD, DELETE");
        }
        if (strcmp(rest, "/status") == 0 || strcmp(rest, "/status/") == 0)
            return get ? route_job_get(r, id) : method_not_allowed(r, "GET, HEAD");
        if (strcmp(rest, "/results.csv") == 0 || strcmp(rest, "/download") == 0 || strcmp(rest, "/download/") == 0)
            return get ? route_job_csv(r, id) : method_not_allowed(r, "GET, HEAD");
    }
    return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such path: %.200s", p);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    api_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        buf_init(&cs->body, s->cfg.max_body);
        *con_cls = cs;
        /* refuse a declared oversize body before reading any of it */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t declared;
        if (cl && parse_i64(cl, &declared) == 0 && declared > (int64_t)s->cfg.max_body) {
            cs->too_big = true;
            if (declared > (int64_t)DISCARD_MAX) cs->discarded = DISCARD_MAX + 1;
        }
        if (cs->discarded <= DISCARD_MAX) return MHD_YES;
    }
    api_request r = {.srv = s, .conn = conn, .method = method, .path = url};
    if (*upload_data_size) {
        if (!cs->too_big) {
            cerr e;
            if (buf_append(&cs->body, upload_data, *upload_data_size, &e)) cs->too_big = true;
        }
        if (cs->too_big) cs->discarded += *upload_data_size;
        *upload_data_size = 0;
        if (cs->discarded <= DISCARD_MAX) return MHD_YES;
    }
    if (cs->too_big) {
        return reply_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", "body",
                           "request body exceeds %zu bytes", s->cfg.max_body);
    }
    r.body = cs->body.data ? cs->body.data : "";
    r.body_len = cs->body.len;
    return dispatch(&r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *cs = *con_cls;
    if (!cs) return;
    buf_free(&cs->body);
    free(cs);
    *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    log_debug("http: %s", msg);
}

/* "127.0.0.1:8080", "[::1]:8080", ":8080", "8080" */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6, cerr *e) {
    char host[256] = "";
    const char *port_s;
    memset(ss, 0, sizeof *ss);
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            return cerr_set(e, CERR_INVALID, "--listen: expected [ADDRESS]:PORT, got '%s'", listen);
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        port_s = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon) {
            if ((size_t)(colon - listen) >= sizeof host) return cerr_set(e, CERR_INVALID, "--listen: address too long");
            memcpy(host, listen, (size_t)(colon - listen));
            port_s = colon + 1;
        } else {
            port_s = listen;
        }
    }
    int64_t port;
    if (parse_i64(port_s, &port) || port < 0 || port > 65535)
        return cerr_set(e, CERR_INVALID, "--listen: invalid port in '%s'", listen);
    if (!host[0]) strcpy(host, "0.0.0.0");
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = false;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = true;
    } else if (strcmp(host, "localhost") == 0) {
        inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = false;
    } else {
        return cerr_set(e, CERR_INVALID, "--listen: '%s' is not an IP address", host);
    }
    return 0;
}

int api_start(const api_config *cfg, store *st, queue *q, const source_settings *src, api_server **out, cerr *e) {
    api_server *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    s->st = st;
    s->q = q;
    s->src = src;
    struct sockaddr_storage ss;
    bool v6 = false;
    if (parse_listen(cfg->listen, &ss, &v6, e)) {
        free(s);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 4), MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connection_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return cerr_set(e, CERR_IO, "cannot listen on %s (address in use or not permitted?)", cfg->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

int api_port(const api_server *s) { return s->port; }

void api_stop(api_server *s) {
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    free(s);
}

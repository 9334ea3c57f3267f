/* tiktok.c - comments through the TikTok Research API (platform-apis.md section 3).
 *
 * The client-credentials token lives in a tiktok_client (the source's ctx): one per process, shared by
 * all fetch threads under a mutex, refreshed shortly before it expires and when a call answers 401.
 * Video and comment ids go into the request body as the decimal text url_parse validated, and come
 * back through jansson's 64-bit integers, so ids above 2^53 never pass through a double. */
#include "sources/tiktok.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sources/comment_batch.h"
#include "sources/json_fields.h"
#include "sources/outcome.h"
#include "sources/retry.h"

#define TT_DEFAULT_URL "https://open.tiktokapis.com"
#define TT_FIELDS "id,text,like_count,reply_count,parent_comment_id,create_time"
#define TT_PAGE_MAX 100
#define TT_TOKEN_MAX 1024
#define TT_MAX_PAGES 2000      /* per post (top level and each reply thread): bounds a server that never ends */
#define TT_URL_MAX 1024
#define TT_CURSOR_CAP 1000
#define TT_NOT_DISCLOSED "not allowed to be disclosed"

struct tiktok_client {
    pthread_mutex_t mu;
    char token[TT_TOKEN_MAX];
    int64_t refresh_at_ms;     /* now_ms() after which the token is refreshed before use */
    uint64_t generation;       /* bumped on every new token; 0 = none yet */
    int64_t tokens_fetched;
};

tiktok_client *tiktok_client_new(void) {
    tiktok_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void tiktok_client_free(tiktok_client *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    memset(c->token, 0, sizeof c->token);
    free(c);
}

int64_t tiktok_client_tokens_fetched(tiktok_client *c) {
    pthread_mutex_lock(&c->mu);
    int64_t n = c->tokens_fetched;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void *ctx_new(const source_settings *s, cerr *e) {
    (void)s;
    tiktok_client *c = tiktok_client_new();
    if (!c) cerr_set(e, CERR_NOMEM, "out of memory");
    return c;
}

static void ctx_free(void *ctx) { tiktok_client_free(ctx); }

static const char *base_url(const source_settings *s) {
    return s->tiktok_api_url && *s->tiktok_api_url ? s->tiktok_api_url : TT_DEFAULT_URL;
}

static int join_url(char *out, size_t cap, const char *base, const char *path) {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    return sbprintf(out, cap, "%.*s%s", (int)n, base, path);
}

/* What one upstream call came to, beyond "here is the data". */
typedef enum call_result { CALL_OK = 0, CALL_DONE = 1, CALL_FATAL = -1 } call_result;

/* Asks for a new token. With the lock held: concurrent fetches that find the token stale wait here for
 * the one refresh instead of each asking TikTok. */
static call_result fetch_token_locked(tiktok_client *c, const source_settings *s, const retry_policy *pol,
                                      fetch_outcome *out, cerr *e) {
    char url[TT_URL_MAX];
    if (join_url(url, sizeof url, base_url(s), "/v2/oauth/token/"))
        return cerr_set(e, CERR_INVALID, "TikTok API URL is too long");
    char *k = http_escape(s->tiktok_client_key ? s->tiktok_client_key : "");
    char *sec = http_escape(s->tiktok_client_secret ? s->tiktok_client_secret : "");
    buf body;
    buf_init(&body, 0);
    int brc = (!k || !sec) ? cerr_set(e, CERR_NOMEM, "out of memory")
                           : buf_printf(&body, e, "client_key=%s&client_secret=%s&grant_type=client_credentials",
                                        k, sec);
    free(k);
    free(sec);
    if (brc) {
        buf_free(&body);
        return CALL_FATAL;
    }
    http_request req = {.method = "POST", .url = url, .body = body.data, .body_len = body.len,
                        .headers = {"Content-Type: application/x-www-form-urlencoded", "Cache-Control: no-cache"},
                        .max_body = 64 * 1024};
    http_response r;
    http_response_init(&r);
    cerr he = {0};
    int rc = retry_http(pol, &req, &r, NULL, &he);
    memset(body.data, 0, body.len); /* the secret */
    buf_free(&body);
    call_result res = CALL_DONE;
    if (rc) {
        if (he.code == CERR_NOMEM) {
            *e = he;
            res = CALL_FATAL;
        } else {
            outcome_set(out, FETCH_RETRY, "TikTok token request failed: %s", he.msg);
        }
        http_response_free(&r);
        return res;
    }
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    const char *tok = jf_str(j, "access_token");
    json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
    if (r.status == 200 && tok && *tok && strlen(tok) < TT_TOKEN_MAX) {
        if (ttl <= 0) ttl = 7200;
        int64_t ttl_ms = (int64_t)ttl * 1000, margin = ttl_ms / 4;
        if (margin > 300000) margin = 300000; /* refresh 5 minutes early, or a quarter of a short lifetime */
        memcpy(c->token, tok, strlen(tok) + 1);
        c->refresh_at_ms = now_ms() + ttl_ms - margin;
        c->generation++;
        c->tokens_fetched++;
        res = CALL_OK;
    } else if (r.status == 429 || r.status >= 500 || r.status == 0) {
        outcome_set(out, FETCH_RETRY, "TikTok token endpoint unavailable (HTTP %ld)", r.status);
        out->retry_after_ms = r.retry_after_ms;
    } else {
        char why[96];
        outcome_quote(why, sizeof why, jf_str(j, "error") ? jf_str(j, "error") : "unexpected response", 64);
        outcome_set(out, FETCH_FAILED, "TikTok rejected the client credentials (%s, HTTP %ld)", why, r.status);
    }
    json_decref(j);
    http_response_free(&r);
    return res;
}

/* Copies a usable token into tok. stale_gen: the generation the caller saw rejected (0 = none), which
 * forces a refresh unless another thread already replaced it. */
static call_result get_token(tiktok_client *c, const source_settings *s, const retry_policy *pol,
                             uint64_t stale_gen, char tok[TT_TOKEN_MAX], uint64_t *gen, fetch_outcome *out,
                             cerr *e) {
    pthread_mutex_lock(&c->mu);
    call_result res = CALL_OK;
    if (c->generation == 0 || now_ms() >= c->refresh_at_ms || c->generation == stale_gen) {
        if (c->generation && c->generation == stale_gen) log_info("tiktok: access token rejected, refreshing");
        res = fetch_token_locked(c, s, pol, out, e);
    }
    if (res == CALL_OK) {
        memcpy(tok, c->token, TT_TOKEN_MAX);
        *gen = c->generation;
    }
    pthread_mutex_unlock(&c->mu);
    return res;
}

/* The Research API's daily limits (1,000 requests, 100,000 records) reset at 00:00 UTC (research-api-faq,
 * platform-apis.md section 3.4); TikTok sends no reset time of its own. */
int64_t tiktok_quota_reset_unix(int64_t now) { return (now / 86400 + 1) * 86400; }

/* Whether an error code or message speaks of the (daily) quota; TikTok's wording for it is UNCONFIRMED, so
 * any mention of "quota" counts. */
static bool names_quota(const char *s) {
    return s && strcasestr(s, "quota") != NULL;
}

typedef struct tt_call {
    tiktok_client *client;
    const source_settings *s;
    retry_policy pol;
    fetch_outcome *out;
    bool invalid_params; /* the last CALL_DONE was TikTok's invalid_params */
} tt_call;

/* One comment/list call; on CALL_OK *data_out holds the parsed body (caller decrefs). The field name is
 * "video_id" or "comment_id"; id is validated decimal text. */
static call_result list_call(tt_call *tc, const char *field, const char *id, int64_t cursor, int max_count,
                             json_t **data_out, cerr *e) {
    char url[TT_URL_MAX], body[256], auth[TT_TOKEN_MAX + 32], tok[TT_TOKEN_MAX];
    if (join_url(url, sizeof url, base_url(tc->s), "/v2/research/video/comment/list/?fields=" TT_FIELDS))
        return cerr_set(e, CERR_INVALID, "TikTok API URL is too long");
    if (sbprintf(body, sizeof body, "{\"%s\": %s, \"max_count\": %d, \"cursor\": %lld}", field, id, max_count,
                 (long long)cursor))
        return cerr_set(e, CERR_INVALID, "TikTok id is too long");
    uint64_t gen = 0, stale = 0;
    tc->invalid_params = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        call_result tr = get_token(tc->client, tc->s, &tc->pol, stale, tok, &gen, tc->out, e);
        if (tr != CALL_OK) return tr;
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
        http_request req = {.method = "POST", .url = url, .body = body, .body_len = strlen(body),
                            .headers = {auth, "Content-Type: application/json"}};
        http_response r;
        http_response_init(&r);
        cerr he = {0};
        int rc = retry_http(&tc->pol, &req, &r, NULL, &he);
        memset(auth, 0, sizeof auth);
        if (rc) {
            http_response_free(&r);
            if (he.code == CERR_NOMEM) {
                *e = he;
                return CALL_FATAL;
            }
            outcome_set(tc->out, FETCH_RETRY, "TikTok API unreachable: %s", he.msg);
            return CALL_DONE;
        }
        json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
        json_t *err = json_object_get(j, "error");
        const char *code = jf_str(err, "code");
        const char *msg = jf_str(err, "message");
        char quoted[160];
        outcome_quote(quoted, sizeof quoted, msg ? msg : "", 150);
        long status = r.status;
        int64_t retry_after = r.retry_after_ms;
        http_response_free(&r);
        if (status == 200 && j && (!code || strcmp(code, "ok") == 0) && json_is_object(json_object_get(j, "data"))) {
            *data_out = j;
            return CALL_OK;
        }
        bool token_bad = (code && strcmp(code, "access_token_invalid") == 0) || (!code && status == 401);
        if (token_bad && attempt == 0) {
            json_decref(j);
            stale = gen; /* refresh once, then try the same page again */
            continue;
        }
        if (msg && strstr(msg, TT_NOT_DISCLOSED)) {
            outcome_set(tc->out, FETCH_FAILED, "TikTok does not allow this video's comments to be disclosed");
        } else if (token_bad) {
            outcome_set(tc->out, FETCH_FAILED, "TikTok rejected a freshly issued access token");
        } else if (code && (strcmp(code, "scope_not_authorized") == 0 || strcmp(code, "scope_permission_missed") == 0)) {
            outcome_set(tc->out, FETCH_FAILED, "the TikTok client is not authorized for the Research API (%s)", code);
        } else if ((code && strcmp(code, "rate_limit_exceeded") == 0) || status == 429 || names_quota(code) ||
                   names_quota(msg)) {
            /* retry_http already waited out what a short burst limit would need, so what is left is the
             * daily request quota: every TikTok post waits for it */
            char qc[64];
            outcome_quote(qc, sizeof qc, code && *code ? code : "HTTP 429", 48);
            outcome_set(tc->out, FETCH_RETRY, "TikTok API daily quota exhausted (%s)", qc);
            tc->out->quota = true;
            int64_t now = now_unix();
            tc->out->retry_after_ms = retry_after > 0 ? retry_after : (tiktok_quota_reset_unix(now) - now) * 1000;
        } else if ((code && strcmp(code, "internal_error") == 0) || status >= 500 || status == 0) {
            outcome_set(tc->out, FETCH_RETRY, "TikTok API internal error (HTTP %ld)", status);
            tc->out->retry_after_ms = retry_after;
        } else if (code && strcmp(code, "invalid_params") == 0) {
            tc->invalid_params = true;
            outcome_set(tc->out, FETCH_FAILED, "TikTok rejected the request: %s", *quoted ? quoted : "invalid parameters");
        } else {
            char qc[64];
            outcome_quote(qc, sizeof qc, code ? code : "no error code", 48);
            outcome_set(tc->out, FETCH_FAILED, "TikTok API error %s (HTTP %ld)", qc, status);
        }
        json_decref(j);
        return CALL_DONE;
    }
    return CALL_DONE; /* not reached */
}

static int map_comment(json_t *c, const char *video_id, comment_rec *rec, char id[JF_ID_MAX],
                       char parent[JF_ID_MAX], char when[21]) {
    if (jf_id(json_object_get(c, "id"), id)) return -1;
    *rec = (comment_rec){.comment_id = id, .text = jf_str(c, "text"), .like_count = -1};
    if (jf_id(json_object_get(c, "parent_comment_id"), parent) == 0 && strcmp(parent, video_id) != 0)
        rec->parent_id = parent; /* top-level comments name the video as their parent */
    json_t *t = json_object_get(c, "create_time");
    if (json_is_integer(t) && json_integer_value(t) > 0) {
        format_iso8601(json_integer_value(t), when);
        rec->published_at = when;
    }
    rec->like_count = jf_count(json_object_get(c, "like_count"));
    return 0;
}

typedef struct tt_fetch {
    tt_call call;
    const fetch_request *req;
    comment_batch batch;
    bool stopped; /* outcome already decided (failure, retry, or a note) */
} tt_fetch;

static bool out_of_time(const fetch_request *req) { return req->deadline_ms && now_ms() >= req->deadline_ms; }

/* Pages through the comments under `field`=id (a video's top level, or one comment's replies). */
static int page_through(tt_fetch *f, const char *field, const char *id, bool top_level, cerr *e) {
    int64_t cursor = 0;
    for (int page = 0; page < TT_MAX_PAGES; page++) {
        if (comment_batch_full(&f->batch)) return 0;
        if (out_of_time(f->req)) {
            outcome_set(f->call.out, FETCH_RETRY, "the time budget ran out while fetching TikTok comments");
            f->stopped = true;
            return 0;
        }
        int64_t want = TT_PAGE_MAX;
        if (f->batch.max) {
            int64_t left = f->batch.max - f->batch.delivered - (int64_t)f->batch.n;
            if (left < want) want = left; /* records count against the daily quota: ask for what is needed */
        }
        json_t *j = NULL;
        call_result cr = list_call(&f->call, field, id, cursor, (int)want, &j, e);
        if (cr == CALL_FATAL) return -1;
        if (cr == CALL_DONE) {
            if (top_level && f->call.invalid_params && cursor > 0 && cursor + want > TT_CURSOR_CAP) {
                /* One version of the docs says only the top 1000 comments can be read (UNCONFIRMED): a
                 * request past that is the end of what TikTok gives, not a failure of the post. */
                outcome_set(f->call.out, FETCH_OK, "TikTok returned only the first %lld comments (Research API cap)",
                            (long long)cursor);
            }
            f->stopped = true;
            return 0;
        }
        json_t *data = json_object_get(j, "data");
        json_t *items = json_object_get(data, "comments");
        size_t i;
        json_t *c;
        int rc = 0;
        /* replies are fetched after the whole page, so a page's top-level comments stay together */
        char (*with_replies)[JF_ID_MAX] = NULL;
        size_t nrep = 0;
        if (top_level && f->req->include_replies && json_array_size(items)) {
            with_replies = calloc(json_array_size(items), JF_ID_MAX);
            if (!with_replies) rc = cerr_set(e, CERR_NOMEM, "out of memory");
        }
        json_array_foreach(items, i, c) {
            if (rc) break;
            comment_rec rec;
            char cid[JF_ID_MAX], parent[JF_ID_MAX], when[21];
            if (map_comment(c, f->req->post_id, &rec, cid, parent, when)) continue;
            bool known = idset_has(&f->batch.seen, cid);
            rc = comment_batch_add(&f->batch, &rec, e);
            if (with_replies && !known && jf_count(json_object_get(c, "reply_count")) > 0)
                memcpy(with_replies[nrep++], cid, JF_ID_MAX);
        }
        json_t *jc = json_object_get(data, "cursor");
        bool has_more = json_is_true(json_object_get(data, "has_more"));
        int64_t next = json_is_integer(jc) ? json_integer_value(jc) : -1;
        json_decref(j);
        for (size_t k = 0; !rc && k < nrep && !f->stopped; k++) rc = page_through(f, "comment_id", with_replies[k], false, e);
        free(with_replies);
        if (rc) return -1;
        if (f->stopped || !has_more) return 0;
        if (next <= cursor) {
            /* a cursor that does not move would page forever: keep what came and stop */
            log_warn("tiktok: %s %s: cursor did not advance (%lld), stopping", field, id, (long long)next);
            if (top_level) outcome_set(f->call.out, FETCH_OK, "TikTok repeated a page cursor; stopped early");
            return 0;
        }
        cursor = next;
    }
    log_warn("tiktok: %s %s: page limit %d reached", field, id, TT_MAX_PAGES);
    return 0;
}

static int tt_fetch_post(const source_settings *s, const fetch_request *req, comment_sink sink, void *ud,
                         fetch_outcome *out, cerr *e) {
    outcome_init(out);
    size_t idlen = strlen(req->post_id ? req->post_id : "");
    if (idlen == 0 || idlen > 20 || strspn(req->post_id, "0123456789") != idlen) {
        outcome_set(out, FETCH_FAILED, "not a TikTok video id");
        return 0;
    }
    tiktok_client *own = NULL, *client = req->ctx;
    if (!client && !(client = own = tiktok_client_new())) return cerr_set(e, CERR_NOMEM, "out of memory");
    tt_fetch f = {.call = {.client = client, .s = s, .pol = retry_policy_from(s, req->deadline_ms), .out = out},
                  .req = req};
    comment_batch_init(&f.batch, req->max_comments, sink, ud);
    int rc = page_through(&f, "video_id", req->post_id, true, e);
    if (!rc) rc = comment_batch_flush(&f.batch, e);
    out->delivered = f.batch.delivered;
    if (f.batch.duplicates) log_debug("tiktok: video %s: %lld repeated comments dropped", req->post_id,
                                      (long long)f.batch.duplicates);
    comment_batch_free(&f.batch);
    tiktok_client_free(own);
    return rc;
}

static int tt_check_config(const source_settings *s, platform p, cerr *e) {
    (void)p;
    if (!s->tiktok_client_key || !*s->tiktok_client_key || !s->tiktok_client_secret || !*s->tiktok_client_secret)
        return cerr_set(e, CERR_INVALID,
                        "TikTok credentials are not configured (set TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET)");
    return 0;
}

const source_ops tiktok_source_ops = {
    .name = "tiktok",
    .platform = PLATFORM_TIKTOK,
    .check_config = tt_check_config,
    .fetch = tt_fetch_post,
    .ctx_new = ctx_new,
    .ctx_free = ctx_free,
};

/* youtube.c - comments of one video from the YouTube Data API v3 (platform-apis.md section 2).
 * commentThreads.list (part=snippet) pages through the top-level comments; when replies are asked for,
 * comments.list?parentId= fetches each thread's replies in full (the `replies` part is documented as
 * possibly incomplete). Comments go to the sink a page at a time, each parent before its replies. */
#include "sources/youtube.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sources/fields.h"
#include "sources/retry.h"

#define YT_PAGE_BYTES_MAX (8u << 20) /* one page of 100 comments is well under 1 MiB */
#define YT_PAGES_MAX 20000           /* thread + reply pages per post: 2M comments */
#define YT_TOKEN_MAX 1024
#define YT_URL_MAX 4096

/* One comment copied out of the JSON, with every field already capped. */
typedef struct yt_rec {
    char *id, *parent, *author, *text;
    char published[21];
    bool has_published;
    int64_t likes;
} yt_rec;

typedef struct yt_ctx {
    const fetch_request *req;
    retry_policy pol;
    comment_sink sink;
    void *ud;
    fetch_outcome *out;
    cerr *e;
    char base[POST_URL_MAX];
    char *key;           /* URL-escaped API key */
    yt_rec *batch;
    size_t n, cap;
    int pages;
    char note[160];      /* why an otherwise successful fetch stopped early */
} yt_ctx;

/* What one API call came to. */
enum { CALL_OK = 0, CALL_STOP = 1, CALL_SKIP = 2, CALL_FATAL = -1 };

static void outcome(fetch_outcome *o, fetch_status st, const char *fmt, ...) CH_PRINTF(3, 4);
static void outcome(fetch_outcome *o, fetch_status st, const char *fmt, ...) {
    o->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
}

/* ---- quota reset: midnight America/Los_Angeles ---- */

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int year_of(int64_t t) {
    int64_t days = floor_div(t, 86400);
    int y = 1970 + (int)(days / 366);
    while (days_from_civil(y + 1, 1, 1) <= days) y++;
    while (days_from_civil(y, 1, 1) > days) y--;
    return y;
}

/* Day (1..) of the nth Sunday of month m. 1970-01-01 was a Thursday. */
static int nth_sunday(int y, int m, int nth) {
    int64_t d1 = days_from_civil(y, m, 1);
    int wd = (int)(((d1 % 7) + 7 + 4) % 7); /* 0 = Sunday */
    return 1 + (7 - wd) % 7 + 7 * (nth - 1);
}

/* US rules since 2007: PDT from the second Sunday of March 02:00 PST to the first Sunday of November
 * 02:00 PDT. */
static bool pacific_dst(int64_t t) {
    int y = year_of(t);
    int64_t start = days_from_civil(y, 3, nth_sunday(y, 3, 2)) * 86400 + 10 * 3600;
    int64_t end = days_from_civil(y, 11, nth_sunday(y, 11, 1)) * 86400 + 9 * 3600;
    return t >= start && t < end;
}

int64_t youtube_quota_reset_unix(int64_t now) {
    int64_t local = now - (pacific_dst(now) ? 7 : 8) * 3600;
    int64_t midnight_local = (floor_div(local, 86400) + 1) * 86400;
    /* midnight is never inside a DST switch hour, so exactly one offset gives a consistent instant */
    int64_t as_pst = midnight_local + 8 * 3600;
    return pacific_dst(as_pst) ? midnight_local + 7 * 3600 : as_pst;
}

/* ---- batch of records ---- */

static void rec_free(yt_rec *r) {
    free(r->id);
    free(r->parent);
    free(r->author);
    free(r->text);
}

static void batch_clear(yt_ctx *c) {
    for (size_t i = 0; i < c->n; i++) rec_free(&c->batch[i]);
    c->n = 0;
}

static int64_t room(const yt_ctx *c) {
    int64_t used = c->out->delivered + (int64_t)c->n;
    return c->req->max_comments > 0 ? c->req->max_comments - used : INT64_MAX;
}

static int flush(yt_ctx *c) {
    if (c->n == 0) return 0;
    comment_rec *recs = calloc(c->n, sizeof *recs);
    if (!recs) return cerr_set(c->e, CERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const yt_rec *r = &c->batch[i];
        recs[i] = (comment_rec){.comment_id = r->id, .parent_id = r->parent, .author = r->author, .text = r->text,
                                .published_at = r->has_published ? r->published : NULL, .like_count = r->likes};
    }
    int rc = c->sink(c->ud, recs, c->n);
    free(recs);
    size_t n = c->n;
    batch_clear(c);
    if (rc != 0) return cerr_set(c->e, CERR_INTERNAL, "the comment sink stopped the fetch");
    c->out->delivered += (int64_t)n;
    return 0;
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Adds the comment resource `cm` (kind youtube#comment); items without a usable id are skipped. */
static int add_comment(yt_ctx *c, json_t *cm, const char *parent) {
    const char *id = jstr(cm, "id");
    if (!id || !*id || strlen(id) > COMMENT_FIELD_MAX) {
        log_warn("youtube: skipping a comment without a usable id");
        return 0;
    }
    json_t *sn = json_object_get(cm, "snippet");
    const char *text = jstr(sn, "textOriginal");
    if (!text) text = jstr(sn, "textDisplay");
    const char *p = jstr(sn, "parentId");
    if (p && *p) parent = p;
    json_t *likes = json_object_get(sn, "likeCount");

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 128;
        yt_rec *b = realloc(c->batch, cap * sizeof *b);
        if (!b) return cerr_set(c->e, CERR_NOMEM, "out of memory");
        c->batch = b;
        c->cap = cap;
    }
    yt_rec *r = &c->batch[c->n];
    memset(r, 0, sizeof *r);
    r->id = field_dup(id, COMMENT_FIELD_MAX);
    r->parent = parent ? field_dup(parent, COMMENT_FIELD_MAX) : NULL;
    r->author = field_dup(jstr(sn, "authorDisplayName"), COMMENT_FIELD_MAX);
    r->text = field_dup(text ? text : "", COMMENT_TEXT_MAX);
    r->has_published = field_timestamp(jstr(sn, "publishedAt"), r->published);
    r->likes = json_is_integer(likes) && json_integer_value(likes) >= 0 ? json_integer_value(likes) : -1;
    if (!r->id || !r->text || (parent && !r->parent) || (jstr(sn, "authorDisplayName") && !r->author)) {
        rec_free(r);
        return cerr_set(c->e, CERR_NOMEM, "out of memory");
    }
    c->n++;
    return 0;
}

/* ---- one API call and its error mapping ---- */

/* Copies an upstream reason token, keeping only characters that can be shown as they are. */
static void token_copy(char *dst, size_t cap, const char *src) {
    size_t j = 0;
    for (; src && *src && j + 1 < cap; src++) {
        char ch = *src;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')
            dst[j++] = ch;
    }
    dst[j] = '\0';
}

/* Reads the Google error envelope: errors[0].reason, and whether any detail says API_KEY_INVALID. */
static void error_reason(json_t *doc, char *reason, size_t cap, bool *key_invalid) {
    reason[0] = '\0';
    *key_invalid = false;
    json_t *err = json_object_get(doc, "error");
    json_t *errs = json_object_get(err, "errors");
    json_t *first = json_array_get(errs, 0);
    token_copy(reason, cap, jstr(first, "reason"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(err, "details"), i, d) {
        const char *r = jstr(d, "reason");
        if (r && strcmp(r, "API_KEY_INVALID") == 0) *key_invalid = true;
    }
    json_array_foreach(errs, i, d) {
        const char *r = jstr(d, "reason");
        if (r && strcmp(r, "keyInvalid") == 0) *key_invalid = true;
    }
}

static int map_error(yt_ctx *c, long status, json_t *doc, int64_t retry_after_ms, int attempts, bool replies) {
    fetch_outcome *o = c->out;
    char reason[64];
    bool key_invalid;
    error_reason(doc, reason, sizeof reason, &key_invalid);
    if (key_invalid) {
        outcome(o, FETCH_FAILED, "YouTube API key is invalid");
    } else if (strcmp(reason, "commentsDisabled") == 0) {
        outcome(o, FETCH_FAILED, "comments are disabled for this video");
    } else if (strcmp(reason, "videoNotFound") == 0) {
        outcome(o, FETCH_FAILED, "video not found");
    } else if (replies && (status == 404 || strcmp(reason, "commentNotFound") == 0 ||
                           strcmp(reason, "parentNotFound") == 0)) {
        return CALL_SKIP; /* the thread was deleted between the two calls: its replies are gone too */
    } else if (strcmp(reason, "quotaExceeded") == 0 || strcmp(reason, "dailyLimitExceeded") == 0) {
        outcome(o, FETCH_RETRY, "YouTube API quota exceeded");
        o->quota = true;
        int64_t now = now_unix();
        o->retry_after_ms = (youtube_quota_reset_unix(now) - now) * 1000;
    } else if (strcmp(reason, "rateLimitExceeded") == 0 || strcmp(reason, "userRateLimitExceeded") == 0 ||
               retry_status_is_transient(status)) {
        if (retry_status_is_transient(status))
            outcome(o, FETCH_RETRY, "YouTube API unavailable (HTTP %ld) after %d attempt(s)", status, attempts);
        else
            outcome(o, FETCH_RETRY, "YouTube API rate limit reached");
        o->retry_after_ms = retry_after_ms;
    } else if (strcmp(reason, "forbidden") == 0) {
        outcome(o, FETCH_FAILED, "the comments of this video cannot be retrieved (insufficient permissions)");
    } else if (strcmp(reason, "invalidPageToken") == 0) {
        outcome(o, FETCH_RETRY, "YouTube rejected a page token; the fetch will start over");
    } else if (status == 401 || strcmp(reason, "authError") == 0) {
        outcome(o, FETCH_FAILED, "YouTube API rejected the credentials");
    } else if (status == 404) {
        outcome(o, FETCH_FAILED, "video not found");
    } else {
        outcome(o, FETCH_FAILED, "YouTube API error (HTTP %ld%s%s)", status, reason[0] ? ": " : "", reason);
    }
    return CALL_STOP;
}

/* GET base/endpoint?params&key=..; on 200 *doc is the parsed body. */
static int api_get(yt_ctx *c, const char *endpoint, const char *params, bool replies, json_t **doc) {
    *doc = NULL;
    char url[YT_URL_MAX];
    if (sbprintf(url, sizeof url, "%s/%s?%s&key=%s", c->base, endpoint, params, c->key))
        return cerr_set(c->e, CERR_INTERNAL, "YouTube request URL too long");
    if (++c->pages > YT_PAGES_MAX) {
        snprintf(c->note, sizeof c->note, "stopped after %d pages", YT_PAGES_MAX);
        return CALL_STOP;
    }
    http_request rq = {.method = "GET", .url = url, .max_body = YT_PAGE_BYTES_MAX,
                       .headers = {"Accept: application/json"}};
    http_response r;
    http_response_init(&r);
    retry_stats st;
    cerr he = {0};
    int rc = retry_http(&c->pol, &rq, &r, &st, &he);
    memset(url, 0, sizeof url); /* holds the key */
    if (rc != 0) {
        http_response_free(&r);
        if (he.code == CERR_TOOBIG) {
            outcome(c->out, FETCH_FAILED, "YouTube API response larger than %u MiB", YT_PAGE_BYTES_MAX >> 20);
            return CALL_STOP;
        }
        if (he.code == CERR_NOMEM) return cerr_set(c->e, CERR_NOMEM, "out of memory");
        if (st.deadline_hit)
            outcome(c->out, FETCH_RETRY, "time limit for this post reached while fetching comments");
        else
            outcome(c->out, FETCH_RETRY, "could not reach the YouTube API: %s", he.msg);
        return CALL_STOP;
    }
    json_error_t je;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, &je);
    if (r.status == 200 && json_is_object(j)) {
        *doc = j;
        http_response_free(&r);
        return CALL_OK;
    }
    int out;
    if (r.status == 200) {
        outcome(c->out, FETCH_RETRY, "YouTube API sent an unreadable response");
        out = CALL_STOP;
    } else {
        out = map_error(c, r.status, j, r.retry_after_ms, st.attempts, replies);
        if (out == CALL_STOP && st.deadline_hit && c->out->status == FETCH_RETRY)
            outcome(c->out, FETCH_RETRY, "time limit for this post reached while the YouTube API was failing");
    }
    json_decref(j);
    http_response_free(&r);
    return out;
}

/* ---- paging ---- */

typedef struct seen_tokens {
    char **v;
    size_t n, cap;
} seen_tokens;

static void seen_free(seen_tokens *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* 1 when tok was seen before (a paging loop), 0 after remembering it, -1 out of memory. */
static int seen_check(seen_tokens *s, const char *tok) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], tok) == 0) return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(tok))) return -1;
    s->n++;
    return 0;
}

/* Next page token of doc, validated; NULL on the last page. Sets *bad when it cannot be used. */
static char *next_token(json_t *doc, bool *bad) {
    *bad = false;
    const char *t = jstr(doc, "nextPageToken");
    if (!t || !*t) return NULL;
    if (strlen(t) > YT_TOKEN_MAX) {
        *bad = true;
        return NULL;
    }
    return http_escape(t);
}

static int page_size(const yt_ctx *c) {
    int64_t r = room(c);
    return r < 100 ? (int)(r < 1 ? 1 : r) : 100;
}

static int fetch_replies(yt_ctx *c, const char *parent_id) {
    char *pid = http_escape(parent_id);
    if (!pid) return cerr_set(c->e, CERR_NOMEM, "out of memory");
    seen_tokens seen = {0};
    char *token = NULL;
    int rc = CALL_OK;
    while (room(c) > 0) {
        char params[YT_TOKEN_MAX * 3 + 1024];
        if (sbprintf(params, sizeof params, "part=snippet&parentId=%s&maxResults=%d&textFormat=plainText%s%s", pid,
                     page_size(c), token ? "&pageToken=" : "", token ? token : "")) {
            rc = cerr_set(c->e, CERR_INTERNAL, "YouTube request too long");
            break;
        }
        json_t *doc;
        rc = api_get(c, "comments", params, true, &doc);
        if (rc == CALL_SKIP) {
            rc = CALL_OK;
            break;
        }
        if (rc != CALL_OK) break;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(doc, "items"), i, it) {
            if (room(c) <= 0) break;
            if ((rc = add_comment(c, it, parent_id)) != 0) break;
        }
        bool bad;
        free(token);
        token = rc == CALL_OK ? next_token(doc, &bad) : NULL;
        json_decref(doc);
        if (rc == CALL_OK) rc = flush(c);
        if (rc != CALL_OK || !token) break;
        int s = seen_check(&seen, token);
        if (s < 0) {
            rc = cerr_set(c->e, CERR_NOMEM, "out of memory");
            break;
        }
        if (s > 0) {
            snprintf(c->note, sizeof c->note, "YouTube repeated a page token of the replies; some replies may be missing");
            break;
        }
    }
    free(token);
    free(pid);
    seen_free(&seen);
    return rc;
}

static int fetch_threads(yt_ctx *c, const char *video_id, bool *complete, int64_t *threads, int64_t *replies_reported,
                         int64_t *first_total) {
    char *vid = http_escape(video_id);
    if (!vid) return cerr_set(c->e, CERR_NOMEM, "out of memory");
    seen_tokens seen = {0};
    char *token = NULL;
    int rc = CALL_OK;
    *complete = false;
    for (int page = 0; room(c) > 0; page++) {
        char params[YT_TOKEN_MAX * 3 + 1024];
        if (sbprintf(params, sizeof params, "part=snippet&videoId=%s&maxResults=%d&textFormat=plainText%s%s", vid,
                     page_size(c), token ? "&pageToken=" : "", token ? token : "")) {
            rc = cerr_set(c->e, CERR_INTERNAL, "YouTube request too long");
            break;
        }
        json_t *doc;
        if ((rc = api_get(c, "commentThreads", params, false, &doc)) != CALL_OK) break;
        json_t *items = json_object_get(doc, "items");
        if (!json_is_array(items)) {
            json_decref(doc);
            outcome(c->out, FETCH_RETRY, "YouTube API sent an unreadable response");
            rc = CALL_STOP;
            break;
        }
        if (page == 0) {
            json_t *tr = json_object_get(json_object_get(doc, "pageInfo"), "totalResults");
            /* YouTube reports the page's own count here; it is a total only when larger than the page */
            if (json_is_integer(tr) && json_integer_value(tr) > (json_int_t)json_array_size(items))
                *first_total = json_integer_value(tr);
        }
        size_t i;
        json_t *it;
        bool stopped = false;
        json_array_foreach(items, i, it) {
            if (room(c) <= 0) {
                stopped = true;
                break;
            }
            json_t *sn = json_object_get(it, "snippet");
            json_t *top = json_object_get(sn, "topLevelComment");
            const char *tid = jstr(top, "id");
            if (!tid || !*tid || strlen(tid) > COMMENT_FIELD_MAX) {
                log_warn("youtube: skipping a comment thread without a usable id");
                continue;
            }
            if ((rc = add_comment(c, top, NULL)) != 0) break;
            (*threads)++;
            json_t *trc = json_object_get(sn, "totalReplyCount");
            int64_t nrep = json_is_integer(trc) && json_integer_value(trc) > 0 ? json_integer_value(trc) : 0;
            *replies_reported += nrep;
            if (c->req->include_replies && nrep > 0 && room(c) > 0) {
                if ((rc = flush(c)) != 0) break;
                if ((rc = fetch_replies(c, tid)) != CALL_OK) break;
            }
        }
        bool bad = false;
        free(token);
        token = rc == CALL_OK ? next_token(doc, &bad) : NULL;
        json_decref(doc);
        if (rc == CALL_OK) rc = flush(c);
        if (rc != CALL_OK || stopped) break;
        if (bad) {
            snprintf(c->note, sizeof c->note, "YouTube sent an unusable page token; stopped early");
            break;
        }
        if (!token) {
            *complete = true;
            break;
        }
        int s = seen_check(&seen, token);
        if (s < 0) {
            rc = cerr_set(c->e, CERR_NOMEM, "out of memory");
            break;
        }
        if (s > 0) {
            snprintf(c->note, sizeof c->note, "YouTube repeated a page token; stopped after %lld comments",
                     (long long)c->out->delivered);
            break;
        }
    }
    free(token);
    free(vid);
    seen_free(&seen);
    return rc;
}

static int yt_fetch(const source_settings *s, const fetch_request *req, comment_sink sink, void *ud,
                    fetch_outcome *out, cerr *e) {
    memset(out, 0, sizeof *out);
    out->status = FETCH_OK;
    out->expected_count = -1;
    out->retry_after_ms = -1;
    if (!s->youtube_api_key || !*s->youtube_api_key) {
        outcome(out, FETCH_FAILED, "YouTube API key is not configured");
        return 0;
    }
    if (!req->post_id || strlen(req->post_id) != 11 || strspn(req->post_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != 11) {
        outcome(out, FETCH_FAILED, "not a YouTube video id");
        return 0;
    }
    yt_ctx c = {.req = req, .pol = retry_policy_from(s, req->deadline_ms), .sink = sink, .ud = ud, .out = out, .e = e};
    const char *base = s->youtube_api_url && *s->youtube_api_url ? s->youtube_api_url : YOUTUBE_API_URL_DEFAULT;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') bl--;
    if (bl >= sizeof c.base) {
        outcome(out, FETCH_FAILED, "YouTube API URL is too long");
        return 0;
    }
    memcpy(c.base, base, bl);
    c.base[bl] = '\0';
    if (!(c.key = http_escape(s->youtube_api_key))) return cerr_set(e, CERR_NOMEM, "out of memory");

    bool complete = false;
    int64_t threads = 0, replies = 0, first_total = -1;
    int rc = fetch_threads(&c, req->post_id, &complete, &threads, &replies, &first_total);
    batch_clear(&c);
    free(c.batch);
    size_t kl = strlen(c.key);
    memset(c.key, 0, kl);
    free(c.key);
    if (rc == CALL_FATAL) return -1;
    if (complete) out->expected_count = threads + (req->include_replies ? replies : 0);
    else if (first_total >= 0) out->expected_count = first_total;
    if (out->status == FETCH_OK && c.note[0]) snprintf(out->reason, sizeof out->reason, "%s", c.note);
    return 0;
}

static int yt_check_config(const source_settings *s, platform p, cerr *e) {
    (void)p;
    if (!s || !s->youtube_api_key || !*s->youtube_api_key)
        return cerr_set(e, CERR_INVALID, "YouTube API key is not configured (set YOUTUBE_API_KEY or YOUTUBE_API_KEY_FILE)");
    return 0;
}

const source_ops youtube_source_ops = {
    .name = "youtube",
    .platform = PLATFORM_YOUTUBE,
    .check_config = yt_check_config,
    .fetch = yt_fetch,
};

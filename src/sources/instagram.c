/* instagram.c - comments through the Instagram Graph API (platform-apis.md section 4).
 *
 * A link names a post by shortcode; the Graph API wants the IG Media id, which only the owning business
 * account's media listing reveals (section 4.2). The instagram_client (the source's ctx, one per process)
 * caches shortcode -> media id under a mutex and lists the account again only when a shortcode is missing
 * and the last listing is older than IG_RELIST_MS, so a burst of foreign links cannot hammer the API.
 * Paging follows paging.cursors.after while paging.next is present; we build the next URL ourselves
 * rather than fetch paging.next, so a response can never steer the token to another host. */
#include "sources/instagram.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sources/comment_batch.h"
#include "sources/fields.h"
#include "sources/json_fields.h"
#include "sources/outcome.h"
#include "sources/retry.h"

#define IG_DEFAULT_URL "https://graph.facebook.com/v19.0"
#define IG_COMMENT_FIELDS "id,text,timestamp,username,like_count"
#define IG_REPLY_FIELDS "id,text,timestamp,username,like_count,parent_id"
#define IG_PAGE_LIMIT 50
#define IG_MEDIA_PAGE_LIMIT 100
#define IG_MAX_PAGES 2000        /* comment pages per post: bounds a server that never ends */
#define IG_MEDIA_MAX_PAGES 200   /* listing pages: 20,000 media */
#define IG_RELIST_MS 60000
#define IG_SHORTCODE_MAX 64
#define IG_URL_MAX 4096
/* How long Instagram is paused after throttling when the usage headers name no time: Graph's rolling
 * windows are an hour for app limits and a day for BUC limits; an hour is the shorter guess, and a post
 * that meets the throttle again just pauses the source again. */
#define IG_THROTTLE_WAIT_MS (60 * 60 * 1000)
#define IG_REGAIN_MAX_MIN (7 * 24 * 60) /* cap on a header's estimate: a week */

typedef struct media_entry {
    char shortcode[IG_SHORTCODE_MAX];
    char id[JF_ID_MAX];
} media_entry;

struct instagram_client {
    pthread_mutex_t mu;
    media_entry *map;
    size_t n;
    int64_t listed_at_ms; /* 0 = never listed */
    int64_t listings;
};

instagram_client *instagram_client_new(void) {
    instagram_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void instagram_client_free(instagram_client *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    free(c->map);
    free(c);
}

int64_t instagram_client_listings(instagram_client *c) {
    pthread_mutex_lock(&c->mu);
    int64_t n = c->listings;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void *ctx_new(const source_settings *s, cerr *e) {
    (void)s;
    instagram_client *c = instagram_client_new();
    if (!c) cerr_set(e, CERR_NOMEM, "out of memory");
    return c;
}

static void ctx_free(void *ctx) { instagram_client_free(ctx); }

typedef enum call_result { CALL_OK = 0, CALL_DONE = 1, CALL_FATAL = -1 } call_result;

typedef struct ig_call {
    const source_settings *s;
    retry_policy pol;
    fetch_outcome *out;
    uint64_t rng;
    const char *what; /* "post" or "account", for reasons */
} ig_call;

static const char *base_url(const source_settings *s) {
    return s->instagram_api_url && *s->instagram_api_url ? s->instagram_api_url : IG_DEFAULT_URL;
}

/* {base}/{node}/{edge}?fields=..&limit=..&access_token=..[&after=..], every value escaped. */
static int edge_url(const source_settings *s, buf *u, const char *node, const char *edge, const char *fields,
                    int limit, const char *after, cerr *e) {
    const char *b = base_url(s);
    size_t bl = strlen(b);
    while (bl && b[bl - 1] == '/') bl--;
    char *f = http_escape(fields), *tok = http_escape(s->instagram_access_token ? s->instagram_access_token : "");
    char *n = http_escape(node), *a = after ? http_escape(after) : NULL;
    int rc;
    if (!f || !tok || !n || (after && !a)) rc = cerr_set(e, CERR_NOMEM, "out of memory");
    else rc = buf_printf(u, e, "%.*s/%s/%s?fields=%s&limit=%d&access_token=%s%s%s", (int)bl, b, n, edge, f, limit,
                         tok, a ? "&after=" : "", a ? a : "");
    if (tok) memset(tok, 0, strlen(tok));
    free(f);
    free(tok);
    free(n);
    free(a);
    return rc;
}

/* App / user / page / custom throttling, and the Instagram-specific one seen in community reports (80002,
 * UNCONFIRMED). Throttling ends the fetch with fetch_outcome.quota: the whole source waits, because the
 * limits are per app and per account, not per post. */
static bool throttled(json_int_t code) {
    return code == 4 || code == 17 || code == 32 || code == 613 || code == 80002;
}

static int64_t regain_of(json_t *entry, int64_t best) {
    json_t *v = json_object_get(entry, "estimated_time_to_regain_access");
    if (json_is_integer(v) && json_integer_value(v) > best) return json_integer_value(v);
    return best;
}

int64_t instagram_regain_minutes(const char *buc, const char *app) {
    int64_t best = -1;
    json_t *j = buc && *buc ? json_loads(buc, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    /* {"<business id>": [{"type": "instagram", "call_count": 100, ..., "estimated_time_to_regain_access": 17}]} */
    json_object_foreach(j, k, v) {
        size_t i;
        json_t *entry;
        if (json_is_object(v)) best = regain_of(v, best);
        json_array_foreach(v, i, entry) best = regain_of(entry, best);
    }
    json_decref(j);
    j = app && *app ? json_loads(app, 0, NULL) : NULL;
    best = regain_of(j, best);
    json_decref(j);
    return best > IG_REGAIN_MAX_MIN ? IG_REGAIN_MAX_MIN : best;
}

/* One GET with the Graph error rules. Throttling and transient codes are retried here (Graph sends them
 * as HTTP 400, which retry_http leaves alone); on CALL_OK *out_json is the parsed body. */
static call_result graph_get(ig_call *c, const char *url, json_t **out_json, cerr *e) {
    for (int attempt = 0;; attempt++) {
        http_request req = {.url = url, .headers = {"Accept: application/json"}};
        http_response r;
        http_response_init(&r);
        r.want_header = "X-App-Usage";
        r.want_header2 = "X-Business-Use-Case-Usage";
        cerr he = {0};
        if (retry_http(&c->pol, &req, &r, NULL, &he)) {
            http_response_free(&r);
            if (he.code == CERR_NOMEM) {
                *e = he;
                return CALL_FATAL;
            }
            outcome_set(c->out, FETCH_RETRY, "Instagram API unreachable: %s", he.msg);
            return CALL_DONE;
        }
        json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
        long status = r.status;
        json_t *err = json_object_get(j, "error");
        if (status == 200 && j && !err) {
            http_response_free(&r);
            *out_json = j;
            return CALL_OK;
        }
        json_int_t code = json_integer_value(json_object_get(err, "code"));
        int64_t regain = throttled(code) ? instagram_regain_minutes(r.header_value2, r.header_value) : -1;
        http_response_free(&r);
        char msg[160];
        outcome_quote(msg, sizeof msg, jf_str(err, "message"), 150);
        json_decref(j);
        bool transient = code == 1 || code == 2 || (!err && (status == 429 || status >= 500 || status == 0));
        /* a throttle with a named regain time lasts minutes: trying again within this request is pointless */
        if (((throttled(code) && regain <= 0) || transient) && attempt < c->pol.max_retries) {
            int64_t wait = retry_backoff_ms(attempt, c->pol.base_ms, c->pol.max_ms, &c->rng);
            if (!c->pol.deadline_ms || now_ms() + wait < c->pol.deadline_ms) {
                log_info("instagram: code %lld (HTTP %ld), retrying in %lld ms", (long long)code, status, (long long)wait);
                sleep_ms(wait);
                continue;
            }
        }
        if (code == 190) {
            outcome_set(c->out, FETCH_FAILED, "Instagram access token is invalid or expired");
        } else if (throttled(code)) {
            outcome_set(c->out, FETCH_RETRY, "Instagram API rate limit reached (code %lld)", (long long)code);
            c->out->quota = true;
            c->out->retry_after_ms = regain > 0 ? regain * 60 * 1000 : IG_THROTTLE_WAIT_MS;
        } else if (transient) {
            outcome_set(c->out, FETCH_RETRY, "Instagram API temporarily unavailable (code %lld, HTTP %ld)",
                        (long long)code, status);
        } else if (code == 100) {
            if (strcmp(c->what, "account") == 0)
                outcome_set(c->out, FETCH_FAILED, "the configured Instagram account cannot be read (code 100)");
            else
                outcome_set(c->out, FETCH_FAILED, "Instagram post does not exist or cannot be loaded (code 100)");
        } else if (code == 10 || (code >= 200 && code <= 299)) {
            outcome_set(c->out, FETCH_FAILED, "Instagram permission missing (code %lld): %s", (long long)code, msg);
        } else {
            outcome_set(c->out, FETCH_FAILED, "Instagram API error (code %lld, HTTP %ld): %s", (long long)code,
                        status, msg);
        }
        return CALL_DONE;
    }
}

/* The shortcode in a permalink such as https://www.instagram.com/reel/SC/ (used when the listing
 * leaves out the shortcode field). */
static bool permalink_shortcode(const char *permalink, char out[IG_SHORTCODE_MAX]) {
    static const char *const kinds[] = {"/p/", "/reel/", "/reels/", "/tv/"};
    for (size_t k = 0; permalink && k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *p = strstr(permalink, kinds[k]);
        if (!p) continue;
        p += strlen(kinds[k]);
        size_t n = strcspn(p, "/?#");
        if (n == 0 || n >= IG_SHORTCODE_MAX) return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

/* Lists the whole account into a fresh map. Called with the client locked. */
static call_result list_account_locked(instagram_client *cl, ig_call *c, cerr *e) {
    media_entry *map = NULL;
    size_t n = 0, cap = 0;
    char *after = NULL;
    call_result res = CALL_OK;
    const char *account = c->s->instagram_account_id;
    for (int page = 0; page < IG_MEDIA_MAX_PAGES; page++) {
        buf u;
        buf_init(&u, IG_URL_MAX);
        json_t *j = NULL;
        if (edge_url(c->s, &u, account, "media", "id,shortcode,permalink", IG_MEDIA_PAGE_LIMIT, after, e)) {
            buf_free(&u);
            res = CALL_FATAL;
            break;
        }
        res = graph_get(c, u.data, &j, e);
        memset(u.data, 0, u.len); /* holds the token */
        buf_free(&u);
        if (res != CALL_OK) break;
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(j, "data"), i, m) {
            media_entry me;
            memset(&me, 0, sizeof me);
            const char *sc = jf_str(m, "shortcode");
            if (jf_id(json_object_get(m, "id"), me.id)) continue;
            if (sc && strlen(sc) < IG_SHORTCODE_MAX) memcpy(me.shortcode, sc, strlen(sc) + 1);
            else if (!permalink_shortcode(jf_str(m, "permalink"), me.shortcode)) continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                media_entry *nm = realloc(map, ncap * sizeof *nm);
                if (!nm) {
                    res = cerr_set(e, CERR_NOMEM, "out of memory");
                    break;
                }
                map = nm;
                cap = ncap;
            }
            map[n++] = me;
        }
        json_t *paging = json_object_get(j, "paging");
        const char *next_after = jf_str(json_object_get(paging, "cursors"), "after");
        bool more = json_object_get(paging, "next") && next_after && *next_after &&
                    !(after && strcmp(after, next_after) == 0);
        free(after);
        after = more ? xstrdup(next_after) : NULL;
        json_decref(j);
        if (res != CALL_OK || !after) break;
    }
    free(after);
    if (res == CALL_OK) {
        free(cl->map);
        cl->map = map;
        cl->n = n;
        cl->listed_at_ms = now_ms();
        cl->listings++;
        log_debug("instagram: account lists %zu media", n);
    } else {
        free(map);
    }
    return res;
}

static bool find_locked(const instagram_client *cl, const char *sc, char id[JF_ID_MAX]) {
    for (size_t i = 0; i < cl->n; i++)
        if (strcmp(cl->map[i].shortcode, sc) == 0) {
            memcpy(id, cl->map[i].id, JF_ID_MAX);
            return true;
        }
    return false;
}

static call_result media_id_for(instagram_client *cl, ig_call *c, const char *sc, char id[JF_ID_MAX], cerr *e) {
    pthread_mutex_lock(&cl->mu);
    call_result res = CALL_OK;
    bool found = find_locked(cl, sc, id);
    if (!found && (!cl->listed_at_ms || now_ms() - cl->listed_at_ms >= IG_RELIST_MS)) {
        c->what = "account";
        res = list_account_locked(cl, c, e);
        c->what = "post";
        if (res == CALL_OK) found = find_locked(cl, sc, id);
    }
    pthread_mutex_unlock(&cl->mu);
    if (res == CALL_OK && !found) {
        outcome_set(c->out, FETCH_FAILED, "not owned by the configured Instagram account (the Graph API only "
                                          "reads the account's own posts; use the Apify provider for others)");
        return CALL_DONE;
    }
    return res;
}

typedef struct ig_fetch {
    ig_call call;
    const fetch_request *req;
    comment_batch batch;
    bool stopped;
} ig_fetch;

static int add_comment(ig_fetch *f, json_t *c, const char *parent, cerr *e) {
    char id[JF_ID_MAX], pid[JF_ID_MAX], when[21];
    if (jf_id(json_object_get(c, "id"), id)) return 0;
    comment_rec rec = {.comment_id = id, .parent_id = parent, .author = jf_str(c, "username"),
                       .text = jf_str(c, "text"), .like_count = jf_count(json_object_get(c, "like_count"))};
    if (!parent && jf_id(json_object_get(c, "parent_id"), pid) == 0) rec.parent_id = pid;
    if (field_timestamp(jf_str(c, "timestamp"), when)) rec.published_at = when;
    return comment_batch_add(&f->batch, &rec, e);
}

/* Pages an edge: the media's comments (parent NULL) or one comment's replies (edge "replies"). `after`
 * starts the walk mid-way (replies already partly delivered by the field expansion). */
static int page_edge(ig_fetch *f, const char *node, const char *edge, const char *after0, cerr *e) {
    bool top = strcmp(edge, "comments") == 0;
    const char *fields = !top ? IG_REPLY_FIELDS
                         : f->req->include_replies ? IG_COMMENT_FIELDS ",replies{" IG_REPLY_FIELDS "}"
                                                   : IG_COMMENT_FIELDS;
    char *after = xstrdup(after0);
    idset cursors;
    idset_init(&cursors);
    int rc = 0;
    for (int page = 0; page < IG_MAX_PAGES && !rc; page++) {
        if (comment_batch_full(&f->batch)) break;
        if (f->req->deadline_ms && now_ms() >= f->req->deadline_ms) {
            outcome_set(f->call.out, FETCH_RETRY, "the time budget ran out while fetching Instagram comments");
            f->stopped = true;
            break;
        }
        buf u;
        buf_init(&u, IG_URL_MAX);
        json_t *j = NULL;
        if (edge_url(f->call.s, &u, node, edge, fields, IG_PAGE_LIMIT, after, e)) {
            buf_free(&u);
            rc = -1;
            break;
        }
        call_result cr = graph_get(&f->call, u.data, &j, e);
        memset(u.data, 0, u.len);
        buf_free(&u);
        if (cr == CALL_FATAL) {
            rc = -1;
            break;
        }
        if (cr == CALL_DONE) {
            f->stopped = true;
            break;
        }
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(j, "data"), i, c) {
            if (rc) break;
            char cid[JF_ID_MAX];
            bool known = jf_id(json_object_get(c, "id"), cid) == 0 && idset_has(&f->batch.seen, cid);
            rc = add_comment(f, c, top ? NULL : node, e);
            if (rc || !top || !f->req->include_replies || known || jf_id(json_object_get(c, "id"), cid)) continue;
            json_t *reps = json_object_get(c, "replies");
            size_t k;
            json_t *r;
            json_array_foreach(json_object_get(reps, "data"), k, r) {
                if ((rc = add_comment(f, r, cid, e))) break;
            }
            json_t *rp = json_object_get(reps, "paging");
            const char *rafter = jf_str(json_object_get(rp, "cursors"), "after");
            if (!rc && json_object_get(rp, "next") && rafter && !comment_batch_full(&f->batch))
                rc = page_edge(f, cid, "replies", rafter, e);
            if (f->stopped) break;
        }
        json_t *paging = json_object_get(j, "paging");
        const char *next_after = jf_str(json_object_get(paging, "cursors"), "after");
        bool more = json_object_get(paging, "next") && next_after && *next_after;
        bool repeated = false;
        if (!rc && more) {
            bool added;
            rc = idset_add(&cursors, next_after, &added, e);
            repeated = !added;
        }
        free(after);
        after = (!rc && more && !repeated) ? xstrdup(next_after) : NULL;
        json_decref(j);
        if (repeated) {
            log_warn("instagram: %s/%s: paging cursor repeated, stopping", node, edge);
            if (top) outcome_set(f->call.out, FETCH_OK, "Instagram repeated a paging cursor; stopped early");
        }
        if (rc || f->stopped || !after) break;
    }
    free(after);
    idset_free(&cursors);
    return rc;
}

/* The media's comments_count (top-level comments and replies together), or -1. A failure here only
 * loses the count: the comments call that follows reports the error properly. */
static int64_t media_comment_count(ig_fetch *f, const char *media, cerr *e) {
    const char *b = base_url(f->call.s);
    size_t bl = strlen(b);
    while (bl && b[bl - 1] == '/') bl--;
    char *tok = http_escape(f->call.s->instagram_access_token);
    if (!tok) return -1;
    buf u;
    buf_init(&u, IG_URL_MAX);
    int64_t n = -1;
    if (buf_printf(&u, e, "%.*s/%s?fields=comments_count&access_token=%s", (int)bl, b, media, tok) == 0) {
        fetch_outcome saved = *f->call.out;
        json_t *j = NULL;
        if (graph_get(&f->call, u.data, &j, e) == CALL_OK) n = jf_count(json_object_get(j, "comments_count"));
        json_decref(j);
        *f->call.out = saved;
        memset(u.data, 0, u.len);
    }
    memset(tok, 0, strlen(tok));
    free(tok);
    buf_free(&u);
    return n;
}

static int ig_fetch_post(const source_settings *s, const fetch_request *req, comment_sink sink, void *ud,
                         fetch_outcome *out, cerr *e) {
    outcome_init(out);
    if (!req->post_id || !*req->post_id || strlen(req->post_id) >= IG_SHORTCODE_MAX) {
        outcome_set(out, FETCH_FAILED, "not an Instagram shortcode");
        return 0;
    }
    if (!s->instagram_access_token || !*s->instagram_access_token || !s->instagram_account_id ||
        !*s->instagram_account_id) {
        outcome_set(out, FETCH_FAILED, "Instagram is not configured (INSTAGRAM_ACCESS_TOKEN, INSTAGRAM_ACCOUNT_ID)");
        return 0;
    }
    instagram_client *own = NULL, *client = req->ctx;
    if (!client && !(client = own = instagram_client_new())) return cerr_set(e, CERR_NOMEM, "out of memory");
    ig_fetch f = {.call = {.s = s, .pol = retry_policy_from(s, req->deadline_ms), .out = out,
                           .rng = retry_rng_seed(), .what = "post"},
                  .req = req};
    comment_batch_init(&f.batch, req->max_comments, sink, ud);
    char media[JF_ID_MAX];
    int rc = 0;
    call_result cr = media_id_for(client, &f.call, req->post_id, media, e);
    if (cr == CALL_FATAL) rc = -1;
    else if (cr == CALL_OK) {
        /* comments_count includes replies, so it is only comparable with what we fetch when they are asked */
        if (req->include_replies) out->expected_count = media_comment_count(&f, media, e);
        rc = page_edge(&f, media, "comments", NULL, e);
    }
    if (!rc) rc = comment_batch_flush(&f.batch, e);
    out->delivered = f.batch.delivered;
    comment_batch_free(&f.batch);
    instagram_client_free(own);
    return rc;
}

static int ig_check_config(const source_settings *s, platform p, cerr *e) {
    (void)p;
    if (!s->instagram_access_token || !*s->instagram_access_token || !s->instagram_account_id ||
        !*s->instagram_account_id)
        return cerr_set(e, CERR_INVALID, "Instagram is not configured (set INSTAGRAM_ACCESS_TOKEN and "
                                         "INSTAGRAM_ACCOUNT_ID, the business account that owns the posts)");
    return 0;
}

const source_ops instagram_source_ops = {
    .name = "instagram",
    .platform = PLATFORM_INSTAGRAM,
    .check_config = ig_check_config,
    .fetch = ig_fetch_post,
    .ctx_new = ctx_new,
    .ctx_free = ctx_free,
};

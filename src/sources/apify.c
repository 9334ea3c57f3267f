/* apify.c - comments of any platform through Apify actors (platform-apis.md section 5).
 *
 * A run is started asynchronously (POST /v2/acts/{actor}/runs), polled with waitForFinish until it ends
 * or the request's deadline comes (then it is aborted, so it stops costing money), and its default
 * dataset is read a page at a time. The synchronous run-sync endpoint is not used: it gives up after
 * 300 s and loses the run status with a dropped connection.
 *
 * Choices for the UNCONFIRMED parts of the doc: commentsSortBy is not sent (actor default);
 * a YouTube item is a reply when it carries "replyToCid" (the actor documents no reply items); an empty
 * dataset is a per-post failure, because the actors return nothing both for posts without comments and
 * for posts they could not open; max_comments 0 ("all") asks the actor for APIFY_DEFAULT_MAX. A POST that
 * fails with 5xx is retried like any call, which can, rarely, start a second run. */
#include "sources/apify.h"

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

#define APIFY_DEFAULT_URL "https://api.apify.com"
#define APIFY_DEFAULT_MAX 1000          /* comments asked for when the job sets no limit */
#define APIFY_REPLIES_PER_COMMENT 50
#define APIFY_PAGE 1000                 /* dataset items per request */
#define APIFY_MAX_PAGES 1000
#define APIFY_WAIT_S 60                 /* waitForFinish per poll (the API's maximum) */
#define APIFY_NO_DEADLINE_MS (60 * 60 * 1000) /* how long a run may take when the request sets no deadline */
#define APIFY_URL_MAX 2048
#define APIFY_TOKEN_MAX 512
/* Pauses of the apify source when Apify names no time (it sends no reset time for any of these):
 * - usage limit (402, platform-feature-disabled "Monthly usage hard limit exceeded"): the cycle's end is
 *   unknown here; an hour lets a raised limit or a top-up take effect soon, and a still-spent account
 *   costs one refused request per hour;
 * - memory limit (402 actor-memory-limit-exceeded): other runs of the account finish within minutes;
 * - 429 that outlasted the in-request retries: Apify's rate limits are per second, so a minute. */
#define APIFY_QUOTA_WAIT_MS (60 * 60 * 1000)
#define APIFY_MEMORY_WAIT_MS (2 * 60 * 1000)
#define APIFY_RATE_WAIT_MS (60 * 1000)

typedef struct actor_info {
    platform p;
    const char *actor;
} actor_info;

static const actor_info actors[] = {
    {PLATFORM_TIKTOK, "clockworks~tiktok-comments-scraper"},
    {PLATFORM_INSTAGRAM, "apify~instagram-comment-scraper"},
    {PLATFORM_YOUTUBE, "streamers~youtube-comments-scraper"},
};

const char *apify_actor_for(platform p) {
    for (size_t i = 0; i < sizeof actors / sizeof actors[0]; i++)
        if (actors[i].p == p) return actors[i].actor;
    return NULL;
}

typedef enum call_result { CALL_OK = 0, CALL_DONE = 1, CALL_FATAL = -1 } call_result;

/* "Monthly usage hard limit exceeded", "monthly-usage-limit-...": the account's usage cap. */
static bool names_usage_limit(const char *s) { return strcasestr(s, "usage") && strcasestr(s, "limit"); }

typedef struct ap {
    const source_settings *s;
    const fetch_request *req;
    retry_policy pol;
    fetch_outcome *out;
    char auth[APIFY_TOKEN_MAX + 32];
    char base[APIFY_URL_MAX];
    comment_batch batch;
    int64_t items_seen;
    int64_t error_items;
    char first_error[128];
} ap;

/* One API call. On CALL_OK *out_json is the parsed 2xx body; header_value (if non-NULL, 256 bytes) gets
 * the header named by want_header. */
static call_result call(ap *a, const char *method, const char *url, const char *body, const char *want_header,
                        char *header_value, json_t **out_json, cerr *e) {
    http_request req = {.method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0,
                        .headers = {a->auth, "Accept: application/json", body ? "Content-Type: application/json" : NULL}};
    http_response r;
    http_response_init(&r);
    r.want_header = want_header;
    cerr he = {0};
    if (retry_http(&a->pol, &req, &r, NULL, &he)) {
        http_response_free(&r);
        if (he.code == CERR_NOMEM || he.code == CERR_TOOBIG) {
            if (he.code == CERR_TOOBIG) {
                outcome_set(a->out, FETCH_FAILED, "Apify response too large: %s", he.msg);
                return CALL_DONE;
            }
            *e = he;
            return CALL_FATAL;
        }
        outcome_set(a->out, FETCH_RETRY, "Apify API unreachable: %s", he.msg);
        return CALL_DONE;
    }
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    long st = r.status;
    if (header_value) memcpy(header_value, r.header_value, sizeof r.header_value);
    int64_t retry_after = r.retry_after_ms;
    http_response_free(&r);
    if (st >= 200 && st < 300 && j) {
        *out_json = j;
        return CALL_OK;
    }
    json_t *err = json_object_get(j, "error");
    char type[64], msg[160];
    outcome_quote(type, sizeof type, jf_str(err, "type") ? jf_str(err, "type") : "unknown", 60);
    outcome_quote(msg, sizeof msg, jf_str(err, "message"), 150);
    /* Limits of the whole Apify account pause the apify source (every platform it serves), not one post */
    if (strstr(type, "memory-limit")) {
        outcome_set(a->out, FETCH_RETRY, "Apify memory limit reached (%s): %s", type, msg);
        a->out->quota = true;
        a->out->retry_after_ms = retry_after > 0 ? retry_after : APIFY_MEMORY_WAIT_MS;
    } else if (st == 402 || strcmp(type, "platform-feature-disabled") == 0 || names_usage_limit(type) ||
               names_usage_limit(msg)) {
        outcome_set(a->out, FETCH_RETRY, "Apify usage limit reached (%s): %s", type, msg);
        a->out->quota = true;
        a->out->retry_after_ms = retry_after > 0 ? retry_after : APIFY_QUOTA_WAIT_MS;
    } else if (st == 401 || st == 403)
        outcome_set(a->out, FETCH_FAILED, "Apify rejected the API token (%s)", type);
    else if (st == 404)
        outcome_set(a->out, FETCH_FAILED, "Apify: not found (%s): %s", type, msg);
    else if (st == 429) {
        outcome_set(a->out, FETCH_RETRY, "Apify API rate limit exceeded (HTTP 429, %s)", type);
        a->out->quota = true;
        a->out->retry_after_ms = retry_after > 0 ? retry_after : APIFY_RATE_WAIT_MS;
    } else if (st >= 500 || st == 0) {
        outcome_set(a->out, FETCH_RETRY, "Apify API unavailable (HTTP %ld)", st);
        a->out->retry_after_ms = retry_after;
    } else
        outcome_set(a->out, FETCH_FAILED, "Apify refused the request (HTTP %ld, %s): %s", st, type, msg);
    json_decref(j);
    return CALL_DONE;
}

static char *actor_input(const fetch_request *req, const char *url) {
    int64_t n = req->max_comments > 0 ? req->max_comments : APIFY_DEFAULT_MAX;
    json_t *in = NULL;
    switch (req->platform) {
    case PLATFORM_TIKTOK:
        in = json_pack("{s:[s], s:I, s:I}", "postURLs", url, "commentsPerPost", (json_int_t)n, "maxRepliesPerComment",
                       (json_int_t)(req->include_replies ? APIFY_REPLIES_PER_COMMENT : 0));
        break;
    case PLATFORM_INSTAGRAM:
        in = json_pack("{s:[s], s:I}", "directUrls", url, "resultsLimit", (json_int_t)n);
        break;
    case PLATFORM_YOUTUBE:
        in = json_pack("{s:[{s:s, s:s}], s:I}", "startUrls", "url", url, "method", "GET", "maxComments", (json_int_t)n);
        break;
    default:
        return NULL;
    }
    char *s = in ? json_dumps(in, JSON_COMPACT) : NULL;
    json_decref(in);
    return s;
}

static bool terminal(const char *st, bool *ok) {
    *ok = st && strcmp(st, "SUCCEEDED") == 0;
    return st && (*ok || strcmp(st, "FAILED") == 0 || strcmp(st, "TIMED-OUT") == 0 || strcmp(st, "ABORTED") == 0);
}

static void abort_run(ap *a, const char *run_id) {
    char url[APIFY_URL_MAX];
    if (sbprintf(url, sizeof url, "%s/v2/actor-runs/%s/abort", a->base, run_id)) return;
    http_request req = {.method = "POST", .url = url, .headers = {a->auth}, .timeout_ms = 5000};
    http_response r;
    http_response_init(&r);
    cerr e = {0};
    if (http_do(&req, &r, &e) || r.status >= 300) log_warn("apify: could not abort run %s", run_id);
    http_response_free(&r);
}

/* Adds one item of the platform's actor to the batch. */
static int add_item(ap *a, json_t *it, cerr *e) {
    char id[JF_ID_MAX], parent[JF_ID_MAX], when[21];
    comment_rec rec = {.like_count = -1};
    a->items_seen++;
    const char *idkey = a->req->platform == PLATFORM_INSTAGRAM ? "id" : "cid";
    if (jf_id(json_object_get(it, idkey), id)) {
        /* actors push {"error": "..."} items for posts they could not open */
        const char *err = jf_str(it, "error");
        if (err && !a->error_items++) outcome_quote(a->first_error, sizeof a->first_error, err, 120);
        return 0;
    }
    rec.comment_id = id;
    switch (a->req->platform) {
    case PLATFORM_TIKTOK: {
        rec.text = jf_str(it, "text");
        rec.author = jf_str(it, "uniqueId");
        rec.like_count = jf_count(json_object_get(it, "diggCount"));
        if (jf_id(json_object_get(it, "repliesToId"), parent) == 0) rec.parent_id = parent;
        if (field_timestamp(jf_str(it, "createTimeISO"), when)) {
            rec.published_at = when;
        } else {
            json_t *t = json_object_get(it, "createTime");
            if (json_is_integer(t) && json_integer_value(t) > 0) {
                format_iso8601(json_integer_value(t), when);
                rec.published_at = when;
            }
        }
        break;
    }
    case PLATFORM_INSTAGRAM: {
        rec.text = jf_str(it, "text");
        rec.author = jf_str(it, "ownerUsername");
        if (!rec.author) rec.author = jf_str(json_object_get(it, "owner"), "username");
        rec.like_count = jf_count(json_object_get(it, "likesCount"));
        if (field_timestamp(jf_str(it, "timestamp"), when)) rec.published_at = when;
        break;
    }
    default: /* YouTube: publishedTimeText is relative ("2 years ago"), so the time stays unknown */
        rec.text = jf_str(it, "comment");
        rec.author = jf_str(it, "author");
        rec.like_count = jf_count(json_object_get(it, "voteCount"));
        if (jf_id(json_object_get(it, "replyToCid"), parent) == 0) rec.parent_id = parent;
        break;
    }
    if (rec.parent_id && !a->req->include_replies) return 0;
    if (comment_batch_add(&a->batch, &rec, e)) return -1;
    if (a->req->platform == PLATFORM_INSTAGRAM && a->req->include_replies) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(it, "replies"), i, r) {
            char rid[JF_ID_MAX], rwhen[21];
            if (jf_id(json_object_get(r, "id"), rid)) continue;
            comment_rec rr = {.comment_id = rid, .parent_id = id, .text = jf_str(r, "text"),
                              .author = jf_str(r, "ownerUsername"),
                              .like_count = jf_count(json_object_get(r, "likesCount"))};
            if (!rr.author) rr.author = jf_str(json_object_get(r, "owner"), "username");
            if (field_timestamp(jf_str(r, "timestamp"), rwhen)) rr.published_at = rwhen;
            if (comment_batch_add(&a->batch, &rr, e)) return -1;
        }
    }
    return 0;
}

static int read_dataset(ap *a, const char *dataset, cerr *e) {
    int64_t offset = 0;
    for (int page = 0; page < APIFY_MAX_PAGES; page++) {
        if (comment_batch_full(&a->batch)) return 0;
        char url[APIFY_URL_MAX], total_s[256] = "";
        if (sbprintf(url, sizeof url, "%s/v2/datasets/%s/items?offset=%lld&limit=%d&clean=1&format=json", a->base,
                     dataset, (long long)offset, APIFY_PAGE))
            return cerr_set(e, CERR_INVALID, "Apify API URL is too long");
        json_t *j = NULL;
        call_result cr = call(a, "GET", url, NULL, "X-Apify-Pagination-Total", total_s, &j, e);
        if (cr == CALL_FATAL) return -1;
        if (cr == CALL_DONE) return 1;
        size_t n = json_array_size(j), i;
        json_t *it;
        int rc = 0;
        json_array_foreach(j, i, it) {
            if ((rc = add_item(a, it, e))) break;
        }
        json_decref(j);
        if (rc) return -1;
        int64_t total = -1;
        if (*total_s && parse_i64(total_s, &total)) total = -1;
        offset += (int64_t)n;
        if (n == 0 || (total >= 0 && offset >= total)) return 0;
    }
    log_warn("apify: dataset %s: page limit reached", dataset);
    return 0;
}

static int ap_fetch(const source_settings *s, const fetch_request *req, comment_sink sink, void *ud,
                    fetch_outcome *out, cerr *e) {
    outcome_init(out);
    const char *actor = apify_actor_for(req->platform);
    if (!actor) {
        outcome_set(out, FETCH_FAILED, "Apify serves no actor for this platform");
        return 0;
    }
    if (!s->apify_token || !*s->apify_token || strlen(s->apify_token) >= APIFY_TOKEN_MAX) {
        outcome_set(out, FETCH_FAILED, "Apify is not configured (set APIFY_TOKEN)");
        return 0;
    }
    if (!req->canonical_url || !*req->canonical_url) {
        outcome_set(out, FETCH_FAILED, "no post URL to give the Apify actor");
        return 0;
    }
    ap *a = calloc(1, sizeof *a);
    if (!a) return cerr_set(e, CERR_NOMEM, "out of memory");
    a->s = s;
    a->req = req;
    a->out = out;
    a->pol = retry_policy_from(s, req->deadline_ms);
    snprintf(a->auth, sizeof a->auth, "Authorization: Bearer %s", s->apify_token);
    const char *b = s->apify_api_url && *s->apify_api_url ? s->apify_api_url : APIFY_DEFAULT_URL;
    size_t bl = strlen(b);
    while (bl && b[bl - 1] == '/') bl--;
    snprintf(a->base, sizeof a->base, "%.*s", (int)bl, b);
    comment_batch_init(&a->batch, req->max_comments, sink, ud);

    int rc = 0;
    json_t *run = NULL;
    char *input = actor_input(req, req->canonical_url);
    char url[APIFY_URL_MAX], run_id[JF_ID_MAX] = "", dataset[JF_ID_MAX] = "";
    if (!input) {
        rc = cerr_set(e, CERR_NOMEM, "out of memory");
        goto done;
    }
    if (sbprintf(url, sizeof url, "%s/v2/acts/%s/runs", a->base, actor)) {
        outcome_set(out, FETCH_FAILED, "Apify API URL is too long");
        goto done;
    }
    call_result cr = call(a, "POST", url, input, NULL, NULL, &run, e);
    if (cr != CALL_OK) {
        rc = cr == CALL_FATAL ? -1 : 0;
        goto done;
    }
    json_t *data = json_object_get(run, "data");
    if (jf_id(json_object_get(data, "id"), run_id) || jf_id(json_object_get(data, "defaultDatasetId"), dataset)) {
        outcome_set(out, FETCH_FAILED, "Apify answered the run request without a run or dataset id");
        goto done;
    }
    int64_t deadline = req->deadline_ms ? req->deadline_ms : now_ms() + APIFY_NO_DEADLINE_MS;
    const char *status = NULL;
    bool ok = false;
    char status_copy[32] = "", message[160] = "";
    for (;;) {
        status = jf_str(data, "status");
        if (terminal(status, &ok)) {
            snprintf(status_copy, sizeof status_copy, "%s", status);
            outcome_quote(message, sizeof message, jf_str(data, "statusMessage"), 120);
            break;
        }
        int64_t left = deadline - now_ms();
        if (left < 1000) { /* a poll waits at least a second: less than that left is the end of the budget */
            abort_run(a, run_id);
            outcome_set(out, FETCH_RETRY, "Apify run did not finish within the time budget (run aborted)");
            goto done;
        }
        int64_t wait_s = left / 1000 < APIFY_WAIT_S ? left / 1000 : APIFY_WAIT_S;
        if (wait_s < 1) wait_s = 1;
        if (sbprintf(url, sizeof url, "%s/v2/actor-runs/%s?waitForFinish=%lld", a->base, run_id, (long long)wait_s)) {
            outcome_set(out, FETCH_FAILED, "Apify API URL is too long");
            goto done;
        }
        /* waitForFinish holds the request open: give the exchange that long plus the usual timeout */
        retry_policy keep = a->pol;
        a->pol.timeout_ms = (long)(wait_s * 1000) + (keep.timeout_ms > 0 ? keep.timeout_ms : 30000);
        json_decref(run);
        run = NULL;
        cr = call(a, "GET", url, NULL, NULL, NULL, &run, e);
        a->pol = keep;
        if (cr == CALL_DONE && now_ms() >= deadline) {
            abort_run(a, run_id);
            outcome_set(out, FETCH_RETRY, "Apify run did not finish within the time budget (run aborted)");
            goto done;
        }
        if (cr != CALL_OK) {
            rc = cr == CALL_FATAL ? -1 : 0;
            goto done;
        }
        data = json_object_get(run, "data");
    }
    if (!ok) {
        if (strcmp(status_copy, "TIMED-OUT") == 0)
            outcome_set(out, FETCH_FAILED, "Apify actor run timed out");
        else if (strcmp(status_copy, "ABORTED") == 0)
            outcome_set(out, FETCH_FAILED, "Apify actor run was aborted");
        else
            outcome_set(out, FETCH_FAILED, "Apify actor run failed%s%s", *message ? ": " : "", message);
        goto done;
    }
    int dr = read_dataset(a, dataset, e);
    if (dr < 0) {
        rc = -1;
        goto done;
    }
    if (dr == 0 && (rc = comment_batch_flush(&a->batch, e)) == 0) {
        if (a->items_seen == 0)
            outcome_set(out, FETCH_FAILED, "Apify returned no comments for this post (it may be private, removed, "
                                           "or have no comments)");
        else if (a->batch.delivered == 0 && a->error_items)
            outcome_set(out, FETCH_FAILED, "Apify could not read the post: %s", a->first_error);
    }
done:
    if (!rc && out->status != FETCH_OK) rc = comment_batch_flush(&a->batch, e) ? -1 : 0;
    out->delivered = a->batch.delivered;
    json_decref(run);
    free(input);
    comment_batch_free(&a->batch);
    memset(a->auth, 0, sizeof a->auth);
    free(a);
    return rc;
}

static int ap_check_config(const source_settings *s, platform p, cerr *e) {
    if (!apify_actor_for(p)) return cerr_set(e, CERR_INVALID, "Apify has no actor for %s", platform_name(p));
    if (!s->apify_token || !*s->apify_token)
        return cerr_set(e, CERR_INVALID, "Apify is the %s provider but APIFY_TOKEN is not set", platform_name(p));
    return 0;
}

const source_ops apify_source_ops = {
    .name = "apify",
    .platform = PLATFORM_NONE,
    .check_config = ap_check_config,
    .fetch = ap_fetch,
};

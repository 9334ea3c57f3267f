/* routes_jobs.c - the job routes: create, list, status, delete. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "core/log.h"
#include "core/util.h"
#include "sources/url.h"
#include "store/store_common.h"

static void iso_or_null(json_t *obj, const char *key, int64_t t) {
    if (!t) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    char s[21];
    format_iso8601(t, s);
    json_object_set_new(obj, key, json_string(s));
}

static int add_task(void *ud, const task_info *t) {
    json_t *arr = ud;
    json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I}", "position", t->position, "url", t->canonical_url,
                          "platform", platform_name(t->platform), "post_id", t->post_id, "status",
                          task_status_name(t->status), "comment_count", (json_int_t)t->comment_count,
                          "classified_count", (json_int_t)t->classified_count);
    if (!o) return -1;
    json_object_set_new(o, "expected_count",
                        t->expected_count >= 0 ? json_integer(t->expected_count) : json_null());
    /* what the post's last complete fetch delivered (shared by every job naming the post) */
    json_object_set_new(o, "fetched_count", t->fetched_at ? json_integer(t->fetched_count) : json_null());
    json_object_set_new(o, t->status == TASK_FAILED ? "reason" : "note",
                        t->reason[0] ? json_string(t->reason) : json_null());
    json_array_append_new(arr, o);
    return 0;
}

static json_t *options_to_json(const job_options *jo) {
    json_t *o = json_pack("{s:I, s:b, s:s, s:I, s:I}", "max_comments_per_post", (json_int_t)jo->max_comments_per_post,
                          "include_replies", jo->include_replies, "sampling", sampling_name(jo->sampling),
                          "max_replies_per_thread", (json_int_t)jo->max_replies_per_thread, "time_budget_s",
                          (json_int_t)jo->time_budget_s);
    if (o && jo->sampling == SAMPLING_RANDOM) json_object_set_new(o, "seed", json_integer(jo->seed));
    if (o) json_object_set_new(o, "sample_pool", jo->sample_pool > 0 ? json_integer(jo->sample_pool) : json_null());
    return o;
}

json_t *job_to_json(const job_info *j, store *st, bool with_posts, cerr *e) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "status", json_string(job_status_name(j->status)));
    iso_or_null(o, "created_at", j->created_at);
    iso_or_null(o, "started_at", j->started_at);
    iso_or_null(o, "finished_at", j->finished_at);
    json_object_set_new(o, "options", options_to_json(&j->options));
    int64_t finished = j->posts_done + j->posts_failed;
    json_object_set_new(o, "progress", json_real(j->posts_total ? (double)finished / (double)j->posts_total : 0.0));
    json_object_set_new(o, "counts",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "posts_total", (json_int_t)j->posts_total,
                                  "posts_done", (json_int_t)j->posts_done, "posts_failed",
                                  (json_int_t)j->posts_failed, "comments_fetched", (json_int_t)j->comments_fetched,
                                  "comments_classified", (json_int_t)j->comments_classified));
    json_object_set_new(o, "labels",
                        json_pack("{s:I, s:I, s:I}", "negative", (json_int_t)j->labels[0], "neutral",
                                  (json_int_t)j->labels[1], "positive", (json_int_t)j->labels[2]));
    char link[96];
    snprintf(link, sizeof link, "/api/jobs/%lld/results.csv", (long long)j->id);
    json_object_set_new(o, "results_url", json_string(link));
    if (with_posts) {
        json_t *posts = json_array();
        if (st->ops->job_tasks(st, j->id, add_task, posts, e)) {
            json_decref(posts);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "posts", posts);
    }
    return o;
}

enum MHD_Result route_job_get(api_request *r, int64_t id) {
    store *st = r->srv->st;
    job_info j;
    cerr e;
    if (st->ops->job_get(st, id, r->admin ? NULL : r->owner, &j, &e)) return reply_store_error(r, &e);
    json_t *o = job_to_json(&j, st, true, &e);
    if (!o) return reply_store_error(r, &e);
    return reply_json(r, MHD_HTTP_OK, o);
}

enum MHD_Result route_job_delete(api_request *r, int64_t id) {
    store *st = r->srv->st;
    cerr e;
    if (st->ops->job_delete(st, id, r->admin ? NULL : r->owner, &e)) return reply_store_error(r, &e);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ret;
}

typedef struct list_ctx {
    json_t *arr;
    store *st;
    int64_t last_id;
    cerr *e;
} list_ctx;

static int add_job(void *ud, const job_info *j) {
    list_ctx *c = ud;
    json_t *o = job_to_json(j, c->st, false, c->e);
    if (!o) return -1;
    json_array_append_new(c->arr, o);
    c->last_id = j->id;
    return 0;
}

static int query_int(api_request *r, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out) {
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (parse_i64(v, out) || *out < lo || *out > hi) return -1;
    return 0;
}

enum MHD_Result route_jobs_list(api_request *r) {
    int64_t limit, before;
    if (query_int(r, "limit", 1, 100, 20, &limit))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "limit", "limit must be an integer 1..100");
    if (query_int(r, "before", 0, INT64_MAX, 0, &before))
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "before",
                           "before must be a job id (a positive integer)");
    cerr e;
    list_ctx c = {.arr = json_array(), .st = r->srv->st, .e = &e};
    if (r->srv->st->ops->job_list(r->srv->st, r->admin ? NULL : r->owner, before, (int)limit, add_job, &c, &e)) {
        json_decref(c.arr);
        return reply_store_error(r, &e);
    }
    json_t *o = json_pack("{s:o}", "jobs", c.arr);
    json_object_set_new(o, "next_before",
                        json_array_size(c.arr) == (size_t)limit ? json_integer(c.last_id) : json_null());
    return reply_json(r, MHD_HTTP_OK, o);
}

/* ---- creation ---- */

static bool content_type_is_json(api_request *r) {
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct) return false;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ') n--;
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static void add_url_error(json_t *details, size_t index, const char *url, const char *reason) {
    json_t *o = json_pack("{s:I, s:s}", "index", (json_int_t)index, "reason", reason);
    /* echo at most 200 bytes of what was sent, and only if it is a string */
    if (url) {
        char cut[201];
        snprintf(cut, sizeof cut, "%s", url);
        json_object_set_new(o, "url", json_string(cut) ? json_string(cut) : json_null());
    }
    json_array_append_new(details, o);
}

static int push_task(void *ud, const task_info *t) {
    api_request *r = ud;
    cerr e;
    if (r->srv->q->ops->push(r->srv->q, t->job_id, t->post_ref, 0, &e))
        log_warn("job %lld: cannot enqueue post %s (%s); it will be picked up on the next requeue",
                 (long long)t->job_id, t->post_id, e.msg);
    return 0;
}

/* An integer field in lo..hi: 0, or -1 after queueing the 400 (not an integer) or 422 (out of range). */
static int int_field(api_request *r, const char *field, json_t *val, int64_t lo, int64_t hi, const char *meaning,
                     int64_t *out, enum MHD_Result *ret) {
    if (!json_is_integer(val))
        return *ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", field, "%s must be an integer", field), -1;
    json_int_t v = json_integer_value(val);
    if (v < lo || v > hi)
        return *ret = reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", field,
                                  "%s must be an integer from %lld to %lld%s", field, (long long)lo, (long long)hi,
                                  meaning),
               -1;
    *out = v;
    return 0;
}

/* Returns 0, or -1 after queueing the 400/422 in *ret. */
static int parse_options(api_request *r, json_t *root, job_options *opt, enum MHD_Result *ret) {
    const api_config *cfg = &r->srv->cfg;
    memset(opt, 0, sizeof *opt);
    bool have_seed = false, have_cap = false;
    opt->max_comments_per_post = cfg->default_max_comments;
    snprintf(opt->analyzer, sizeof opt->analyzer, "%s", cfg->default_analyzer ? cfg->default_analyzer : "auto");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "urls") == 0) continue;
        if (strcmp(key, "max_comments_per_post") == 0) {
            if (!json_is_integer(val))
                return *ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "max_comments_per_post",
                                          "max_comments_per_post must be an integer"),
                       -1;
            if (json_integer_value(val) < 0 || json_integer_value(val) > cfg->max_comments_limit)
                return *ret = reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", "max_comments_per_post",
                                          "max_comments_per_post must be an integer from 0 (all) to %lld",
                                          (long long)cfg->max_comments_limit),
                       -1;
            opt->max_comments_per_post = json_integer_value(val);
        } else if (strcmp(key, "include_replies") == 0) {
            if (!json_is_boolean(val))
                return *ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "include_replies",
                                          "include_replies must be true or false"),
                       -1;
            opt->include_replies = json_is_true(val);
        } else if (strcmp(key, "sampling") == 0) {
            if (!json_is_string(val))
                return *ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "sampling",
                                          "sampling must be a string: first, top, newest or random"),
                       -1;
            if (sampling_from_name(json_string_value(val), &opt->sampling))
                return *ret = reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_value", "sampling",
                                          "sampling must be one of first, top, newest, random"),
                       -1;
        } else if (strcmp(key, "seed") == 0) {
            if (int_field(r, "seed", val, 0, SEED_MAX, "", &opt->seed, ret)) return -1;
            have_seed = true;
        } else if (strcmp(key, "max_replies_per_thread") == 0) {
            if (int_field(r, "max_replies_per_thread", val, 0, 100000, " (0 = no cap)", &opt->max_replies_per_thread, ret))
                return -1;
            have_cap = opt->max_replies_per_thread > 0;
        } else if (strcmp(key, "time_budget_s") == 0) {
            if (int_field(r, "time_budget_s", val, 0, cfg->max_time_budget_s, " seconds (0 = none)", &opt->time_budget_s,
                          ret))
                return -1;
        } else {
            char field[64];
            snprintf(field, sizeof field, "%s", key);
            return *ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "unknown_field", field,
                                      "unknown field '%s' (accepted: urls, max_comments_per_post, include_replies, "
                                      "sampling, seed, max_replies_per_thread, time_budget_s)",
                                      field),
                   -1;
        }
    }
    /* checked after the loop: JSON objects have no order */
    if (have_seed && opt->sampling != SAMPLING_RANDOM)
        return *ret = reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_combination", "seed",
                                  "seed applies only to sampling \"random\""),
               -1;
    if (have_cap && !opt->include_replies)
        return *ret = reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_combination", "max_replies_per_thread",
                                  "max_replies_per_thread needs include_replies: true"),
               -1;
    if (opt->sampling == SAMPLING_RANDOM && !have_seed) {
        /* a seed is always recorded, so any random job can be reproduced from its status */
        uint64_t x = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)now_unix() ^ (uint64_t)(uintptr_t)opt;
        opt->seed = (int64_t)(x % ((uint64_t)SEED_MAX + 1));
    }
    if (store_options_selected(opt)) {
        int64_t pool = cfg->sample_pool > 0 ? cfg->sample_pool : 5000;
        if (opt->max_comments_per_post == 0) pool = SAMPLE_POOL_MAX; /* all: as many as the cap allows */
        else if (opt->max_comments_per_post > pool) pool = opt->max_comments_per_post;
        opt->sample_pool = pool < SAMPLE_POOL_MAX ? pool : SAMPLE_POOL_MAX;
    }
    return 0;
}

enum MHD_Result route_jobs_create(api_request *r) {
    api_server *s = r->srv;
    if (!content_type_is_json(r))
        return reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Content-Type",
                           "send the job as application/json");
    json_error_t je;
    json_t *root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json", "body", "invalid JSON at line %d column %d: %s",
                           je.line, je.column, je.text);
    enum MHD_Result ret;
    post_url *posts = NULL;
    json_t *details = NULL;
    if (!json_is_object(root)) {
        ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json", "body", "the body must be a JSON object");
        goto out;
    }
    json_t *urls = json_object_get(root, "urls");
    if (!urls) {
        ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_field", "urls", "urls is required: a list of post links");
        goto out;
    }
    if (!json_is_array(urls)) {
        ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "urls", "urls must be an array of strings");
        goto out;
    }
    size_t n = json_array_size(urls);
    if (n == 0) {
        ret = reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "urls", "urls must contain at least one link");
        goto out;
    }
    if (n > (size_t)s->cfg.max_urls) {
        ret = reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_urls", "urls",
                          "a job takes at most %d links; this one has %zu", s->cfg.max_urls, n);
        goto out;
    }
    job_options opt;
    if (parse_options(r, root, &opt, &ret)) goto out;
    posts = calloc(n, sizeof *posts);
    details = json_array();
    if (!posts || !details) {
        ret = MHD_NO;
        goto out;
    }
    size_t kept = 0;
    bool platform_checked[PLATFORM_COUNT] = {false};
    for (size_t i = 0; i < n; i++) {
        json_t *u = json_array_get(urls, i);
        if (!json_is_string(u)) {
            add_url_error(details, i, NULL, "must be a string");
            continue;
        }
        const char *text = json_string_value(u);
        post_url pu;
        cerr e;
        if (url_parse(text, &pu, &e)) {
            add_url_error(details, i, text, e.msg);
            continue;
        }
        if (pu.needs_resolve) {
            char resolved[URL_INPUT_MAX];
            if (!s->cfg.resolve) {
                add_url_error(details, i, text, "short links cannot be resolved by this server");
                continue;
            }
            if (s->cfg.resolve(s->cfg.resolve_ctx, pu.canonical_url, resolved, sizeof resolved, &e) ||
                url_parse(resolved, &pu, &e) || pu.needs_resolve) {
                add_url_error(details, i, text, e.msg[0] ? e.msg : "short link did not resolve to a post");
                continue;
            }
        }
        if (!platform_checked[pu.platform]) {
            const source_ops *src = source_for(s->src, pu.platform);
            cerr ce;
            cerr_clear(&ce);
            if (!src) {
                add_url_error(details, i, text, "no comment source is configured for this platform");
                continue;
            }
            if (src->check_config && src->check_config(s->src, pu.platform, &ce)) {
                add_url_error(details, i, text, ce.msg);
                continue;
            }
            platform_checked[pu.platform] = true;
        }
        bool dup = false;
        for (size_t k = 0; k < kept && !dup; k++)
            dup = posts[k].platform == pu.platform && strcmp(posts[k].post_id, pu.post_id) == 0;
        if (!dup) posts[kept++] = pu;
    }
    if (json_array_size(details) > 0) {
        ret = reply_error_json(r, MHD_HTTP_BAD_REQUEST, "invalid_urls", "urls",
                               "some links were rejected; nothing was created", details);
        details = NULL;
        goto out;
    }
    if (s->cfg.max_running_jobs_per_user > 0) {
        int64_t active = 0;
        cerr ce;
        if (s->st->ops->jobs_active(s->st, r->owner, &active, &ce)) {
            ret = reply_store_error(r, &ce);
            goto out;
        }
        if (active >= s->cfg.max_running_jobs_per_user) {
            ret = reply_too_many(r, 30, "you already have %lld jobs queued or running (limit %d); retry when one "
                                 "finishes", (long long)active, s->cfg.max_running_jobs_per_user);
            goto out;
        }
    }
    if (s->cfg.create_limit) {
        int64_t wait_s = s->cfg.create_limit(s->cfg.create_limit_ctx, r->owner);
        if (wait_s > 0) {
            ret = reply_too_many(r, wait_s, "too many jobs created; retry in %lld s", (long long)wait_s);
            goto out;
        }
    }
    int64_t job_id;
    cerr e;
    if (s->st->ops->job_create(s->st, r->owner, &opt, posts, kept, &job_id, &e)) {
        ret = reply_store_error(r, &e);
        goto out;
    }
    if (s->q && s->st->ops->job_tasks(s->st, job_id, push_task, r, &e))
        log_warn("job %lld: enqueue: %s", (long long)job_id, e.msg);
    job_info j;
    json_t *o = NULL;
    if (s->st->ops->job_get(s->st, job_id, NULL, &j, &e) || !(o = job_to_json(&j, s->st, true, &e))) {
        ret = reply_store_error(r, &e);
        goto out;
    }
    json_object_set_new(o, "duplicates_merged", json_integer((json_int_t)(n - kept)));
    log_info("job %lld created by %s: %zu posts", (long long)job_id, r->owner, kept);
    ret = reply_json(r, MHD_HTTP_CREATED, o);
out:
    json_decref(details);
    free(posts);
    json_decref(root);
    return ret;
}

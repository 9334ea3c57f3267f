#include "store/store_common.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const char *const platform_strs[PLATFORM_COUNT] = {"", "youtube", "tiktok", "instagram"};
static const char *const label_strs[3] = {"negative", "neutral", "positive"};

const char *store_platform_str(platform p) {
    return (unsigned)p < PLATFORM_COUNT ? platform_strs[p] : "";
}

platform store_platform_parse(const char *s) {
    for (int i = 1; s && i < PLATFORM_COUNT; i++)
        if (strcmp(s, platform_strs[i]) == 0) return (platform)i;
    return PLATFORM_NONE;
}

const char *store_label_str(sentiment_label l) { return (unsigned)l < 3 ? label_strs[l] : "neutral"; }

int store_label_parse(const char *s, sentiment_label *out) {
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, label_strs[i]) == 0) {
            *out = (sentiment_label)i;
            return 0;
        }
    return -1;
}

void store_options_default(job_options *o) {
    memset(o, 0, sizeof *o);
    strcpy(o->analyzer, "auto");
}

static const char *const sampling_strs[] = {"first", "top", "newest", "random"};

const char *sampling_name(sampling s) { return (unsigned)s <= SAMPLING_RANDOM ? sampling_strs[s] : "first"; }

int sampling_from_name(const char *s, sampling *out) {
    for (int i = 0; s && i <= SAMPLING_RANDOM; i++)
        if (strcmp(s, sampling_strs[i]) == 0) {
            *out = (sampling)i;
            return 0;
        }
    return -1;
}

int store_options_json(const job_options *o, char **out, cerr *e) {
    json_t *j = json_pack("{s:I, s:b, s:s, s:s, s:I, s:I, s:I}", "max_comments_per_post",
                          (json_int_t)o->max_comments_per_post, "include_replies", (int)o->include_replies,
                          "analyzer", o->analyzer, "sampling", sampling_name(o->sampling), "sample_pool",
                          (json_int_t)o->sample_pool, "max_replies_per_thread", (json_int_t)o->max_replies_per_thread,
                          "time_budget_s", (json_int_t)o->time_budget_s);
    if (!j) return cerr_set(e, CERR_NOMEM, "cannot encode job options");
    if (o->sampling == SAMPLING_RANDOM) json_object_set_new(j, "seed", json_integer(o->seed));
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return *out ? 0 : cerr_set(e, CERR_NOMEM, "cannot encode job options");
}

int store_options_parse(const char *json, job_options *o, cerr *e) {
    store_options_default(o);
    json_error_t jerr;
    json_t *j = json_loads(json ? json : "", 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return cerr_set(e, CERR_INTERNAL, "stored job options are not a JSON object");
    }
    json_t *v;
    if ((v = json_object_get(j, "max_comments_per_post")) && json_is_integer(v))
        o->max_comments_per_post = json_integer_value(v);
    if ((v = json_object_get(j, "include_replies"))) o->include_replies = json_is_true(v);
    if ((v = json_object_get(j, "analyzer")) && json_is_string(v)) store_copy(o->analyzer, sizeof o->analyzer, json_string_value(v));
    if ((v = json_object_get(j, "sampling")) && json_is_string(v) && sampling_from_name(json_string_value(v), &o->sampling)) {
        json_decref(j);
        return cerr_set(e, CERR_INTERNAL, "stored job options name an unknown sampling");
    }
    /* options written before the fetch policy existed lack these: the defaults are the old behaviour */
    if ((v = json_object_get(j, "seed")) && json_is_integer(v)) o->seed = json_integer_value(v);
    if ((v = json_object_get(j, "sample_pool")) && json_is_integer(v)) o->sample_pool = json_integer_value(v);
    if ((v = json_object_get(j, "max_replies_per_thread")) && json_is_integer(v))
        o->max_replies_per_thread = json_integer_value(v);
    if ((v = json_object_get(j, "time_budget_s")) && json_is_integer(v)) o->time_budget_s = json_integer_value(v);
    json_decref(j);
    return 0;
}

store_view store_view_of(int64_t max_comments, bool include_replies) {
    int64_t bound = max_comments > 0 ? max_comments : INT64_MAX;
    store_view v = {.seq_max = include_replies ? bound : INT64_MAX, .top_max = bound, .replies = include_replies};
    return v;
}

job_status store_job_status_derive(int64_t total, int64_t done, int64_t failed, bool *finished) {
    *finished = total > 0 && done + failed >= total;
    if (!*finished) return JOB_RUNNING;
    if (failed == 0) return JOB_DONE;
    return done == 0 ? JOB_FAILED : JOB_PARTIAL;
}

void store_copy(char *dst, size_t cap, const char *src) {
    if (!cap) return;
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

int store_check_post(const post_url *p, size_t index, cerr *e) {
    if (p->platform <= PLATFORM_NONE || p->platform >= PLATFORM_COUNT)
        return cerr_set(e, CERR_INVALID, "post %zu: unknown platform", index);
    if (!p->post_id[0] || strnlen(p->post_id, POST_ID_MAX) == POST_ID_MAX)
        return cerr_set(e, CERR_INVALID, "post %zu: missing or overlong post id", index);
    if (!p->canonical_url[0] || strnlen(p->canonical_url, POST_URL_MAX) == POST_URL_MAX)
        return cerr_set(e, CERR_INVALID, "post %zu: missing or overlong URL", index);
    if (p->needs_resolve) return cerr_set(e, CERR_INVALID, "post %zu: short link was not resolved", index);
    return 0;
}

int store_check_options(const job_options *o, cerr *e) {
    if (o->max_comments_per_post < 0) return cerr_set(e, CERR_INVALID, "max_comments_per_post must be >= 0");
    if ((unsigned)o->sampling > SAMPLING_RANDOM) return cerr_set(e, CERR_INVALID, "unknown sampling");
    if (o->seed < 0 || o->seed > SEED_MAX) return cerr_set(e, CERR_INVALID, "seed out of range");
    if (o->max_replies_per_thread < 0 || o->time_budget_s < 0)
        return cerr_set(e, CERR_INVALID, "max_replies_per_thread and time_budget_s must be >= 0");
    if (store_options_selected(o) && (o->sample_pool < 1 || o->sample_pool > SAMPLE_POOL_MAX))
        return cerr_set(e, CERR_INVALID, "a job that samples needs a sample pool of 1..%d", SAMPLE_POOL_MAX);
    return 0;
}

size_t store_clip_utf8(const char *s, size_t max) {
    if (!s) return 0;
    size_t n = strnlen(s, max + 1);
    if (n <= max) return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* s[n] is the first byte cut off */
    return n;
}

bool store_options_selected(const job_options *o) {
    return o->sampling != SAMPLING_FIRST || (o->include_replies && o->max_replies_per_thread > 0);
}

int64_t store_fetch_limit(const job_options *o) {
    return store_options_selected(o) ? o->sample_pool : o->max_comments_per_post;
}

int store_sample_key(int64_t seed, const char *comment_id, uint64_t *out, cerr *e) {
    char buf[32 + COMMENT_FIELD_MAX + 1], hex[65];
    int n = snprintf(buf, sizeof buf, "%" PRId64 ":%s", seed, comment_id ? comment_id : "");
    if (n < 0 || (size_t)n >= sizeof buf) return cerr_set(e, CERR_INVALID, "comment id too long to sample");
    if (sha256_hex(buf, (size_t)n, hex, e)) return -1;
    uint64_t k = 0;
    for (int i = 0; i < 16; i++) {
        char c = hex[i];
        k = (k << 4) | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *out = k;
    return 0;
}

static int cmp_seq(const void *a, const void *b) {
    const store_pool_item *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Groups replies by thread, each thread in fetch order; top-level comments first. */
static int cmp_thread(const void *a, const void *b) {
    const store_pool_item *x = a, *y = b;
    if (!x->parent_id != !y->parent_id) return x->parent_id ? 1 : -1;
    if (x->parent_id) {
        int c = strcmp(x->parent_id, y->parent_id);
        if (c) return c;
    }
    return cmp_seq(a, b);
}

static int cmp_top(const void *a, const void *b) {
    const store_pool_item *x = a, *y = b;
    if (x->like_count != y->like_count) return x->like_count > y->like_count ? -1 : 1;
    return cmp_seq(a, b);
}

static int cmp_newest(const void *a, const void *b) {
    const store_pool_item *x = a, *y = b;
    if (!x->published_at[0] != !y->published_at[0]) return x->published_at[0] ? -1 : 1;
    int c = strcmp(y->published_at, x->published_at); /* RFC 3339 UTC strings sort as times */
    return c ? c : cmp_seq(a, b);
}

static int cmp_key(const void *a, const void *b) {
    const store_pool_item *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return cmp_seq(a, b);
}

static void swap_items(store_pool_item *a, store_pool_item *b) {
    store_pool_item t = *a;
    *a = *b;
    *b = t;
}

int store_select(store_pool_item *items, size_t n, const job_options *o, size_t *kept, cerr *e) {
    (void)e;
    size_t m = n;
    if (o->include_replies && o->max_replies_per_thread > 0 && n > 0) {
        qsort(items, n, sizeof *items, cmp_thread);
        /* keep the first max_replies_per_thread of each run of equal parents; dropped ones go last */
        size_t w = 0;
        int64_t in_thread = 0;
        const char *prev = NULL; /* the strings move with their items, so the pointer stays valid */
        for (size_t i = 0; i < n; i++) {
            const char *par = items[i].parent_id;
            if (par) {
                in_thread = prev && strcmp(prev, par) == 0 ? in_thread + 1 : 0;
                prev = par;
                if (in_thread >= o->max_replies_per_thread) continue;
            }
            if (w != i) swap_items(&items[w], &items[i]);
            w++;
        }
        m = w;
    }
    int (*cmp)(const void *, const void *) = cmp_seq;
    if (o->sampling == SAMPLING_TOP) cmp = cmp_top;
    else if (o->sampling == SAMPLING_NEWEST) cmp = cmp_newest;
    else if (o->sampling == SAMPLING_RANDOM) cmp = cmp_key;
    if (m > 1) qsort(items, m, sizeof *items, cmp);
    *kept = o->max_comments_per_post > 0 && (uint64_t)o->max_comments_per_post < m ? (size_t)o->max_comments_per_post : m;
    return 0;
}

void store_pool_free(store_pool_item *items, size_t n) {
    if (!items) return;
    for (size_t i = 0; i < n; i++) free(items[i].parent_id);
    free(items);
}

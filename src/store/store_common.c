#include "store/store_common.h"

#include <jansson.h>
#include <string.h>

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

int store_options_json(const job_options *o, char **out, cerr *e) {
    json_t *j = json_pack("{s:I, s:b, s:s}", "max_comments_per_post", (json_int_t)o->max_comments_per_post,
                          "include_replies", (int)o->include_replies, "analyzer", o->analyzer);
    if (!j) return cerr_set(e, CERR_NOMEM, "cannot encode job options");
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

size_t store_clip_utf8(const char *s, size_t max) {
    if (!s) return 0;
    size_t n = strnlen(s, max + 1);
    if (n <= max) return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* s[n] is the first byte cut off */
    return n;
}

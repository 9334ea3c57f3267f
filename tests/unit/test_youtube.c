/* test_youtube.c - the YouTube source against tests/fakes/fake_youtube.py serving the real comments of
 * the YouTube Spam Collection; counts and ids are checked against the CSV files themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "fake_server.h"
#include "sources/retry.h"
#include "sources/source.h"
#include "sources/youtube.h"

#define KEY "test-key-s3cr3t"
#define PAGE 40

static fake_server srv;

/* ---- the CSV files, read independently of the fake ---- */

static const char *shared_dir(void) {
    const char *d = getenv("CHATTER_SHARED");
    if (d && *d) return d;
    static char buf[1100];
    snprintf(buf, sizeof buf, "%s/../shared", fake_source_dir());
    return buf;
}

typedef struct csv_rows {
    char **ids;
    size_t n;
    size_t empty_dates;
} csv_rows;

/* Minimal RFC 4180 reader: enough for these files (quoted fields, doubled quotes, newlines in quotes). */
static void read_csv(const char *file, csv_rows *out) {
    char path[1400];
    snprintf(path, sizeof path, "%s/data/comments/youtube_spam_collection/%s", shared_dir(), file);
    buf b;
    cerr e = {0};
    if (read_file_capped(path, 1 << 20, &b, &e)) fail_msg("%s", e.msg);
    memset(out, 0, sizeof *out);
    out->ids = calloc(1000, sizeof *out->ids);
    const char *p = b.data, *end = b.data + b.len;
    int row = 0;
    while (p < end) {
        char field[4][2048];
        int f = 0;
        for (;;) {
            size_t k = 0;
            if (*p == '"') {
                p++;
                while (p < end && !(*p == '"' && p[1] != '"')) {
                    if (*p == '"') p++;
                    if (k < sizeof field[0] - 1 && f < 4) field[f][k++] = *p;
                    p++;
                }
                p++;
            } else {
                while (p < end && *p != ',' && *p != '\n') {
                    if (k < sizeof field[0] - 1 && f < 4) field[f][k++] = *p;
                    p++;
                }
            }
            if (f < 4) field[f][k] = '\0';
            f++;
            if (p >= end || *p == '\n') {
                p++;
                break;
            }
            p++; /* ',' */
        }
        if (row++ == 0) continue; /* header */
        assert_int_equal(f, 5);
        assert_true(out->n < 1000);
        out->ids[out->n++] = strdup(field[0]);
        if (!field[2][0]) out->empty_dates++;
    }
    buf_free(&b);
}

static void csv_free(csv_rows *c) {
    for (size_t i = 0; i < c->n; i++) free(c->ids[i]);
    free(c->ids);
}

/* ---- a sink that keeps copies ---- */

typedef struct got {
    size_t n, cap;
    char **id, **parent, **text, **author, **published;
    int64_t *likes;
    int calls;
    int abort_after; /* sink call number that returns non-zero; 0 = never */
} got;

static char *dupn(const char *s) { return s ? strdup(s) : NULL; }

static int sink(void *ud, const comment_rec *r, size_t n) {
    got *g = ud;
    g->calls++;
    if (g->abort_after && g->calls >= g->abort_after) return 1;
    for (size_t i = 0; i < n; i++) {
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 64;
            g->id = realloc(g->id, g->cap * sizeof(char *));
            g->parent = realloc(g->parent, g->cap * sizeof(char *));
            g->text = realloc(g->text, g->cap * sizeof(char *));
            g->author = realloc(g->author, g->cap * sizeof(char *));
            g->published = realloc(g->published, g->cap * sizeof(char *));
            g->likes = realloc(g->likes, g->cap * sizeof(int64_t));
        }
        g->id[g->n] = dupn(r[i].comment_id);
        g->parent[g->n] = dupn(r[i].parent_id);
        g->text[g->n] = dupn(r[i].text);
        g->author[g->n] = dupn(r[i].author);
        g->published[g->n] = dupn(r[i].published_at);
        g->likes[g->n] = r[i].like_count;
        g->n++;
    }
    return 0;
}

static void got_free(got *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->id[i]);
        free(g->parent[i]);
        free(g->text[i]);
        free(g->author[i]);
        free(g->published[i]);
    }
    free(g->id);
    free(g->parent);
    free(g->text);
    free(g->author);
    free(g->published);
    free(g->likes);
    memset(g, 0, sizeof *g);
}

static source_settings settings_for(const fake_server *f, const char *key) {
    static char url[2][160];
    static int which;
    which ^= 1;
    snprintf(url[which], sizeof url[which], "%s/youtube/v3/", f->base); /* trailing slash on purpose */
    source_settings s = {
        .youtube_api_url = url[which],
        .youtube_api_key = key,
        .request_timeout_ms = 5000,
        .max_retries = 3,
        .retry_base_ms = 20,
        .retry_max_ms = 2000,
    };
    return s;
}

static int fetch(const source_settings *s, const char *video, int64_t max, bool replies, got *g, fetch_outcome *o,
                 cerr *e) {
    fetch_request rq = {.platform = PLATFORM_YOUTUBE, .post_id = video, .max_comments = max, .include_replies = replies};
    return youtube_source_ops.fetch(s, &rq, sink, g, o, e);
}

static json_t *expected_ids(const char *video, int replies) {
    char q[128];
    snprintf(q, sizeof q, "/_expected?videoId=%s&replies=%d", video, replies);
    json_t *j = fake_get_json(&srv, q);
    assert_non_null(j);
    json_t *ids = json_incref(json_object_get(j, "ids"));
    json_decref(j);
    assert_true(json_is_array(ids));
    return ids;
}

static int64_t stat_of(const char *video, const char *endpoint) {
    json_t *j = fake_get_json(&srv, "/_stats");
    assert_non_null(j);
    json_t *v = json_object_get(json_object_get(json_object_get(j, "videos"), video), endpoint);
    int64_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    json_decref(j);
    return n;
}

static void reset_stats(void) {
    json_t *j = fake_get_json(&srv, "/_reset");
    assert_non_null(j);
    json_decref(j);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const struct {
    const char *video, *file;
} videos[] = {
    {"9bZkp7q19f0", "Youtube01-Psy.csv"},   {"CevxZvSJLk8", "Youtube02-KatyPerry.csv"},
    {"KQ6zr6kCPj8", "Youtube03-LMFAO.csv"}, {"uelHwf8o7_U", "Youtube04-Eminem.csv"},
    {"pRpeEdMmmQ0", "Youtube05-Shakira.csv"},
};

/* ---- tests ---- */

static void test_real_videos_with_replies(void **state) {
    (void)state;
    for (size_t v = 0; v < sizeof videos / sizeof videos[0]; v++) {
        csv_rows csv;
        read_csv(videos[v].file, &csv);
        source_settings s = settings_for(&srv, KEY);
        got g = {0};
        fetch_outcome o;
        cerr e = {0};
        reset_stats();
        assert_int_equal(fetch(&s, videos[v].video, 0, true, &g, &o, &e), 0);
        if (o.status != FETCH_OK) fail_msg("%s: %s", videos[v].video, o.reason);
        /* every row of the file arrives exactly once, as a thread or as a reply */
        assert_int_equal(g.n, csv.n);
        assert_int_equal(o.delivered, (int64_t)csv.n);
        assert_int_equal(o.expected_count, (int64_t)csv.n);
        char **a = calloc(g.n, sizeof *a);
        memcpy(a, g.id, g.n * sizeof *a);
        qsort(a, g.n, sizeof *a, cmp_str);
        qsort(csv.ids, csv.n, sizeof *csv.ids, cmp_str);
        for (size_t i = 0; i < g.n; i++) assert_string_equal(a[i], csv.ids[i]);
        free(a);
        /* the API order: each parent before its replies, as the fake says it serves them */
        json_t *ids = expected_ids(videos[v].video, 1);
        assert_int_equal(json_array_size(ids), g.n);
        size_t replies = 0, empty_dates = 0;
        for (size_t i = 0; i < g.n; i++) {
            assert_string_equal(g.id[i], json_string_value(json_array_get(ids, i)));
            if (!g.published[i]) empty_dates++;
            else assert_int_equal(strlen(g.published[i]), 20);
            assert_true(g.likes[i] >= 0 && g.likes[i] < 50);
            if (!g.parent[i]) continue;
            replies++;
            bool parent_before = false;
            for (size_t k = i; k-- > 0 && !parent_before;) parent_before = g.parent[k] == NULL && strcmp(g.id[k], g.parent[i]) == 0;
            assert_true(parent_before);
        }
        assert_true(replies > 0);
        assert_int_equal(empty_dates, csv.empty_dates);
        /* requests made: one per thread page, one per thread with replies (all fit in one page) */
        size_t threads = g.n - replies;
        assert_int_equal(stat_of(videos[v].video, "commentThreads"), (int64_t)((threads + PAGE - 1) / PAGE));
        assert_int_equal(stat_of(videos[v].video, "comments"), (int64_t)(replies / 2));
        json_decref(ids);
        got_free(&g);
        csv_free(&csv);
    }
}

static void test_real_videos_without_replies(void **state) {
    (void)state;
    for (size_t v = 0; v < sizeof videos / sizeof videos[0]; v++) {
        csv_rows csv;
        read_csv(videos[v].file, &csv);
        source_settings s = settings_for(&srv, KEY);
        got g = {0};
        fetch_outcome o;
        cerr e = {0};
        reset_stats();
        assert_int_equal(fetch(&s, videos[v].video, 0, false, &g, &o, &e), 0);
        assert_int_equal(o.status, FETCH_OK);
        json_t *ids = expected_ids(videos[v].video, 0);
        assert_int_equal(g.n, json_array_size(ids));
        assert_true(g.n < csv.n && g.n > csv.n * 3 / 4);
        assert_int_equal(o.expected_count, (int64_t)g.n);
        for (size_t i = 0; i < g.n; i++) {
            assert_string_equal(g.id[i], json_string_value(json_array_get(ids, i)));
            assert_null(g.parent[i]);
        }
        assert_int_equal(stat_of(videos[v].video, "comments"), 0);
        json_decref(ids);
        got_free(&g);
        csv_free(&csv);
    }
}

static void test_limit(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    json_t *ids = expected_ids("9bZkp7q19f0", 1);
    int64_t limits[] = {1, 7, 40, 41, 125, 349, 350, 351};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        for (int replies = 0; replies <= 1; replies++) {
            got g = {0};
            fetch_outcome o;
            cerr e = {0};
            assert_int_equal(fetch(&s, "9bZkp7q19f0", limits[k], replies, &g, &o, &e), 0);
            assert_int_equal(o.status, FETCH_OK);
            int64_t avail = replies ? 350 : 292;
            int64_t want = limits[k] < avail ? limits[k] : avail;
            if ((int64_t)g.n != want) fail_msg("limit %lld replies %d: got %zu", (long long)limits[k], replies, g.n);
            assert_int_equal(o.delivered, want);
            if (replies)
                for (size_t i = 0; i < g.n; i++) assert_string_equal(g.id[i], json_string_value(json_array_get(ids, i)));
            got_free(&g);
        }
    }
    json_decref(ids);
}

static void test_fields(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    got g = {0};
    fetch_outcome o;
    cerr e = {0};
    assert_int_equal(fetch(&s, "9bZkp7q19f0", 4, false, &g, &o, &e), 0);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.id[0], "LZQPQhLyRh80UYxNuaDWhIGQYNQ96IuCg-AYWqNPjpU");
    assert_string_equal(g.text[0], "Huh, anyway check out this you[tube] channel: kobyoshi02");
    assert_string_equal(g.author[0], "Julius NM");
    assert_string_equal(g.published[0], "2013-11-07T06:20:48Z");
    assert_true(str_ends_with(g.text[3], "enjoy ^_^ \xEF\xBB\xBF")); /* the U+FEFF stays */
    got_free(&g);

    /* HTML entities arrive unescaped in textOriginal; fractional seconds are dropped */
    assert_int_equal(fetch(&s, "KQ6zr6kCPj8", 3, false, &g, &o, &e), 0);
    assert_string_equal(g.id[2], "z13tczjy5xj0vjmu5231unho1ofey5zdk");
    assert_true(str_starts_with(g.text[2], "Hey guys, I'm a human.<br /><br /><br />But I don't want"));
    assert_string_equal(g.published[2], "2015-05-28T19:23:35Z");
    got_free(&g);

    /* caps: text to COMMENT_TEXT_MAX on a character boundary, author to COMMENT_FIELD_MAX */
    assert_int_equal(fetch(&s, "LONGTEXT_01", 0, false, &g, &o, &e), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(strlen(g.text[0]), COMMENT_TEXT_MAX);
    for (size_t i = 0; i < COMMENT_TEXT_MAX; i += 2) assert_memory_equal(g.text[0] + i, "\xC3\xA9", 2);
    assert_int_equal(strlen(g.author[0]), COMMENT_FIELD_MAX);
    assert_string_equal(g.published[0], "2024-05-01T10:34:56Z");
    got_free(&g);
}

static void expect_status(const source_settings *s, const char *video, fetch_status st, const char *reason) {
    got g = {0};
    fetch_outcome o;
    cerr e = {0};
    assert_int_equal(fetch(s, video, 0, true, &g, &o, &e), 0);
    if (o.status != st || strcmp(o.reason, reason) != 0) fail_msg("%s: %d '%s'", video, o.status, o.reason);
    assert_int_equal(g.n, 0);
    assert_null(strstr(o.reason, KEY));
    got_free(&g);
}

static void test_errors(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    expect_status(&s, "DISABLED_01", FETCH_FAILED, "comments are disabled for this video");
    expect_status(&s, "NOTFOUND_01", FETCH_FAILED, "video not found");
    expect_status(&s, "xxxxxxxxxxx", FETCH_FAILED, "video not found");
    expect_status(&s, "EMPTYVIDEO1", FETCH_OK, "");
    expect_status(&s, "bad id", FETCH_FAILED, "not a YouTube video id");
    expect_status(&s, "FORBIDDEN01", FETCH_FAILED, "the comments of this video cannot be retrieved (insufficient permissions)");
    source_settings wrong = settings_for(&srv, "wrong-key&x=1");
    expect_status(&wrong, "9bZkp7q19f0", FETCH_FAILED, "YouTube API key is invalid");
    source_settings none = settings_for(&srv, NULL);
    expect_status(&none, "9bZkp7q19f0", FETCH_FAILED, "YouTube API key is not configured");
    cerr e = {0};
    assert_int_equal(youtube_source_ops.check_config(&none, PLATFORM_YOUTUBE, &e), -1);
    assert_non_null(strstr(e.msg, "YOUTUBE_API_KEY"));
    assert_int_equal(youtube_source_ops.check_config(&s, PLATFORM_YOUTUBE, &e), 0);

    got g = {0};
    fetch_outcome o;
    assert_int_equal(fetch(&s, "EMPTYVIDEO1", 0, true, &g, &o, &e), 0);
    assert_int_equal(o.expected_count, 0);

    assert_int_equal(fetch(&s, "QUOTAEXC_01", 0, true, &g, &o, &e), 0);
    assert_int_equal(o.status, FETCH_RETRY);
    assert_string_equal(o.reason, "YouTube API quota exceeded");
    int64_t now = now_unix();
    int64_t diff = o.retry_after_ms / 1000 - (youtube_quota_reset_unix(now) - now);
    assert_true(diff >= -1 && diff <= 1);
    assert_true(o.retry_after_ms > 0 && o.retry_after_ms <= 25 * 3600 * 1000LL);
    got_free(&g);
}

static void test_legacy_key_error(void **state) {
    (void)state;
    fake_server legacy;
    const char *args[] = {"--key", KEY, "--legacy-key-error", NULL};
    assert_int_equal(fake_start(&legacy, "fake_youtube.py", args), 0);
    source_settings wrong = settings_for(&legacy, "nope");
    expect_status(&wrong, "9bZkp7q19f0", FETCH_FAILED, "YouTube API key is invalid");
    source_settings right = settings_for(&legacy, KEY);
    got g = {0};
    fetch_outcome o;
    cerr e = {0};
    assert_int_equal(fetch(&right, "9bZkp7q19f0", 5, false, &g, &o, &e), 0);
    assert_int_equal(g.n, 5);
    got_free(&g);
    fake_stop(&legacy);
}

static void test_retries(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    got g = {0};
    fetch_outcome o;
    cerr e = {0};
    reset_stats();

    int64_t t0 = now_ms();
    assert_int_equal(fetch(&s, "FLAKY500_01", 0, true, &g, &o, &e), 0);
    int64_t dt = now_ms() - t0;
    assert_int_equal(o.status, FETCH_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(stat_of("FLAKY500_01", "commentThreads"), 3);
    assert_true(dt < 1500); /* two waits of at most 20 and 40 ms */
    got_free(&g);

    t0 = now_ms();
    assert_int_equal(fetch(&s, "RATELIMIT01", 0, true, &g, &o, &e), 0);
    dt = now_ms() - t0;
    assert_int_equal(o.status, FETCH_OK);
    assert_int_equal(g.n, 3);
    assert_true(dt >= 950 && dt < 3000); /* Retry-After: 1 honoured */
    got_free(&g);

    /* retries exhausted: max_retries + 1 attempts, then FETCH_RETRY */
    s.max_retries = 2;
    t0 = now_ms();
    assert_int_equal(fetch(&s, "ALWAYS503XX", 0, true, &g, &o, &e), 0);
    dt = now_ms() - t0;
    assert_int_equal(o.status, FETCH_RETRY);
    assert_string_equal(o.reason, "YouTube API unavailable (HTTP 503) after 3 attempt(s)");
    assert_int_equal(stat_of("ALWAYS503XX", "commentThreads"), 3);
    assert_true(dt < 1500);

    /* the deadline bounds the whole call, whatever the retry budget */
    s.max_retries = 20;
    s.retry_base_ms = 300;
    s.retry_max_ms = 300;
    fetch_request rq = {.platform = PLATFORM_YOUTUBE, .post_id = "ALWAYS503XX", .deadline_ms = now_ms() + 700};
    t0 = now_ms();
    assert_int_equal(youtube_source_ops.fetch(&s, &rq, sink, &g, &o, &e), 0);
    dt = now_ms() - t0;
    assert_int_equal(o.status, FETCH_RETRY);
    assert_non_null(strstr(o.reason, "time limit"));
    assert_true(dt < 1200);

    /* a request that takes longer than request_timeout_ms counts as a transport failure */
    s.max_retries = 0;
    s.request_timeout_ms = 300;
    t0 = now_ms();
    assert_int_equal(fetch(&s, "SLOWVIDEO01", 0, false, &g, &o, &e), 0);
    dt = now_ms() - t0;
    assert_int_equal(o.status, FETCH_RETRY);
    assert_non_null(strstr(o.reason, "could not reach the YouTube API"));
    assert_true(dt < 1500);
    assert_int_equal(g.n, 0);
}

/* A port nothing listens on: bind an ephemeral port, then close it. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_retry_transport(void **state) {
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/youtube/v3/commentThreads?key=" KEY, closed_port());
    retry_policy p = {.max_retries = 2, .base_ms = 10, .max_ms = 50, .timeout_ms = 2000};
    http_request rq = {.url = url};
    http_response r;
    http_response_init(&r);
    retry_stats st;
    cerr e = {0};
    int64_t t0 = now_ms();
    assert_int_equal(retry_http(&p, &rq, &r, &st, &e), -1);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(e.code, CERR_NETWORK);
    assert_int_equal(st.attempts, 3);
    assert_true(st.waited_ms <= 10 + 20);
    assert_null(strstr(e.msg, KEY)); /* the URL, with its key, never reaches a message */
    assert_non_null(strstr(e.msg, "3 attempt"));

    /* the same through the source: a transient outcome, not a failure */
    source_settings s = settings_for(&srv, KEY);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/youtube/v3", closed_port());
    s.youtube_api_url = url;
    s.max_retries = 1;
    got g = {0};
    fetch_outcome o;
    assert_int_equal(fetch(&s, "9bZkp7q19f0", 0, false, &g, &o, &e), 0);
    assert_int_equal(o.status, FETCH_RETRY);
    assert_non_null(strstr(o.reason, "could not reach the YouTube API"));
    assert_null(strstr(o.reason, KEY));

    /* a Retry-After longer than retry_max_ms ends the retries at once and is passed on */
    s = settings_for(&srv, KEY);
    s.retry_max_ms = 500;
    reset_stats();
    t0 = now_ms();
    assert_int_equal(fetch(&s, "RATELIMIT01", 0, false, &g, &o, &e), 0);
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(o.status, FETCH_RETRY);
    assert_int_equal(o.retry_after_ms, 1000);
    assert_int_equal(stat_of("RATELIMIT01", "commentThreads"), 1);
    http_response_free(&r);
    got_free(&g);
}

static void test_repeated_token(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    got g = {0};
    fetch_outcome o;
    cerr e = {0};
    reset_stats();
    assert_int_equal(fetch(&s, "REPEATTOKEN", 0, true, &g, &o, &e), 0);
    assert_int_equal(o.status, FETCH_OK);
    assert_int_equal(g.n, 4);
    assert_non_null(strstr(o.reason, "repeated a page token"));
    assert_int_equal(stat_of("REPEATTOKEN", "commentThreads"), 2);
    assert_int_equal(o.expected_count, -1);
    got_free(&g);
}

static void test_sink_abort(void **state) {
    (void)state;
    source_settings s = settings_for(&srv, KEY);
    got g = {.abort_after = 2};
    fetch_outcome o;
    cerr e = {0};
    assert_int_equal(fetch(&s, "9bZkp7q19f0", 0, false, &g, &o, &e), -1);
    assert_int_equal(g.n, PAGE);
    assert_int_equal(o.delivered, PAGE);
    got_free(&g);
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static void test_quota_reset(void **state) {
    (void)state;
    /* winter, PST = UTC-8: midnight is 08:00Z */
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 1, 15, 7, 59, 59)), utc(2026, 1, 15, 8, 0, 0));
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 1, 15, 8, 0, 0)), utc(2026, 1, 16, 8, 0, 0));
    /* summer, PDT = UTC-7 */
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 7, 1, 6, 59, 0)), utc(2026, 7, 1, 7, 0, 0));
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 7, 1, 7, 0, 0)), utc(2026, 7, 2, 7, 0, 0));
    /* 2026-03-08 is the switch to PDT: the day is 23 hours long */
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 3, 8, 8, 0, 0)), utc(2026, 3, 9, 7, 0, 0));
    /* 2026-11-01 is the switch back: 25 hours */
    assert_int_equal(youtube_quota_reset_unix(utc(2026, 11, 1, 7, 0, 0)), utc(2026, 11, 2, 8, 0, 0));
    assert_int_equal(youtube_quota_reset_unix(utc(2024, 12, 31, 20, 0, 0)), utc(2025, 1, 1, 8, 0, 0));
}

static void test_backoff(void **state) {
    (void)state;
    uint64_t rng = retry_rng_seed();
    int64_t lo = INT64_MAX, hi = -1;
    for (int i = 0; i < 2000; i++) {
        int64_t w = retry_backoff_ms(0, 100, 1000, &rng);
        assert_true(w >= 0 && w <= 100);
        w = retry_backoff_ms(3, 100, 1000, &rng);
        assert_true(w >= 0 && w <= 800);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
        w = retry_backoff_ms(40, 100, 1000, &rng);
        assert_true(w >= 0 && w <= 1000);
    }
    assert_true(lo < 100 && hi > 700); /* full jitter spreads over the whole range */
    assert_true(retry_status_is_transient(429) && retry_status_is_transient(503) && !retry_status_is_transient(403) &&
                !retry_status_is_transient(404));
}

static int setup(void **state) {
    (void)state;
    cerr e = {0};
    if (http_global_init(&e)) return -1;
    char page[16];
    snprintf(page, sizeof page, "%d", PAGE);
    const char *args[] = {"--key", KEY, "--page-size", page, NULL};
    return fake_start(&srv, "fake_youtube.py", args);
}

static int teardown(void **state) {
    (void)state;
    fake_stop(&srv);
    http_global_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_videos_with_replies),
        cmocka_unit_test(test_real_videos_without_replies),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_legacy_key_error),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_retry_transport),
        cmocka_unit_test(test_repeated_token),
        cmocka_unit_test(test_sink_abort),
        cmocka_unit_test(test_quota_reset),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

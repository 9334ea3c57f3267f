/* fake_server.h - header-only helpers for tests that talk to the Python fakes in tests/fakes: start a fake as a child
 * process (its stdin is a pipe, so it exits when the test does, even on a crash), read its port, query
 * its /_stats, and collect what a source delivers. */
#ifndef CHATTER_TESTS_FAKE_SERVER_H
#define CHATTER_TESTS_FAKE_SERVER_H

#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/http.h"
#include "sources/source.h"

extern char **environ;

typedef struct fake_server {
    pid_t pid;
    int port;
    int stdin_fd;
    char base[64]; /* http://127.0.0.1:PORT */
} fake_server;

static inline const char *fake_source_dir(void) {
    const char *d = getenv("CHATTER_SOURCE_DIR");
    return d && *d ? d : ".";
}

/* Starts tests/fakes/<script> with "--port 0 --watch-stdin" plus args (NULL-terminated). 0 on success. */
static inline int fake_start(fake_server *f, const char *script, const char *const *args) {
    memset(f, 0, sizeof *f);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fakes/%s", fake_source_dir(), script);
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    const char *argv[32] = {py, path, "--port", "0", "--watch-stdin"};
    int n = 5;
    for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    int rc = posix_spawnp(&f->pid, py, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    f->stdin_fd = in[1];
    FILE *o = fdopen(out[0], "r");
    char line[128] = {0};
    if (!o || !fgets(line, sizeof line, o) || sscanf(line, "READY %d", &f->port) != 1) {
        if (o) fclose(o);
        return -1;
    }
    fclose(o); /* the fake prints nothing else on stdout */
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    return 0;
}

static inline void fake_stop(fake_server *f) {
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        close(f->stdin_fd);
    }
    f->pid = 0;
}

/* GET base+path and parse the JSON body; NULL on any failure. */
static inline json_t *fake_get_json(const fake_server *f, const char *path) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    http_request req = {.url = url, .timeout_ms = 5000};
    http_response r;
    http_response_init(&r);
    cerr e = {0};
    json_t *j = NULL;
    if (http_do(&req, &r, &e) == 0 && r.status == 200) j = json_loadb(r.body.data, r.body.len, 0, NULL);
    http_response_free(&r);
    return j;
}

/* /_stats[group][key], 0 when absent. */
static inline long fake_stat(const fake_server *f, const char *group, const char *key) {
    json_t *j = fake_get_json(f, "/_stats");
    long v = (long)json_integer_value(json_object_get(json_object_get(j, group), key));
    json_decref(j);
    return v;
}

/* What a sink received: owned copies, in delivery order. */
typedef struct got_rec {
    char *id, *parent, *author, *text, *published;
    int64_t likes;
} got_rec;

typedef struct collected {
    got_rec *recs;
    size_t n, cap;
    int pages;
    int abort_after; /* > 0: return non-zero once this many records arrived */
} collected;

static inline char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static inline int collect_sink(void *ud, const comment_rec *recs, size_t n) {
    collected *c = ud;
    c->pages++;
    for (size_t i = 0; i < n; i++) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
        }
        c->recs[c->n++] = (got_rec){dup_or_null(recs[i].comment_id), dup_or_null(recs[i].parent_id),
                                    dup_or_null(recs[i].author), dup_or_null(recs[i].text),
                                    dup_or_null(recs[i].published_at), recs[i].like_count};
    }
    return c->abort_after > 0 && (int)c->n >= c->abort_after;
}

static inline void collected_free(collected *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->recs[i].id);
        free(c->recs[i].parent);
        free(c->recs[i].author);
        free(c->recs[i].text);
        free(c->recs[i].published);
    }
    free(c->recs);
    memset(c, 0, sizeof *c);
}

static inline const got_rec *collected_find(const collected *c, const char *id) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->recs[i].id, id) == 0) return &c->recs[i];
    return NULL;
}

/* True when no id repeats. */
static inline int collected_unique(const collected *c) {
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = i + 1; j < c->n; j++)
            if (strcmp(c->recs[i].id, c->recs[j].id) == 0) return 0;
    return 1;
}

static inline size_t collected_replies(const collected *c) {
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) k += c->recs[i].parent != NULL;
    return k;
}

/* Settings for tests: fast retries, short timeouts. */
static inline void test_settings(source_settings *s) {
    memset(s, 0, sizeof *s);
    for (int p = 0; p < PLATFORM_COUNT; p++) s->provider[p] = "official";
    s->request_timeout_ms = 5000;
    s->max_retries = 3;
    s->retry_base_ms = 10;
    s->retry_max_ms = 2000;
}

#endif

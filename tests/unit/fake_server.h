/* fake_server.h - starting a tests/fakes/ Python server for a unit test, and small helpers around it.
 * Header-only so any test_*.c can include it without a CMake change. */
#ifndef CHATTER_TEST_FAKE_SERVER_H
#define CHATTER_TEST_FAKE_SERVER_H

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/http.h"

extern char **environ;

typedef struct fake_server {
    pid_t pid;
    int port;
    char base[128]; /* http://127.0.0.1:PORT */
} fake_server;

/* The repository root: CHATTER_SOURCE_DIR (set by CTest), else derived from this file's path. */
static inline const char *fake_source_dir(void) {
    const char *d = getenv("CHATTER_SOURCE_DIR");
    if (d && *d) return d;
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *p = strstr(buf, "/tests/unit/");
    if (p) *p = '\0';
    return buf;
}

/* Directory of the shared read-only material: CHATTER_SHARED, else $CHATTER_SOURCE_DIR/../shared. */
static inline const char *fake_shared_dir(void) {
    const char *d = getenv("CHATTER_SHARED");
    if (d && *d) return d;
    static char buf[1100];
    snprintf(buf, sizeof buf, "%s/../shared", fake_source_dir());
    return buf;
}

/* Starts python3 tests/fakes/<script> --port 0 <args...> and waits for its "READY <port>" line.
 * args is NULL-terminated. Returns 0 on success. */
static inline int fake_start(fake_server *f, const char *script, const char *const *args) {
    memset(f, 0, sizeof *f);
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/fakes/%s", fake_source_dir(), script);
    if (!getenv("CHATTER_SHARED")) setenv("CHATTER_SHARED", fake_shared_dir(), 0);
    const char *argv[32] = {"python3", path, "--port", "0"};
    int n = 4;
    for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    int rc = posix_spawnp(&f->pid, "python3", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    FILE *out = fdopen(fds[0], "r");
    char line[128];
    int ok = out && fgets(line, sizeof line, out) && sscanf(line, "READY %d", &f->port) == 1;
    if (out) fclose(out); /* the server prints nothing after READY */
    else close(fds[0]);
    if (!ok) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
        return -1;
    }
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    return 0;
}

static inline void fake_stop(fake_server *f) {
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    f->pid = 0;
}

/* GET base+path_and_query, parsed as JSON (NULL on any failure). */
static inline json_t *fake_get_json(const fake_server *f, const char *path_and_query) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", f->base, path_and_query);
    http_request rq = {.url = url, .timeout_ms = 10000};
    http_response r;
    http_response_init(&r);
    cerr e = {0};
    json_t *j = NULL;
    if (http_do(&rq, &r, &e) == 0 && r.status == 200) j = json_loadb(r.body.data, r.body.len, 0, NULL);
    http_response_free(&r);
    return j;
}

#endif

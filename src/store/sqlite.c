/* sqlite.c - the SQLite store: connections (one per thread, WAL), statement cache, transactions,
 * migrations. The queries live in sqlite_jobs.c and sqlite_work.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/sqlite_internal.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_BEGIN_TRIES 4

static void conn_close(sq_conn *c) {
    for (int i = 0; i < SQ__COUNT; i++) sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->db);
    free(c);
}

/* Runs when a thread that used the store exits, so threads that come and go do not pile up connections. */
static void conn_thread_exit(void *p) {
    sq_conn *c = p;
    sqlite_store *s = c->owner;
    pthread_mutex_lock(&s->mu);
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    conn_close(c);
}

static int conn_open(sqlite_store *s, sq_conn **out, cerr *e) {
    sq_conn *c = calloc(1, sizeof *c);
    if (!c) return cerr_set(e, CERR_NOMEM, "out of memory");
    c->owner = s;
    int rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cerr_set(e, CERR_IO, "cannot open database %s: %s", s->path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    /* WAL lets HTTP readers run while a worker writes; NORMAL sync is crash-safe in WAL mode (a
     * killed process loses nothing committed; only a power cut may lose the last transactions). */
    /* Switching a new file to WAL takes an exclusive lock and may answer SQLITE_BUSY at once, without
     * the busy handler, while another process opens the same file: retry for the busy timeout. */
    int64_t give_up = now_ms() + SQ_BUSY_TIMEOUT_MS;
    while (sq_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", e)) {
        int code = sqlite3_errcode(c->db);
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || now_ms() > give_up) {
            cerr_wrap(e, "cannot configure database %s", s->path);
            conn_close(c);
            return -1;
        }
        sleep_ms(20);
    }
    *out = c;
    return 0;
}

sq_conn *sq_conn_get(store *base, cerr *e) {
    sqlite_store *s = (sqlite_store *)base;
    sq_conn *c = pthread_getspecific(s->key);
    if (c) return c;
    if (conn_open(s, &c, e)) return NULL;
    if (pthread_setspecific(s->key, c) != 0) {
        conn_close(c);
        cerr_set(e, CERR_NOMEM, "cannot attach database connection to thread");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->mu);
    return c;
}

int sq_fail(sq_conn *c, cerr *e, const char *what) {
    int rc = sqlite3_errcode(c->db);
    cerr_code code = CERR_IO;
    if (rc == SQLITE_CONSTRAINT) code = CERR_CONFLICT;
    else if (rc == SQLITE_NOMEM) code = CERR_NOMEM;
    return cerr_set(e, code, "%s: %s", what, sqlite3_errmsg(c->db));
}

sqlite3_stmt *sq_stmt(sq_conn *c, sq_id id, const char *sql, cerr *e) {
    sqlite3_stmt *st = c->stmts[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sq_fail(c, e, "cannot prepare query");
        return NULL;
    }
    c->stmts[id] = st;
    return st;
}

int sq_exec(sq_conn *c, const char *sql, cerr *e) {
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) return 0;
    cerr_set(e, rc == SQLITE_CONSTRAINT ? CERR_CONFLICT : CERR_IO, "database error: %s",
             msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return -1;
}

int sq_begin(sq_conn *c, cerr *e) {
    /* busy_timeout already waits; a writer holding the lock longer than that is rare but legal. */
    for (int i = 0;; i++) {
        int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return 0;
        if ((rc & 0xff) != SQLITE_BUSY || i + 1 >= SQ_BEGIN_TRIES) return sq_fail(c, e, "cannot start transaction");
        sleep_ms(50 << i);
    }
}

int sq_commit(sq_conn *c, cerr *e) {
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return 0;
    sq_fail(c, e, "cannot commit");
    sq_rollback(c);
    return -1;
}

void sq_rollback(sq_conn *c) {
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int sq_run(sq_conn *c, sqlite3_stmt *st, cerr *e, const char *what) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
        sq_fail(c, e, what);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

const char *sq_text(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

static int user_version(sq_conn *c, int *out, cerr *e) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, e, "cannot read schema version");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(c, e, "cannot read schema version");
}

static int sq_migrate(store *s, int *version_out, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    for (int v = 0; v < sqlite_migration_count; v++) {
        int cur;
        if (user_version(c, &cur, e)) return -1;
        if (cur > sqlite_migration_count)
            return cerr_set(e, CERR_INVALID, "database schema version %d is newer than this program's (%d)", cur,
                            sqlite_migration_count);
        if (cur > v) continue;
        /* Re-read inside the write lock: another process may have applied it meanwhile. */
        if (sq_begin(c, e)) return -1;
        if (user_version(c, &cur, e)) goto fail;
        if (cur <= v) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
            if (sq_exec(c, sqlite_migrations[v], e) || sq_exec(c, sql, e)) {
                cerr_wrap(e, "migration %d", v + 1);
                goto fail;
            }
        }
        if (sq_commit(c, e)) return -1;
    }
    if (version_out) *version_out = sqlite_migration_count;
    return 0;
fail:
    sq_rollback(c);
    return -1;
}

static int sq_ping(store *s, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    int v;
    return user_version(c, &v, e);
}

static void sq_close(store *base) {
    sqlite_store *s = (sqlite_store *)base;
    /* After key_delete no thread-exit destructor can run for this store. */
    pthread_key_delete(s->key);
    pthread_mutex_lock(&s->mu);
    for (sq_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    s->conns = NULL;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

static int sq_open(const char *url, store **out, cerr *e) {
    *out = NULL;
    const char *path = str_starts_with(url, "sqlite://") ? url + strlen("sqlite://") : url;
    if (!*path) return cerr_set(e, CERR_INVALID, "database URL '%s' names no file", url);
    if (strcmp(path, ":memory:") == 0 || str_starts_with(path, "file:"))
        return cerr_set(e, CERR_INVALID, "SQLite store needs a file path (each thread opens its own connection)");
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    s->base.ops = &sqlite_store_ops;
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_key_create(&s->key, conn_thread_exit) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s->path);
        free(s);
        return cerr_set(e, CERR_NOMEM, "cannot create thread key");
    }
    /* Open the caller's connection now so a bad path fails here, not on first use. */
    if (!sq_conn_get(&s->base, e)) {
        sq_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

const store_ops sqlite_store_ops = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .ping = sq_ping,
    .job_create = sq_job_create,
    .job_get = sq_job_get,
    .job_tasks = sq_job_tasks,
    .job_list = sq_job_list,
    .job_delete = sq_job_delete,
    .tasks_unfinished = sq_tasks_unfinished,
    .task_start = sq_task_start,
    .post_state = sq_post_state,
    .post_claim = sq_post_claim,
    .comments_upsert = sq_comments_upsert,
    .post_fetched = sq_post_fetched,
    .task_select = sq_task_select,
    .task_unclassified = sq_task_unclassified,
    .sentiments_upsert = sq_sentiments_upsert,
    .task_finish = sq_task_finish,
    .task_note = sq_task_note,
    .results_page = sq_results_page,
    .jobs_active = sq_jobs_active,
    .tasks_stale = sq_tasks_stale,
    .purge = sq_purge,
};

/* postgres.c - the PostgreSQL store: a connection pool shared by threads, prepared statements,
 * transactions and migrations. The queries live in postgres_jobs.c, postgres_work.c, postgres_results.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "store/postgres_internal.h"

#define PQ_POOL_DEFAULT 8
#define PQ_POOL_MAX 256
#define PQ_ACQUIRE_WAIT_S 30
/* Serialises migrations across processes: two `chatter serve` starting at once apply each script once. */
#define PQ_MIGRATION_LOCK 0x6368617474657231LL /* "chatter1" */

/* ---- parameters and results ---- */

void arg_i64(pq_args *a, int64_t x) {
    snprintf(a->num[a->n], sizeof a->num[0], "%lld", (long long)x);
    a->v[a->n] = a->num[a->n];
    a->len[a->n] = a->fmt[a->n] = 0;
    a->n++;
}

void arg_bool(pq_args *a, bool b) {
    a->v[a->n] = b ? "t" : "f";
    a->len[a->n] = a->fmt[a->n] = 0;
    a->n++;
}

void arg_str(pq_args *a, const char *s) {
    a->v[a->n] = s;
    a->len[a->n] = a->fmt[a->n] = 0;
    a->n++;
}

void arg_clip(pq_args *a, const char *s, size_t max) {
    /* Binary format for text is the bytes themselves: it carries a length, so no copy is needed to cut. */
    a->v[a->n] = s ? s : "";
    a->len[a->n] = (int)store_clip_utf8(s ? s : "", max);
    a->fmt[a->n] = 1;
    a->n++;
}

int64_t pq_i64(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pq_bool(const PGresult *r, int row, int col) { return PQgetvalue(r, row, col)[0] == 't'; }

const char *pq_str(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

/* ---- connections ---- */

static void quiet_notices(void *arg, const char *msg) {
    (void)arg;
    (void)msg; /* "relation already exists, skipping" and the like are expected, not news */
}

static void conn_free(pq_conn *c) {
    if (!c) return;
    PQfinish(c->pg);
    free(c);
}

static pq_conn *conn_open(postgres_store *s, cerr *e) {
    pq_conn *c = calloc(1, sizeof *c);
    if (!c) {
        cerr_set(e, CERR_NOMEM, "out of memory");
        return NULL;
    }
    /* Keywords after dbname would override the URL's own; connect_timeout comes first so a URL may override it. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "chatter", s->url, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char msg[256];
        store_copy(msg, sizeof msg, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        cerr_set(e, CERR_NETWORK, "cannot connect to PostgreSQL: %s", msg);
        conn_free(c);
        return NULL;
    }
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    return c;
}

static void conn_reset(pq_conn *c) {
    PQreset(c->pg);
    memset(c->prepared, 0, sizeof c->prepared); /* a new session has no prepared statements */
    c->in_tx = false;
    if (PQstatus(c->pg) == CONNECTION_OK) PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
}

pq_conn *pq_acquire(store *base, cerr *e) {
    postgres_store *s = (postgres_store *)base;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += PQ_ACQUIRE_WAIT_S;
    pthread_mutex_lock(&s->mu);
    while (!s->idle && s->open >= s->max) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->mu);
            cerr_set(e, CERR_IO, "all %d database connections stayed busy for %d s", s->max, PQ_ACQUIRE_WAIT_S);
            return NULL;
        }
    }
    pq_conn *c = s->idle;
    if (c) {
        s->idle = c->next;
        pthread_mutex_unlock(&s->mu);
        c->next = NULL;
        if (PQstatus(c->pg) != CONNECTION_OK) conn_reset(c);
        return c;
    }
    s->open++;
    pthread_mutex_unlock(&s->mu);
    c = conn_open(s, e);
    if (!c) {
        pthread_mutex_lock(&s->mu);
        s->open--;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return c;
}

void pq_release(store *base, pq_conn *c) {
    if (!c) return;
    postgres_store *s = (postgres_store *)base;
    if (c->in_tx) pq_rollback(c); /* an error path that forgot: never hand out a half-done transaction */
    bool bad = PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    pthread_mutex_lock(&s->mu);
    if (bad) {
        s->open--;
    } else {
        c->next = s->idle;
        s->idle = c;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (bad) conn_free(c);
}

/* ---- statements ---- */

int pq_fail(pq_conn *c, const PGresult *r, cerr *e, const char *what) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    cerr_code code = CERR_IO;
    if (PQstatus(c->pg) != CONNECTION_OK) code = CERR_NETWORK;
    else if (state && (strncmp(state, "23", 2) == 0 || strncmp(state, "40", 2) == 0)) code = CERR_CONFLICT;
    char msg[400];
    const char *m = r ? PQresultErrorMessage(r) : "";
    store_copy(msg, sizeof msg, *m ? m : PQerrorMessage(c->pg));
    msg[strcspn(msg, "\n")] = '\0';
    return cerr_set(e, code, "%s: %s", what, msg);
}

PGresult *pq_exec(pq_conn *c, pq_id id, const char *sql, const pq_args *a, cerr *e) {
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)id);
    for (int attempt = 0;; attempt++) {
        PGresult *r = NULL;
        if (!c->prepared[id]) {
            r = PQprepare(c->pg, name, sql, 0, NULL);
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                PQclear(r);
                r = NULL;
                c->prepared[id] = true;
            }
        }
        if (c->prepared[id]) {
            r = PQexecPrepared(c->pg, name, a ? a->n : 0, a ? a->v : NULL, a ? a->len : NULL, a ? a->fmt : NULL, 0);
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
        }
        /* The server restarted under an idle connection: one more try on a new session is safe
         * outside a transaction (the statement never ran). */
        if (attempt == 0 && !c->in_tx && PQstatus(c->pg) == CONNECTION_BAD) {
            PQclear(r);
            conn_reset(c);
            if (PQstatus(c->pg) == CONNECTION_OK) continue;
            pq_fail(c, NULL, e, "database connection lost");
            return NULL;
        }
        pq_fail(c, r, e, "database query failed");
        PQclear(r);
        return NULL;
    }
}

int pq_prepare(pq_conn *c, pq_id id, const char *sql, cerr *e) {
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)id);
    for (int attempt = 0; !c->prepared[id]; attempt++) {
        PGresult *r = PQprepare(c->pg, name, sql, 0, NULL);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            c->prepared[id] = true;
        } else if (attempt == 0 && !c->in_tx && PQstatus(c->pg) == CONNECTION_BAD) {
            conn_reset(c); /* as in pq_exec: the server went away while the connection sat idle */
        } else {
            pq_fail(c, r, e, "cannot prepare query");
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return 0;
}

int pq_send_rows(pq_conn *c, pq_id id, const char *sql, const pq_args *a, cerr *e) {
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)id);
    if (pq_prepare(c, id, sql, e)) return -1;
    if (!PQsendQueryPrepared(c->pg, name, a->n, a->v, a->len, a->fmt, 0) || !PQsetSingleRowMode(c->pg)) {
        pq_fail(c, NULL, e, "cannot send query");
        PGresult *r;
        while ((r = PQgetResult(c->pg))) PQclear(r);
        return -1;
    }
    return 0;
}

#define PQ_PIPELINE_CHUNK 256

/* Reads the results of `sent` queries and the sync point; the first failure goes to e. */
static int pipeline_collect(pq_conn *c, size_t sent, cerr *e) {
    int ret = 0;
    for (size_t k = 0; k < sent; k++) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) return ret ? ret : pq_fail(c, NULL, e, "database pipeline broken");
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !ret) ret = pq_fail(c, r, e, "database batch failed");
        PQclear(r);
        while ((r = PQgetResult(c->pg))) PQclear(r); /* the NULL that ends query k */
    }
    PGresult *r = PQgetResult(c->pg);
    if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        if (!ret) ret = pq_fail(c, r, e, "database pipeline out of step");
    }
    PQclear(r);
    return ret;
}

int pq_pipeline(pq_conn *c, size_t steps, pq_step_fn step, void *ud, cerr *e) {
    if (!PQenterPipelineMode(c->pg)) return pq_fail(c, NULL, e, "cannot start database pipeline");
    int ret = 0;
    for (size_t i = 0; i < steps && !ret;) {
        /* Chunks keep the unread results small enough that neither side blocks on a full socket. */
        size_t sent = 0;
        for (; i < steps && sent < PQ_PIPELINE_CHUNK; i++, sent++) {
            pq_id id;
            pq_args a = {.n = 0};
            step(ud, i, &id, &a);
            char name[16];
            snprintf(name, sizeof name, "q%d", (int)id);
            if (!c->prepared[id]) {
                ret = cerr_set(e, CERR_INTERNAL, "statement %d used in a pipeline before it was prepared", (int)id);
                break;
            }
            if (!PQsendQueryPrepared(c->pg, name, a.n, a.v, a.len, a.fmt, 0)) {
                ret = pq_fail(c, NULL, e, "cannot send database batch");
                break;
            }
        }
        if (!PQpipelineSync(c->pg)) {
            if (!ret) ret = pq_fail(c, NULL, e, "cannot send database batch");
            break;
        }
        int rc = pipeline_collect(c, sent, e);
        if (!ret) ret = rc;
    }
    if (!PQexitPipelineMode(c->pg) && !ret) ret = pq_fail(c, NULL, e, "cannot end database pipeline");
    return ret;
}

int pq_run(pq_conn *c, pq_id id, const char *sql, const pq_args *a, int64_t *affected, cerr *e) {
    PGresult *r = pq_exec(c, id, sql, a, e);
    if (!r) return -1;
    if (affected) *affected = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

int pq_simple(pq_conn *c, const char *sql, cerr *e) {
    PGresult *r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (!c->in_tx && PQstatus(c->pg) == CONNECTION_BAD) {
            PQclear(r);
            conn_reset(c);
            r = PQexec(c->pg, sql);
            if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
                PQclear(r);
                return 0;
            }
        }
        pq_fail(c, r, e, "database command failed");
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

int pq_begin(pq_conn *c, cerr *e) {
    if (pq_simple(c, "BEGIN", e)) return -1;
    c->in_tx = true;
    return 0;
}

int pq_commit(pq_conn *c, cerr *e) {
    int rc = pq_simple(c, "COMMIT", e);
    c->in_tx = false;
    if (rc) pq_rollback(c);
    return rc;
}

void pq_rollback(pq_conn *c) {
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) PQclear(PQexec(c->pg, "ROLLBACK"));
    c->in_tx = false;
}

/* ---- migrations ---- */

static int scalar_i64(pq_conn *c, const char *sql, int64_t *out, cerr *e) {
    PGresult *r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pq_fail(c, r, e, "database query failed");
        PQclear(r);
        return -1;
    }
    *out = pq_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_migrate(store *s, int *version_out, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = 0;
    for (int v = 0; v < postgres_migration_count && !ret; v++) {
        int64_t cur = 0;
        if (pq_begin(c, e)) {
            ret = -1;
            break;
        }
        /* The transaction-scoped advisory lock makes concurrent migrators take turns; each re-reads
         * the version after getting it, so a script another process applied is skipped. */
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)PQ_MIGRATION_LOCK);
        PGresult *r = PQexec(c->pg, sql);
        bool locked = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!locked) pq_fail(c, r, e, "cannot lock for migration");
        PQclear(r);
        if (!locked ||
            pq_simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", e) ||
            scalar_i64(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", &cur, e)) {
            ret = -1;
        } else if (cur > postgres_migration_count) {
            ret = cerr_set(e, CERR_INVALID, "database schema version %lld is newer than this program's (%d)",
                           (long long)cur, postgres_migration_count);
        } else if (cur <= v) {
            snprintf(sql, sizeof sql, "INSERT INTO schema_migrations(version, applied_at) VALUES(%d, %lld)", v + 1,
                     (long long)now_unix());
            if (pq_simple(c, postgres_migrations[v], e) || pq_simple(c, sql, e)) ret = cerr_wrap(e, "migration %d", v + 1);
        }
        if (ret) pq_rollback(c);
        else if (pq_commit(c, e)) ret = -1;
    }
    pq_release(s, c);
    if (!ret && version_out) *version_out = postgres_migration_count;
    return ret;
}

static int pg_ping(store *s, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int rc = pq_simple(c, "SELECT 1", e);
    pq_release(s, c);
    return rc;
}

/* ---- open / close ---- */

static void pg_close(store *base) {
    postgres_store *s = (postgres_store *)base;
    pthread_mutex_lock(&s->mu);
    for (pq_conn *c = s->idle, *next; c; c = next) {
        next = c->next;
        conn_free(c);
        s->open--;
    }
    s->idle = NULL;
    int busy = s->open;
    pthread_mutex_unlock(&s->mu);
    /* Closing under a running query is the caller's bug; leaking the connection beats a use-after-free. */
    if (busy) log_warn("PostgreSQL store closed with %d connection(s) still in use", busy);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s);
}

static int pg_open(const char *url, store **out, cerr *e) {
    *out = NULL;
    postgres_store *s = calloc(1, sizeof *s);
    if (!s || !(s->url = strdup(url))) {
        free(s);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    s->base.ops = &postgres_store_ops;
    int64_t max = PQ_POOL_DEFAULT;
    const char *pool = env_or("CHATTER_DB_POOL", NULL);
    if (pool && (parse_i64(pool, &max) || max < 1 || max > PQ_POOL_MAX)) {
        free(s->url);
        free(s);
        return cerr_set(e, CERR_INVALID, "CHATTER_DB_POOL must be 1..%d", PQ_POOL_MAX);
    }
    s->max = (int)max;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    /* One connection now, so a wrong URL or a server that is down fails at start-up. */
    pq_conn *c = pq_acquire(&s->base, e);
    if (!c) {
        pg_close(&s->base);
        return -1;
    }
    pq_release(&s->base, c);
    *out = &s->base;
    return 0;
}

const store_ops postgres_store_ops = {
    .scheme = "postgres",
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .ping = pg_ping,
    .job_create = pg_job_create,
    .job_get = pg_job_get,
    .job_tasks = pg_job_tasks,
    .job_list = pg_job_list,
    .job_delete = pg_job_delete,
    .tasks_unfinished = pg_tasks_unfinished,
    .task_start = pg_task_start,
    .post_state = pg_post_state,
    .post_claim = pg_post_claim,
    .comments_upsert = pg_comments_upsert,
    .post_fetched = pg_post_fetched,
    .task_select = pg_task_select,
    .task_unclassified = pg_task_unclassified,
    .sentiments_upsert = pg_sentiments_upsert,
    .task_finish = pg_task_finish,
    .task_note = pg_task_note,
    .jobs_active = pg_jobs_active,
    .tasks_stale = pg_tasks_stale,
    .purge = pg_purge,
    .results_page = pg_results_page,
};

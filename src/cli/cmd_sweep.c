/* cmd_sweep.c - `chatter sweep`: the housekeeping a cron job or a scheduled container runs.
 *   1. re-queues tasks whose post has had no live fetch lease for --stale-after seconds (a worker died
 *      with them, or the broker lost its messages): the database is the truth, the queue is rebuilt
 *      from it, and a duplicate message is harmless because every step is idempotent;
 *   2. deletes jobs older than the retention period, then the posts and comments no job links any more.
 * One line per action on stdout (or one JSON object with --json); exit 1 when any action failed. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"
#include "queue/queue.h"
#include "store/store.h"

#define DEFAULT_STALE_S 900
#define DEFAULT_RETENTION_DAYS 30

static void usage(FILE *f) {
    fprintf(f, "usage: chatter sweep [options]\n\n"
               "Re-queues stuck tasks and deletes jobs past the retention period. Safe to run from cron on\n"
               "any machine, as often as you like, while servers and workers run.\n\n"
               "  --stale-after SECONDS   re-queue unfinished tasks whose post has had no live fetch lease\n"
               "                          for this long (env CHATTER_SWEEP_STALE_S, default 900)\n"
               "  --retention-days N      delete jobs created more than N days ago, and the comments no\n"
               "                          remaining job needs (env CHATTER_RETENTION_DAYS, default 30;\n"
               "                          0 = keep forever)\n"
               "  --database-url URL      env DATABASE_URL (default sqlite://./chatter.db)\n"
               "  --redis-url URL         env REDIS_URL; without it there is no shared queue to re-queue\n"
               "                          into (the embedded server re-queues at start-up)\n"
               "  --json                  print one JSON object instead of text lines\n"
               "  -h, --help              this text\n");
}

typedef struct sweep_report {
    bool requeue_ran, purge_ran;
    int64_t stale_found, requeued;
    int64_t jobs_deleted, comments_deleted;
    int64_t purge_before;
    char requeue_error[sizeof ((cerr *)0)->msg], purge_error[sizeof ((cerr *)0)->msg];
} sweep_report;

typedef struct requeue_ctx {
    queue *q;
    sweep_report *r;
    cerr *e;
} requeue_ctx;

static int requeue_one(void *ud, const task_info *t) {
    requeue_ctx *c = ud;
    c->r->stale_found++;
    if (!c->q) return 0;
    if (c->q->ops->push(c->q, t->job_id, t->post_ref, 0, c->e)) return -1;
    c->r->requeued++;
    return 0;
}

static void print_text(const sweep_report *r, int64_t stale_s, int64_t retention_days) {
    if (r->requeue_error[0])
        printf("re-queue failed after %lld of %lld stale tasks: %s\n", (long long)r->requeued,
               (long long)r->stale_found, r->requeue_error);
    else if (r->requeue_ran)
        printf("re-queued %lld tasks with no live fetch lease for %llds\n", (long long)r->requeued, (long long)stale_s);
    else
        printf("found %lld unfinished tasks with no live fetch lease for %llds; not re-queued: no REDIS_URL "
               "(the embedded server re-queues them when it starts)\n",
               (long long)r->stale_found, (long long)stale_s);
    if (retention_days == 0) {
        printf("retention: keeping every job (retention 0 days)\n");
    } else {
        char when[21];
        format_iso8601(r->purge_before, when);
        if (r->purge_error[0])
            printf("purge of jobs created before %s failed: %s\n", when, r->purge_error);
        else
            printf("deleted %lld jobs created before %s and %lld comments no remaining job needs\n",
                   (long long)r->jobs_deleted, when, (long long)r->comments_deleted);
    }
}

static void print_json(const sweep_report *r, int64_t stale_s, int64_t retention_days) {
    char when[21] = "";
    if (retention_days) format_iso8601(r->purge_before, when);
    json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I}", "ok", !r->requeue_error[0] && !r->purge_error[0],
                          "stale_after_s", (json_int_t)stale_s, "stale_found", (json_int_t)r->stale_found,
                          "requeued", (json_int_t)r->requeued, "retention_days", (json_int_t)retention_days);
    if (!o) return;
    json_object_set_new(o, "queue", json_string(r->requeue_ran ? "redis" : "none"));
    json_object_set_new(o, "purged_before", retention_days ? json_string(when) : json_null());
    json_object_set_new(o, "jobs_deleted", json_integer(r->jobs_deleted));
    json_object_set_new(o, "comments_deleted", json_integer(r->comments_deleted));
    if (r->requeue_error[0]) json_object_set_new(o, "requeue_error", json_string(r->requeue_error));
    if (r->purge_error[0]) json_object_set_new(o, "purge_error", json_string(r->purge_error));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    json_decref(o);
}

int cmd_sweep(int argc, char **argv) {
    const char *db = env_or("DATABASE_URL", "sqlite://./chatter.db");
    const char *redis = env_or("REDIS_URL", NULL);
    int64_t stale_s, retention_days;
    if (cli_env_int("CHATTER_SWEEP_STALE_S", 1, 365LL * 86400, DEFAULT_STALE_S, &stale_s) ||
        cli_env_int("CHATTER_RETENTION_DAYS", 0, 100000, DEFAULT_RETENTION_DAYS, &retention_days))
        return EXIT_USAGE;
    bool as_json = false;
    static const struct option opts[] = {{"stale-after", required_argument, 0, 's'},
                                         {"retention-days", required_argument, 0, 'R'},
                                         {"database-url", required_argument, 0, 'd'},
                                         {"redis-url", required_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cli_int_arg("--stale-after", optarg, 1, 365LL * 86400, &stale_s)) return EXIT_USAGE;
            break;
        case 'R':
            if (cli_int_arg("--retention-days", optarg, 0, 100000, &retention_days)) return EXIT_USAGE;
            break;
        case 'd': db = optarg; break;
        case 'r': redis = optarg; break;
        case 'j': as_json = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chatter sweep: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    cerr e;
    store *st = NULL;
    queue *q = NULL;
    if (store_open(db, &st, &e)) {
        fprintf(stderr, "chatter sweep: %s\n", e.msg);
        return e.code == CERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
    }
    /* An in-process queue would die with this process: only a shared broker is worth pushing to. */
    if (redis && *redis && queue_open(redis, &q, &e)) {
        fprintf(stderr, "chatter sweep: %s\n", e.msg);
        store_close(st);
        return e.code == CERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
    }

    sweep_report r = {.requeue_ran = q != NULL};
    requeue_ctx rc = {.q = q, .r = &r, .e = &e};
    if (st->ops->tasks_stale(st, stale_s, requeue_one, &rc, &e)) {
        snprintf(r.requeue_error, sizeof r.requeue_error, "%s", e.msg);
        log_error("sweep: re-queue: %s", e.msg);
    }
    if (retention_days > 0) {
        r.purge_ran = true;
        r.purge_before = now_unix() - retention_days * 86400;
        if (st->ops->purge(st, r.purge_before, &r.jobs_deleted, &r.comments_deleted, &e)) {
            snprintf(r.purge_error, sizeof r.purge_error, "%s", e.msg);
            log_error("sweep: purge: %s", e.msg);
        }
    }
    if (as_json) print_json(&r, stale_s, retention_days);
    else print_text(&r, stale_s, retention_days);
    fflush(stdout);
    if (q) queue_close(q);
    store_close(st);
    return r.requeue_error[0] || r.purge_error[0] ? EXIT_RUNTIME : EXIT_OK;
}

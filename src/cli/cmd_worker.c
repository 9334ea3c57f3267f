#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/runtime.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"

static void usage(FILE *f) {
    fprintf(f, "usage: chatter worker [options]\n\n"
               "Runs workers only (no HTTP), for the scale-out deployment with PostgreSQL and Redis.\n\n"
               "  --concurrency N      worker threads (env CHATTER_WORKERS, default = cores)\n"
               "  --database-url URL   env DATABASE_URL\n"
               "  --redis-url URL      env REDIS_URL (required unless testing with the in-process queue)\n"
               "  --analyzer NAME      auto | vader | roberta | azure (env CHATTER_ANALYZER)\n"
               "  --model-dir DIR      the analyzer's files\n"
               "  --quantize MODE      none | int8\n"
               "  --grace SECONDS      on SIGTERM/SIGINT, let in-flight posts finish this long, then hand\n"
               "                       them back to the queue (env CHATTER_GRACE_S, default 30)\n"
               "  -h, --help           this text\n");
}

int cmd_worker(int argc, char **argv) {
    runtime_opts ro;
    if (runtime_opts_from_env(&ro)) return EXIT_USAGE;
    static const struct option opts[] = {{"concurrency", required_argument, 0, 'c'},
                                         {"database-url", required_argument, 0, 'd'},
                                         {"redis-url", required_argument, 0, 'r'},
                                         {"analyzer", required_argument, 0, 'a'},
                                         {"model-dir", required_argument, 0, 'm'},
                                         {"quantize", required_argument, 0, 'q'},
                                         {"grace", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c;
    int64_t v, grace_s;
    if (cli_env_int("CHATTER_GRACE_S", 0, 86400, RUNTIME_DEFAULT_GRACE_S, &grace_s)) return EXIT_USAGE;
    optind = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (cli_int_arg("--concurrency", optarg, 1, 256, &v)) return EXIT_USAGE;
            ro.pipeline.workers = (int)v;
            break;
        case 'd': ro.database_url = optarg; break;
        case 'r': ro.redis_url = optarg; break;
        case 'a': ro.analyzer = optarg; break;
        case 'm': ro.model_dir = optarg; break;
        case 'q': ro.quantize = optarg; break;
        case 'g':
            if (cli_int_arg("--grace", optarg, 0, 86400, &grace_s)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (ro.pipeline.workers < 1) ro.pipeline.workers = 1;
    sigset_t sigs;
    runtime_block_signals(&sigs);
    cerr e;
    if (http_global_init(&e)) return fprintf(stderr, "chatter worker: %s\n", e.msg), EXIT_RUNTIME;
    runtime rt;
    if (runtime_open(&ro, &rt, &e)) {
        fprintf(stderr, "chatter worker: %s\n", e.msg);
        http_global_cleanup();
        return EXIT_RUNTIME;
    }
    int sig = runtime_wait_signal(&sigs);
    log_info("signal %d: draining (in-flight posts get %llds, then go back to the queue)", sig, (long long)grace_s);
    if (!pipeline_drain(rt.pl, grace_s * 1000, RUNTIME_HAND_BACK_MS)) {
        /* Freeing what a running thread uses would crash; leaving the process does not lose the post:
         * its message is still pending and the broker redelivers it after the visibility timeout. */
        log_warn("a post is still in flight %llds after the grace period; exiting without it",
                 (long long)RUNTIME_HAND_BACK_MS / 1000);
        return EXIT_RUNTIME;
    }
    runtime_close(&rt);
    http_global_cleanup();
    log_info("stopped");
    return EXIT_OK;
}

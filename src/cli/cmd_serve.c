#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "auth/oidc.h"
#include "cli/cli.h"
#include "cli/runtime.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sources/resolve.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: chatter serve [options]\n\n"
            "Runs the HTTP API and web page; with the embedded default it also runs the workers.\n\n"
            "  --listen ADDR:PORT     address to listen on (env CHATTER_LISTEN, default 127.0.0.1:8080)\n"
            "  --workers N            worker threads in this process (env CHATTER_WORKERS, default = cores)\n"
            "  --no-workers           HTTP only (scale-out: workers run as `chatter worker`)\n"
            "  --database-url URL     sqlite://PATH or postgres://... (env DATABASE_URL,\n"
            "                         default sqlite://./chatter.db)\n"
            "  --redis-url URL        redis://HOST:PORT/DB broker (env REDIS_URL; default in-process queue)\n"
            "  --analyzer NAME        auto | vader | roberta | azure (env CHATTER_ANALYZER, default auto:\n"
            "                         roberta when its files are installed, else vader)\n"
            "  --model-dir DIR        the analyzer's files (default: installed by `chatter model fetch`)\n"
            "  --quantize MODE        none | int8 for the transformer (env CHATTER_QUANTIZE)\n"
            "  --freshness SECONDS    reuse a post fetched this recently (env CHATTER_FRESHNESS_S, 21600)\n"
            "  --http-threads N       HTTP threads (env CHATTER_HTTP_THREADS, default 4)\n"
            "  --grace SECONDS        on SIGTERM/SIGINT, in-flight posts get this long to finish, then go\n"
            "                         back to the queue (env CHATTER_GRACE_S, default 30)\n"
            "  --insecure-no-auth     allow a non-loopback --listen without OIDC_ISSUER\n"
            "  -h, --help             this text\n");
}

static int verify_bearer(void *ctx, const char *authorization, char *owner, size_t owner_cap, bool *admin,
                         char *www_authenticate, size_t cap, cerr *e) {
    auth_identity id;
    if (oidc_verify(ctx, authorization, &id, www_authenticate, cap, e)) return -1;
    snprintf(owner, owner_cap, "%s", id.owner);
    *admin = id.admin;
    return 0;
}

static int64_t take_create_token(void *ctx, const char *owner) {
    long wait_s = 0;
    return ratelimit_take(ctx, owner, &wait_s) ? 0 : wait_s;
}

static bool listen_is_loopback(const char *listen) {
    return str_starts_with(listen, "127.") || str_starts_with(listen, "[::1]") || str_starts_with(listen, "localhost:");
}

int cmd_serve(int argc, char **argv) {
    runtime_opts ro;
    if (runtime_opts_from_env(&ro)) return EXIT_USAGE;
    api_config ac;
    api_config_defaults(&ac);
    ac.listen = env_or("CHATTER_LISTEN", ac.listen);
    ac.resolve = resolve_link_text; /* TikTok short links, hop by hop (sources/resolve.h) */
    int64_t v;
    if (cli_env_int("CHATTER_HTTP_THREADS", 1, 256, ac.threads, &v)) return EXIT_USAGE;
    ac.threads = (int)v;
    if (cli_env_int("CHATTER_HTTP_TIMEOUT_S", 1, 3600, ac.connection_timeout_s, &v)) return EXIT_USAGE;
    ac.connection_timeout_s = (unsigned)v;
    if (cli_env_int("CHATTER_HTTP_MAX_CONNECTIONS", 1, 100000, ac.connection_limit, &v)) return EXIT_USAGE;
    ac.connection_limit = (unsigned)v;
    if (cli_env_int("CHATTER_HTTP_PER_IP_CONNECTIONS", 1, 100000, ac.per_ip_connection_limit, &v)) return EXIT_USAGE;
    ac.per_ip_connection_limit = (unsigned)v;
    int64_t grace_s;
    if (cli_env_int("CHATTER_GRACE_S", 0, 86400, RUNTIME_DEFAULT_GRACE_S, &grace_s)) return EXIT_USAGE;
    bool insecure = false;
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},   {"workers", required_argument, 0, 'w'},
        {"no-workers", no_argument, 0, 'W'},     {"database-url", required_argument, 0, 'd'},
        {"redis-url", required_argument, 0, 'r'}, {"analyzer", required_argument, 0, 'a'},
        {"model-dir", required_argument, 0, 'm'}, {"quantize", required_argument, 0, 'q'},
        {"freshness", required_argument, 0, 'f'}, {"http-threads", required_argument, 0, 't'},
        {"insecure-no-auth", no_argument, 0, 'I'}, {"grace", required_argument, 0, 'g'},
        {"help", no_argument, 0, 'h'},
        {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "l:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': ac.listen = optarg; break;
        case 'w':
            if (cli_int_arg("--workers", optarg, 0, 256, &v)) return EXIT_USAGE;
            ro.pipeline.workers = (int)v;
            break;
        case 'W': ro.pipeline.workers = 0; break;
        case 'd': ro.database_url = optarg; break;
        case 'r': ro.redis_url = optarg; break;
        case 'a': ro.analyzer = optarg; break;
        case 'm': ro.model_dir = optarg; break;
        case 'q': ro.quantize = optarg; break;
        case 'f':
            if (cli_int_arg("--freshness", optarg, 0, 365LL * 86400, &v)) return EXIT_USAGE;
            ro.pipeline.freshness_s = v;
            break;
        case 't':
            if (cli_int_arg("--http-threads", optarg, 1, 256, &v)) return EXIT_USAGE;
            ac.threads = (int)v;
            break;
        case 'I': insecure = true; break;
        case 'g':
            if (cli_int_arg("--grace", optarg, 0, 86400, &grace_s)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chatter serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    cerr e;
    oidc_config oc;
    bool auth_on = false;
    if (oidc_config_from_env(&oc, &auth_on, &e)) {
        fprintf(stderr, "chatter serve: %s\n", e.msg);
        return EXIT_USAGE;
    }
    int64_t per_min, burst, running_cap;
    if (cli_env_int("CHATTER_JOBS_PER_MINUTE", 0, 100000, 30, &per_min) ||
        cli_env_int("CHATTER_JOBS_BURST", 1, 100000, 10, &burst) ||
        cli_env_int("CHATTER_MAX_ACTIVE_JOBS", 0, 100000, 20, &running_cap))
        return EXIT_USAGE;
    ac.max_running_jobs_per_user = (int)running_cap;
    int64_t pool;
    if (cli_env_int("CHATTER_SAMPLE_POOL", 1, SAMPLE_POOL_MAX, ac.sample_pool, &pool)) return EXIT_USAGE;
    ac.sample_pool = pool;
    if (!auth_on && !listen_is_loopback(ac.listen) && !insecure) {
        fprintf(stderr,
                "chatter serve: refusing to listen on %s without authentication: anyone who can reach it could "
                "read every job. Set OIDC_ISSUER (see README), listen on 127.0.0.1, or pass --insecure-no-auth.\n",
                ac.listen);
        return EXIT_USAGE;
    }

    oidc_verifier *verifier = NULL;
    ratelimit *creations = NULL;
    if (auth_on) {
        if (oidc_verifier_new(&oc, &verifier, &e)) {
            fprintf(stderr, "chatter serve: %s\n", e.msg);
            return EXIT_USAGE;
        }
        ac.auth = verify_bearer;
        ac.auth_ctx = verifier;
    }
    if (per_min > 0) {
        if (ratelimit_new((double)per_min, (double)burst, 10000, &creations, &e)) {
            oidc_verifier_free(verifier);
            fprintf(stderr, "chatter serve: %s\n", e.msg);
            return EXIT_USAGE;
        }
        ac.create_limit = take_create_token;
        ac.create_limit_ctx = creations;
    }

    sigset_t sigs;
    runtime_block_signals(&sigs);
    if (http_global_init(&e)) return fprintf(stderr, "chatter serve: %s\n", e.msg), EXIT_RUNTIME;
    runtime rt;
    if (runtime_open(&ro, &rt, &e)) {
        fprintf(stderr, "chatter serve: %s\n", e.msg);
        http_global_cleanup();
        oidc_verifier_free(verifier);
        ratelimit_free(creations);
        return e.code == CERR_INVALID || e.code == CERR_NOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    ac.default_analyzer = ro.analyzer;
    api_server *srv = NULL;
    if (api_start(&ac, rt.st, rt.q, &rt.src, &srv, &e)) {
        fprintf(stderr, "chatter serve: %s\n", e.msg);
        rc = EXIT_RUNTIME;
    } else {
        log_info("listening on %s (port %d), %d workers", ac.listen, api_port(srv), ro.pipeline.workers);
        int sig = runtime_wait_signal(&sigs);
        log_info("signal %d: stopping (in-flight posts get %llds to finish)", sig, (long long)grace_s);
        api_stop(srv);
    }
    if (!pipeline_drain(rt.pl, grace_s * 1000, RUNTIME_HAND_BACK_MS)) {
        /* a thread still uses the runtime: leave it be; the database says what is unfinished */
        log_warn("a post is still in flight after the grace period; exiting without it");
        return EXIT_RUNTIME;
    }
    runtime_close(&rt);
    oidc_verifier_free(verifier);
    ratelimit_free(creations);
    http_global_cleanup();
    log_info("stopped");
    return rc;
}

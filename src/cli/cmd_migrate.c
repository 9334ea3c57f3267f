#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "store/store.h"

static void usage(FILE *f) {
    fprintf(f, "usage: chatter migrate [--database-url URL]\n\n"
               "Applies the schema migrations built into this binary (idempotent).\n"
               "  --database-url URL  sqlite://PATH or postgres://... (env DATABASE_URL,\n"
               "                      default sqlite://./chatter.db)\n");
}

int cmd_migrate(int argc, char **argv) {
    const char *db = env_or("DATABASE_URL", "sqlite://./chatter.db");
    static const struct option opts[] = {{"database-url", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 'h') return usage(stdout), EXIT_OK;
        else return usage(stderr), EXIT_USAGE;
    }
    if (optind < argc) return fprintf(stderr, "chatter migrate: unexpected argument '%s'\n", argv[optind]), EXIT_USAGE;
    store *st;
    cerr e;
    int version = 0;
    if (store_open(db, &st, &e)) return fprintf(stderr, "chatter migrate: %s\n", e.msg), EXIT_RUNTIME;
    int rc = st->ops->migrate(st, &version, &e);
    store_close(st);
    if (rc) return fprintf(stderr, "chatter migrate: %s\n", e.msg), EXIT_RUNTIME;
    printf("schema is at version %d\n", version);
    return EXIT_OK;
}

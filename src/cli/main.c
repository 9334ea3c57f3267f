/* main.c - `chatter`: one binary for the server, the workers and the command-line tools. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_model.h"
#include "core/log.h"
#include "core/util.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_model(int argc, char **argv);

static const command COMMANDS[] = {
    {"serve", cmd_serve, "run the HTTP API and web page (and, embedded, the workers)"},
    {"worker", cmd_worker, "run workers only (scale-out with PostgreSQL + Redis)"},
    {"analyze", cmd_analyze, "classify comments from stdin, a file or a CSV column"},
    {"migrate", cmd_migrate, "apply the database schema migrations"},
    {"sweep", cmd_sweep, "re-queue stuck tasks, delete jobs past retention (for cron)"},
    {"model", cmd_model, "fetch | run | info: manage and run sentiment models"},
    {"tokenize", cmd_tokenize, "show the RoBERTa input ids of JSON-lines texts"},
};

static const command MODEL_COMMANDS[] = {
    {"fetch", cmd_model_fetch, "install a model's files (vader, roberta), checked against pinned sha256s"},
    {"run", cmd_model_run, "run token-id batches through a transformer model directory"},
    {"info", cmd_model_info, "describe a model directory (config, parameters, format)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: chatter [--log-level debug|info|warn|error] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\n`chatter COMMAND --help` describes each command. `chatter --version` prints the version.\n"
               "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n");
}

static int cmd_model(int argc, char **argv) {
    size_t n = sizeof MODEL_COMMANDS / sizeof *MODEL_COMMANDS;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: chatter model SUBCOMMAND [ARGS]\n\n");
        for (size_t i = 0; i < n; i++) fprintf(f, "  %-8s %s\n", MODEL_COMMANDS[i].name, MODEL_COMMANDS[i].summary);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], MODEL_COMMANDS[i].name) == 0) return MODEL_COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "chatter model: unknown subcommand '%s' (see chatter model --help)\n", argv[1]);
    return EXIT_USAGE;
}

int main(int argc, char **argv) {
    int i = 1;
    log_level lvl = LOG_INFO;
    const char *env_level = env_or("CHATTER_LOG_LEVEL", NULL);
    if (env_level && log_parse_level(env_level, &lvl)) {
        fprintf(stderr, "chatter: CHATTER_LOG_LEVEL must be debug, info, warn or error\n");
        return EXIT_USAGE;
    }
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("chatter %s\n", CHATTER_VERSION);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            if (log_parse_level(argv[++i], &lvl)) {
                fprintf(stderr, "chatter: --log-level must be debug, info, warn or error\n");
                return EXIT_USAGE;
            }
            continue;
        }
        fprintf(stderr, "chatter: unknown option '%s'\n", argv[i]);
        usage(stderr);
        return EXIT_USAGE;
    }
    log_set_level(lvl);
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof COMMANDS / sizeof *COMMANDS; k++)
        if (strcmp(argv[i], COMMANDS[k].name) == 0) return COMMANDS[k].run(argc - i, argv + i);
    fprintf(stderr, "chatter: unknown command '%s' (see chatter --help)\n", argv[i]);
    return EXIT_USAGE;
}

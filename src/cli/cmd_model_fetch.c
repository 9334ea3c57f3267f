/* cmd_model_fetch.c - `chatter model fetch NAME [--from DIR] [--dir DEST]`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_model.h"
#include "models/model_fetch.h"
#include "sentiment/analyzer.h"

static void usage(FILE *out) {
    char dir[4096];
    cerr e;
    if (analyzer_model_path("NAME", dir, sizeof dir, &e)) snprintf(dir, sizeof dir, "(none: %s)", e.msg);
    fprintf(out,
            "usage: chatter model fetch NAME [--from DIR] [--dir DEST]\n"
            "\n"
            "Installs model NAME (%s), checking every file against its pinned sha256, into\n"
            "%s ($CHATTER_MODEL_DIR/NAME, else $XDG_DATA_HOME/chatter/models/NAME,\n"
            "else ~/.local/share/chatter/models/NAME). Downloads resume where an interrupted run stopped.\n"
            "\n"
            "  --from DIR   copy the files from a local folder instead of downloading (offline machines)\n"
            "  --dir DEST   install into DEST/NAME instead\n"
            "  -h, --help   show this help\n",
            model_spec_names(), dir);
}

int cmd_model_fetch(int argc, char **argv) {
    const char *name = NULL, *from = NULL, *dest = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--from") == 0 && i + 1 < argc) {
            from = argv[++i];
        } else if (strncmp(a, "--from=", 7) == 0) {
            from = a + 7;
        } else if (strcmp(a, "--dir") == 0 && i + 1 < argc) {
            dest = argv[++i];
        } else if (strncmp(a, "--dir=", 6) == 0) {
            dest = a + 6;
        } else if (a[0] != '-' && !name) {
            name = a;
        } else {
            fprintf(stderr, "chatter model fetch: unexpected argument '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!name) {
        fprintf(stderr, "chatter model fetch: which model? (%s)\n", model_spec_names());
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!model_spec_find(name)) {
        fprintf(stderr, "chatter model fetch: unknown model '%s' (known: %s)\n", name, model_spec_names());
        return EXIT_USAGE;
    }
    cerr e = {0};
    if (model_fetch(name, from, dest, isatty(STDERR_FILENO) == 1, &e)) {
        fprintf(stderr, "chatter model fetch: %s\n", e.msg);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

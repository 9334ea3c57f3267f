/* cmd_model_fetch.c - `chatter model fetch NAME [--from DIR] [--dir DEST]`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "models/model_fetch.h"

static void usage(FILE *out) {
    char root[4096];
    cerr e;
    if (model_default_root(root, sizeof root, &e)) snprintf(root, sizeof root, "(unset: %s)", e.msg);
    fprintf(out,
            "usage: chatter model fetch NAME [--from DIR] [--dir DEST]\n"
            "\n"
            "Installs model NAME (%s) into DEST/NAME/, checking every file against its pinned sha256.\n"
            "Downloads resume where an interrupted run stopped.\n"
            "\n"
            "  --from DIR   copy the files from a local folder instead of downloading (offline machines)\n"
            "  --dir DEST   models folder (default: %s, from $CHATTER_MODEL_DIR,\n"
            "               else $XDG_DATA_HOME/chatter/models, else ~/.local/share/chatter/models)\n"
            "  -h, --help   show this help\n",
            model_spec_names(), root);
}

int cmd_model_fetch(int argc, char **argv) {
    const char *name = NULL, *from = NULL, *dest = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
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
            return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "chatter model fetch: which model? (%s)\n", model_spec_names());
        usage(stderr);
        return 2;
    }
    if (!model_spec_find(name)) {
        fprintf(stderr, "chatter model fetch: unknown model '%s' (known: %s)\n", name, model_spec_names());
        return 2;
    }
    cerr e = {0};
    if (model_fetch(name, from, dest, isatty(STDERR_FILENO) == 1, &e)) {
        fprintf(stderr, "chatter model fetch: %s\n", e.msg);
        return 1;
    }
    return 0;
}

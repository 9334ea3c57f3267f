/* cli.h - the subcommands of `chatter`, one file each, and what they share. Exit codes (documented in
 * README): 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef CHATTER_CLI_CLI_H
#define CHATTER_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
/* chatter tokenize --model-dir DIR [--no-preprocess]: JSON lines {"text"} in, {"ids"} out */
int cmd_tokenize(int argc, char **argv);

/* Integer option with bounds, for getopt loops: prints the error and returns -1 when invalid. */
int cli_int_arg(const char *opt, const char *value, int64_t lo, int64_t hi, int64_t *out);
/* An environment variable as an integer (fallback when unset); -1 with a message when malformed. */
int cli_env_int(const char *name, int64_t lo, int64_t hi, int64_t fallback, int64_t *out);

#endif

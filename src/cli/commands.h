/* commands.h - entry points of the chatter subcommands, called by main.c's dispatcher.
 * Each takes the arguments after "chatter" with argv[0] = its own name (e.g. "tokenize", or "fetch" for
 * `chatter model fetch`), returns the process exit status (0 ok, 1 runtime error, 2 usage), and prints its
 * own errors to stderr. Other commands append their prototypes here. */
#ifndef CHATTER_CLI_COMMANDS_H
#define CHATTER_CLI_COMMANDS_H

/* chatter tokenize --model-dir DIR [--no-preprocess] : JSON lines {"text": ...} in, {"ids": [...]} out */
int cmd_tokenize(int argc, char **argv);
/* chatter model fetch NAME [--from DIR] [--dir DEST] */
int cmd_model_fetch(int argc, char **argv);

#endif

/* cmd_model.h - `chatter model fetch | run | info`: installing models and running the RoBERTa engine. */
#ifndef CHATTER_CLI_CMD_MODEL_H
#define CHATTER_CLI_CMD_MODEL_H

/* argv[0] is the subcommand name ("run" / "info"). Exit codes: 0 ok, 1 runtime error, 2 usage error. */
int cmd_model_run(int argc, char **argv);
int cmd_model_info(int argc, char **argv);
/* fetch NAME [--from DIR] [--dir DEST] */
int cmd_model_fetch(int argc, char **argv);

#endif

/* log.h - leveled, line-atomic logging to stderr. The level is set once in main before threads start. */
#ifndef CHATTER_CORE_LOG_H
#define CHATTER_CORE_LOG_H

#include "core/err.h"

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level lvl);       /* call from main only */
int log_parse_level(const char *s, log_level *out);
void log_msg(log_level lvl, const char *fmt, ...) CH_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

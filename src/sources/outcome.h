/* outcome.h - filling a fetch_outcome, and quoting upstream error text in it safely. */
#ifndef CHATTER_SOURCES_OUTCOME_H
#define CHATTER_SOURCES_OUTCOME_H

#include <stddef.h>

#include "sources/source.h"

void outcome_init(fetch_outcome *o);
/* Sets status and reason (truncated to fit); keeps the other fields. */
void outcome_set(fetch_outcome *o, fetch_status st, const char *fmt, ...) CH_PRINTF(3, 4);
/* Copies an upstream message for a reason: at most max bytes, control characters dropped, quotes
 * replaced, so a hostile server cannot forge lines or break the CSV/JSON it ends up in. */
void outcome_quote(char *dst, size_t cap, const char *src, size_t max);

#endif

/* queue_impl.h - the implementations queue.c can choose from (not for callers: use queue_open). */
#ifndef CHATTER_QUEUE_QUEUE_IMPL_H
#define CHATTER_QUEUE_QUEUE_IMPL_H

#include <stddef.h>

#include "queue/queue.h"

/* Hard cap on messages held (ready + delayed) so a runaway producer fails loudly instead of eating memory. */
#define QUEUE_DEFAULT_MAX_MESSAGES 1000000

/* Copies the value of query parameter key ("...?key=value&...") into out. Returns 1 when found, 0 when
 * absent, -1 when the value does not fit. No percent-decoding: our settings are plain tokens. */
int queue_url_param(const char *url, const char *key, char *out, size_t size);

extern const queue_ops inproc_queue_ops;
extern const queue_ops redis_queue_ops;

#endif

/* queue.c - picks the queue implementation from the URL scheme. */
#include "queue/queue.h"

#include <string.h>

#include "queue/queue_impl.h"

/* Every implementation, by scheme. Adding one means adding a line here and a file beside this one. */
static const queue_ops *const registry[] = {
    &inproc_queue_ops,
    &redis_queue_ops,
};

int queue_open(const char *url, queue **out, cerr *e) {
    *out = NULL;
    if (!url || !*url) return inproc_queue_ops.open(NULL, out, e);
    const char *sep = strstr(url, "://");
    if (!sep) return cerr_set(e, CERR_INVALID, "queue URL has no scheme (expected redis://host:port/db)");
    size_t n = (size_t)(sep - url);
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        const char *s = registry[i]->scheme;
        if (strlen(s) == n && strncmp(url, s, n) == 0) return registry[i]->open(url, out, e);
    }
    return cerr_set(e, CERR_INVALID, "unsupported queue URL scheme '%.*s'", (int)(n > 32 ? 32 : n), url);
}

int queue_url_param(const char *url, const char *key, char *out, size_t size) {
    const char *q = url ? strchr(url, '?') : NULL;
    size_t klen = strlen(key);
    while (q) {
        q++;
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen + 1 > size) return -1;
            memcpy(out, q + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        q = end;
    }
    return 0;
}

void queue_close(queue *q) {
    if (q) q->ops->close(q);
}

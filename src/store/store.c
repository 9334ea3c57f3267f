/* store.c - picks the store implementation from the URL scheme; status names shared by all backends. */
#include "store/store.h"

#include <string.h>

#include "core/util.h"

extern const store_ops sqlite_store_ops;
extern const store_ops postgres_store_ops;

/* One line per backend. A URL with no "scheme://" is a SQLite file path. */
static const struct {
    const char *prefix;
    const store_ops *ops;
} registry[] = {
    {"sqlite://", &sqlite_store_ops},
    {"postgres://", &postgres_store_ops},
    {"postgresql://", &postgres_store_ops},
};

int store_open(const char *url, store **out, cerr *e) {
    *out = NULL;
    if (!url || !*url) return cerr_set(e, CERR_INVALID, "empty database URL");
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (str_starts_with(url, registry[i].prefix)) return registry[i].ops->open(url, out, e);
    if (strstr(url, "://"))
        return cerr_set(e, CERR_INVALID, "unsupported database URL scheme in '%.*s' (use sqlite:// or postgres://)",
                        (int)(strstr(url, "://") - url), url);
    return sqlite_store_ops.open(url, out, e);
}

void store_close(store *s) {
    if (s) s->ops->close(s);
}

static const char *const job_names[] = {"queued", "running", "done", "partial", "failed"};
static const char *const task_names[] = {"queued", "fetching", "classifying", "done", "failed"};

const char *job_status_name(job_status s) {
    return (unsigned)s < sizeof job_names / sizeof job_names[0] ? job_names[s] : "unknown";
}

const char *task_status_name(task_status s) {
    return (unsigned)s < sizeof task_names / sizeof task_names[0] ? task_names[s] : "unknown";
}

int job_status_from_name(const char *s, job_status *out) {
    for (size_t i = 0; s && i < sizeof job_names / sizeof job_names[0]; i++)
        if (strcmp(s, job_names[i]) == 0) {
            *out = (job_status)i;
            return 0;
        }
    return -1;
}

int task_status_from_name(const char *s, task_status *out) {
    for (size_t i = 0; s && i < sizeof task_names / sizeof task_names[0]; i++)
        if (strcmp(s, task_names[i]) == 0) {
            *out = (task_status)i;
            return 0;
        }
    return -1;
}

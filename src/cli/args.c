#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/util.h"

int cli_int_arg(const char *opt, const char *value, int64_t lo, int64_t hi, int64_t *out) {
    if (parse_i64(value, out) || *out < lo || *out > hi) {
        fprintf(stderr, "chatter: %s expects an integer from %lld to %lld, got '%s'\n", opt, (long long)lo,
                (long long)hi, value);
        return -1;
    }
    return 0;
}

int cli_env_int(const char *name, int64_t lo, int64_t hi, int64_t fallback, int64_t *out) {
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = fallback;
        return 0;
    }
    return cli_int_arg(name, v, lo, hi, out);
}

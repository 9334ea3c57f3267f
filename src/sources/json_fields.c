#include "sources/json_fields.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

const char *jf_str(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int id_char(int c) { return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':'; }

int jf_id(const json_t *v, char out[JF_ID_MAX]) {
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) return -1;
        return sbprintf(out, JF_ID_MAX, "%" JSON_INTEGER_FORMAT, i);
    }
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (!s || !*s) return -1;
    size_t n = strlen(s);
    if (n >= JF_ID_MAX) return -1;
    for (size_t i = 0; i < n; i++)
        if (!id_char((unsigned char)s[i])) return -1;
    memcpy(out, s, n + 1);
    return 0;
}

int parse_count(const char *s, int64_t *out) {
    int64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;
    while (*p == ' ') p++;
    if (!isdigit((unsigned char)*p)) return -1;
    for (; isdigit((unsigned char)*p) || *p == ','; p++) {
        if (*p == ',') continue;
        if (whole > (INT64_MAX - 9) / 10) return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++)
            if (scale < 1000000) frac = frac * 10 + (*p - '0'), scale *= 10;
    }
    while (*p == ' ') p++;
    int64_t mult = 1;
    switch (*p) {
    case 'k': case 'K': mult = 1000; p++; break;
    case 'm': case 'M': mult = 1000000; p++; break;
    case 'b': case 'B': mult = 1000000000; p++; break;
    default: break;
    }
    while (*p == ' ') p++;
    if (*p) return -1;
    if (whole > INT64_MAX / mult / 2) return -1;
    *out = whole * mult + frac * mult / scale;
    return 0;
}

int64_t jf_count(const json_t *v) {
    if (json_is_integer(v)) return json_integer_value(v) < 0 ? -1 : json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return (d >= 0 && d < 9e18 && d == (double)(int64_t)d) ? (int64_t)d : -1;
    }
    int64_t n;
    if (json_is_string(v) && parse_count(json_string_value(v), &n) == 0) return n;
    return -1;
}

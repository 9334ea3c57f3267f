#include "sources/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

char *field_dup(const char *s, size_t max) {
    if (!s) return NULL;
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        n = max;
        /* step back over continuation bytes to the start of the character that straddles the cut */
        size_t k = n;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        n = k;
    }
    return xstrndup(s, n);
}

static bool digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

bool field_timestamp(const char *in, char out[21]) {
    if (!in || strnlen(in, 40) < 19 || !digits(in, 4) || in[4] != '-' || !digits(in + 5, 2) || in[7] != '-' ||
        !digits(in + 8, 2) || (in[10] != 'T' && in[10] != 't' && in[10] != ' ') || !digits(in + 11, 2) ||
        in[13] != ':' || !digits(in + 14, 2) || in[16] != ':' || !digits(in + 17, 2))
        return false;
    struct tm tm = {
        .tm_year = num(in, 4) - 1900,
        .tm_mon = num(in + 5, 2) - 1,
        .tm_mday = num(in + 8, 2),
        .tm_hour = num(in + 11, 2),
        .tm_min = num(in + 14, 2),
        .tm_sec = num(in + 17, 2),
    };
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    const char *p = in + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
        offset = (num(p + 1, 2) * 60L + num(p + 4, 2)) * 60L * (*p == '-' ? -1 : 1);
        p += 6;
    } else if ((*p == '+' || *p == '-') && digits(p + 1, 4)) {
        /* ISO 8601 basic offset, as the Instagram Graph API sends it ("+0000") */
        offset = (num(p + 1, 2) * 60L + num(p + 3, 2)) * 60L * (*p == '-' ? -1 : 1);
        p += 5;
    }
    if (*p) return false;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return false;
    format_iso8601((int64_t)t - offset, out);
    return true;
}

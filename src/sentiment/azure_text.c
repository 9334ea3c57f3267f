/* azure_text.c - grapheme counting and cutting with utf8proc's stateful break rules (UAX #29, which is
 * what .NET's text elements follow since .NET 5), so emoji ZWJ sequences and flags count as one element. */
#include "sentiment/azure_text.h"

#include <stdint.h>
#include <utf8proc.h>

/* One code point at s[pos..len): U+FFFD and a length of 1 for a byte that does not start valid UTF-8. */
static size_t next_cp(const char *s, size_t pos, size_t len, int32_t *cp) {
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + pos, (utf8proc_ssize_t)(len - pos), cp);
    if (n <= 0) {
        *cp = 0xFFFD;
        return 1;
    }
    return (size_t)n;
}

static bool is_space(int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\v' || cp == '\f' || cp == '\r' || cp == 0x85) return true;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

size_t azure_text_elements(const char *s, size_t len) {
    size_t n = 0;
    int32_t prev = -1, state = 0;
    for (size_t pos = 0; pos < len;) {
        int32_t cp;
        pos += next_cp(s, pos, len, &cp);
        if (prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &state)) n++;
        prev = cp;
    }
    return n;
}

int azure_text_prepare(const char *text, size_t len, size_t max_elements, size_t max_bytes, buf *out,
                       azure_text_info *info, cerr *e) {
    *info = (azure_text_info){.blank = true};
    buf_reset(out);
    size_t cluster_start = 0; /* out->len where the current cluster began */
    int32_t prev = -1, state = 0;
    for (size_t pos = 0; pos < len;) {
        int32_t cp;
        pos += next_cp(text, pos, len, &cp);
        bool starts = prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &state);
        prev = cp;
        if (starts) {
            if (info->elements == max_elements) {
                info->truncated = true;
                break;
            }
            info->elements++;
            cluster_start = out->len;
        }
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t w = utf8proc_encode_char(cp, enc);
        if (out->len + (size_t)w > max_bytes) {
            info->truncated = true;
            if (cluster_start > 0) { /* drop the partial cluster */
                out->len = cluster_start;
                out->data[out->len] = '\0';
                info->elements--;
            }
            break;
        }
        if (buf_append(out, enc, (size_t)w, e)) return -1;
        if (!is_space(cp)) info->blank = false;
    }
    if (!out->data && buf_append(out, "", 0, e)) return -1; /* always a string, even for "" */
    return 0;
}

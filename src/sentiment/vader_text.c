/* vader_text.c - Python str semantics on code points, via utf8proc. */
#include "sentiment/vader_text.h"

#include <utf8proc.h>

size_t vt_decode_strict(const char *s, size_t n, uint32_t *cp) {
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    utf8proc_int32_t v;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &v);
    if (k <= 0 || v < 0) return 0;
    *cp = (uint32_t)v;
    return (size_t)k;
}

size_t vt_decode(const char *s, size_t n, uint32_t *cp) {
    size_t k = vt_decode_strict(s, n, cp);
    if (k) return k;
    *cp = 0xFFFD;
    return 1;
}

size_t vt_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)out);
    return k > 0 ? (size_t)k : 0;
}

bool vt_is_space(uint32_t cp) {
    if (cp < 0x80) return (cp >= 9 && cp <= 13) || (cp >= 28 && cp <= 32);
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

/* Python's Uppercase/Lowercase properties are the categories Lu/Ll plus Other_Uppercase/Other_Lowercase.
 * utf8proc has no Other_* flags; its mapping-based is{upper,lower} catch the Other_* characters that have
 * case mappings (circled letters, Roman numerals, U+0345), so the union is Python's rule except for a few
 * mapping-less modifier letters (ª, º, ʰ...) and squared letters (U+1F130...). */
static bool cp_upper(uint32_t cp) {
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category == UTF8PROC_CATEGORY_LU || utf8proc_isupper((utf8proc_int32_t)cp);
}

static bool cp_lower_or_title(uint32_t cp) {
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->category == UTF8PROC_CATEGORY_LL || p->category == UTF8PROC_CATEGORY_LT ||
           utf8proc_islower((utf8proc_int32_t)cp);
}

bool vt_is_upper(const uint32_t *cps, size_t n) {
    bool cased = false;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 0x80) {
            if (c >= 'a' && c <= 'z') return false;
            if (c >= 'A' && c <= 'Z') cased = true;
            continue;
        }
        if (cp_lower_or_title(c)) return false;
        if (!cased && cp_upper(c)) cased = true;
    }
    return cased;
}

size_t vt_lower_utf8(uint32_t cp, char out[8]) {
    if (cp < 0x80) {
        out[0] = (char)((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
        return 1;
    }
    /* The one unconditional multi-code-point lowercase in SpecialCasing.txt: İ -> i + COMBINING DOT ABOVE.
     * (Final sigma only chooses between two non-ASCII forms, which no lexicon key can tell apart.) */
    if (cp == 0x130) {
        out[0] = 'i';
        return 1 + vt_encode(0x307, out + 1);
    }
    return vt_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), out);
}

void vt_strip_utf8(const char *s, size_t *b, size_t *e) {
    while (*b < *e) {
        uint32_t cp;
        size_t k = vt_decode(s + *b, *e - *b, &cp);
        if (!vt_is_space(cp)) break;
        *b += k;
    }
    while (*e > *b) {
        size_t start = *e - 1;
        while (start > *b && ((unsigned char)s[start] & 0xC0) == 0x80) start--;
        uint32_t cp;
        vt_decode(s + start, *e - start, &cp);
        if (!vt_is_space(cp)) break;
        *e = start;
    }
}

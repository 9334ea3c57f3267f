/* vader_text.h - the few Unicode rules VADER's reference inherits from Python's str type, on code points.
 * Everything here answers "what would CPython 3.11 do" (str.split, str.isupper, str.lower, str.strip),
 * using utf8proc's tables rather than our own. */
#ifndef CHATTER_SENTIMENT_VADER_TEXT_H
#define CHATTER_SENTIMENT_VADER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..n) (n > 0). An invalid or truncated sequence yields U+FFFD and
 * consumes one byte, so any byte string decodes without failing. Returns the bytes consumed. */
size_t vt_decode(const char *s, size_t n, uint32_t *cp);
/* Like vt_decode but reports invalid UTF-8 as 0 (for files that must be valid). */
size_t vt_decode_strict(const char *s, size_t n, uint32_t *cp);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t vt_encode(uint32_t cp, char out[4]);

/* Python str.isspace() for one code point: category Zs, or bidi class WS, B or S. */
bool vt_is_space(uint32_t cp);
/* Python str.isupper() for a run of code points: no lowercase or titlecase character, and at least one
 * uppercase one. */
bool vt_is_upper(const uint32_t *cps, size_t n);
/* ASCII punctuation as in Python's string.punctuation. */
static inline bool vt_is_punct(uint32_t cp) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
}
/* Writes the UTF-8 of Python's str.lower() of one code point into out (8 bytes room); returns the length. */
size_t vt_lower_utf8(uint32_t cp, char out[8]);

/* Python str.strip() (Unicode whitespace) on valid UTF-8: narrows [*b, *e). */
void vt_strip_utf8(const char *s, size_t *b, size_t *e);

#endif

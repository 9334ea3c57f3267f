/* azure_text.h - fitting one comment to Azure AI Language's per-document limit, which is counted in text
 * elements (extended grapheme clusters, .NET's StringInfo.LengthInTextElements), not bytes. */
#ifndef CHATTER_SENTIMENT_AZURE_TEXT_H
#define CHATTER_SENTIMENT_AZURE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct azure_text_info {
    size_t elements;  /* grapheme clusters kept */
    bool truncated;   /* the text was cut */
    bool blank;       /* what was kept is nothing but white space (or nothing at all) */
} azure_text_info;

/* Writes text (len bytes) into out (reset first) as valid UTF-8: invalid bytes become U+FFFD, because a
 * JSON string must be valid UTF-8. Keeps at most max_elements grapheme clusters and max_bytes bytes, cut
 * at a cluster boundary (inside the first cluster only when that one cluster alone is over max_bytes). */
int azure_text_prepare(const char *text, size_t len, size_t max_elements, size_t max_bytes, buf *out,
                       azure_text_info *info, cerr *e) CH_MUST_USE;

/* Grapheme clusters in s (invalid bytes count as one U+FFFD each). */
size_t azure_text_elements(const char *s, size_t len);

#endif

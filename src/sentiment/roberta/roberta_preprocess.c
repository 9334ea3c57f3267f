/* roberta_preprocess.c - the model card's preprocess(): user names and links are normalised the way the
 * model saw them in training ("@user", "http"). */
#include <string.h>

#include "sentiment/roberta/tokenizer.h"

int roberta_preprocess(const char *text, size_t len, buf *out, cerr *e) {
    buf_reset(out);
    if (!text) text = "";
    const char *p = text, *end = text + len;
    for (;;) {
        /* Python's str.split(" "): only U+0020 splits, and empty pieces between runs of spaces are kept */
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *pe = sp ? sp : end;
        size_t n = (size_t)(pe - p);
        int rc;
        if (n > 1 && p[0] == '@') rc = buf_append(out, "@user", 5, e);
        else if (n >= 4 && memcmp(p, "http", 4) == 0) rc = buf_append(out, "http", 4, e);
        else rc = buf_append(out, p, n, e);
        if (rc) return -1;
        if (!sp) break;
        if (buf_append(out, " ", 1, e)) return -1;
        p = sp + 1;
    }
    if (!out->data && buf_append(out, "", 0, e)) return -1; /* always hand back a string */
    return 0;
}

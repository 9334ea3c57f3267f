#include "core/csv.h"

#include <stdlib.h>
#include <string.h>

int csv_field(buf *out, const char *s, bool neutralize, cerr *e) {
    if (!s) return 0;
    bool formula = neutralize && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                                  s[0] == '\r');
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) return buf_puts(out, s, e);
    if (buf_append(out, "\"", 1, e)) return -1;
    if (formula && buf_append(out, "'", 1, e)) return -1;
    const char *p = s;
    for (;;) {
        const char *q = strchr(p, '"');
        if (!q) break;
        if (buf_append(out, p, (size_t)(q - p) + 1, e) || buf_append(out, "\"", 1, e)) return -1;
        p = q + 1;
    }
    return buf_puts(out, p, e) || buf_append(out, "\"", 1, e) ? -1 : 0;
}

int csv_i64(buf *out, int64_t v, cerr *e) {
    char tmp[24];
    char *end = tmp + sizeof tmp, *q = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--q = '-';
    return buf_append(out, q, (size_t)(end - q), e);
}

int csv_prob6(buf *out, double p, cerr *e) {
    if (!(p > 0)) p = 0; /* also NaN */
    if (p > 1) p = 1;
    int64_t micro = (int64_t)(p * 1e6 + 0.5);
    char s[8] = {'0', '.', '0', '0', '0', '0', '0', '0'};
    if (micro >= 1000000) {
        s[0] = '1';
    } else {
        for (int i = 7; i >= 2; i--) {
            s[i] = (char)('0' + micro % 10);
            micro /= 10;
        }
    }
    return buf_append(out, s, sizeof s, e);
}

struct csv_reader {
    FILE *f;
    size_t max_field, max_fields;
    buf field;       /* all fields of the row, NUL-separated */
    size_t *offsets; /* start of each field in `field` */
    char **ptrs;
    size_t n;
    long line, row_line;
};

int csv_reader_new(FILE *f, size_t max_field, size_t max_fields, csv_reader **out, cerr *e) {
    csv_reader *r = calloc(1, sizeof *r);
    if (!r) return cerr_set(e, CERR_NOMEM, "out of memory");
    r->f = f;
    r->max_field = max_field;
    r->max_fields = max_fields;
    buf_init(&r->field, 0);
    r->offsets = calloc(max_fields, sizeof *r->offsets);
    r->ptrs = calloc(max_fields, sizeof *r->ptrs);
    if (!r->offsets || !r->ptrs) {
        csv_reader_free(r);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    r->line = 1;
    *out = r;
    return 0;
}

void csv_reader_free(csv_reader *r) {
    if (!r) return;
    buf_free(&r->field);
    free(r->offsets);
    free(r->ptrs);
    free(r);
}

long csv_reader_line(const csv_reader *r) { return r->row_line; }

static int end_field(csv_reader *r, size_t start, cerr *e) {
    if (r->field.len - start > r->max_field)
        return cerr_set(e, CERR_TOOBIG, "line %ld: field longer than %zu bytes", r->row_line, r->max_field);
    if (r->n >= r->max_fields)
        return cerr_set(e, CERR_TOOBIG, "line %ld: more than %zu fields", r->row_line, r->max_fields);
    r->offsets[r->n++] = start;
    return buf_append(&r->field, "", 1, e); /* NUL separator */
}

int csv_read_row(csv_reader *r, char ***fields, size_t *nfields, cerr *e) {
    buf_reset(&r->field);
    r->n = 0;
    r->row_line = r->line;
    int c = getc(r->f);
    if (c == EOF) return 0;
    bool quoted = false, was_quoted = false;
    size_t start = 0;
    for (;; c = getc(r->f)) {
        if (quoted) {
            if (c == EOF) return cerr_set(e, CERR_INVALID, "line %ld: unterminated quoted field", r->row_line);
            if (c == '"') {
                int d = getc(r->f);
                if (d == '"') {
                    if (buf_append(&r->field, "\"", 1, e)) return -1;
                    continue;
                }
                quoted = false;
                if (d != EOF) ungetc(d, r->f);
                continue;
            }
            if (c == '\n') r->line++;
            char ch = (char)c;
            if (buf_append(&r->field, &ch, 1, e)) return -1;
            if (r->field.len - start > r->max_field)
                return cerr_set(e, CERR_TOOBIG, "line %ld: field longer than %zu bytes", r->row_line, r->max_field);
            continue;
        }
        if (c == '"' && r->field.len == start && !was_quoted) {
            quoted = was_quoted = true;
            continue;
        }
        if (c == ',') {
            if (end_field(r, start, e)) return -1;
            start = r->field.len;
            was_quoted = false;
            continue;
        }
        if (c == '\r') {
            int d = getc(r->f);
            if (d != '\n' && d != EOF) ungetc(d, r->f);
            c = '\n';
        }
        if (c == '\n' || c == EOF) {
            if (c == '\n') r->line++;
            if (end_field(r, start, e)) return -1;
            break;
        }
        char ch = (char)c;
        if (buf_append(&r->field, &ch, 1, e)) return -1;
        if (r->field.len - start > r->max_field)
            return cerr_set(e, CERR_TOOBIG, "line %ld: field longer than %zu bytes", r->row_line, r->max_field);
    }
    for (size_t i = 0; i < r->n; i++) r->ptrs[i] = r->field.data + r->offsets[i];
    *fields = r->ptrs;
    *nfields = r->n;
    return 1;
}

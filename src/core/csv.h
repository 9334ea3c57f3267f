/* csv.h - RFC 4180 CSV: writing fields safely for spreadsheets, and reading rows with size caps. */
#ifndef CHATTER_CORE_CSV_H
#define CHATTER_CORE_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"

/* Appends one field (no separator). The field is quoted when it holds a comma, quote, CR or LF, or
 * when neutralised. With neutralize, a cell a spreadsheet would evaluate as a formula (first byte
 * '=', '+', '-', '@', TAB or CR) is prefixed with a single quote, the OWASP-recommended defence;
 * the original text is otherwise unchanged. NULL is written as an empty field. */
int csv_field(buf *out, const char *s, bool neutralize, cerr *e) CH_MUST_USE;

/* Fast cell writers for the hot export loop (printf's float formatting dominated a 1M-row download):
 * a decimal integer, and a probability in [0, 1] with exactly 6 decimals, like "%.6f" (values outside
 * [0, 1] are clamped; NaN writes 0.000000). */
int csv_i64(buf *out, int64_t v, cerr *e) CH_MUST_USE;
int csv_prob6(buf *out, double p, cerr *e) CH_MUST_USE;

typedef struct csv_reader csv_reader;

/* Reads from f (not owned). max_field caps one field, max_fields the fields in one row. */
int csv_reader_new(FILE *f, size_t max_field, size_t max_fields, csv_reader **out, cerr *e) CH_MUST_USE;
void csv_reader_free(csv_reader *r);
/* Reads the next row. Returns 1 with a row, 0 at end of input, -1 on error (unterminated quote,
 * field or row too big). Fields stay valid until the next call. */
int csv_read_row(csv_reader *r, char ***fields, size_t *nfields, cerr *e) CH_MUST_USE;
/* 1-based number of the line where the last returned row started (for error messages). */
long csv_reader_line(const csv_reader *r);

#endif

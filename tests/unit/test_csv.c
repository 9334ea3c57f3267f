/* CSV writing (RFC 4180 quoting, formula neutralisation) and reading (quotes, newlines, caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/csv.h"

static void expect_field(const char *in, bool neutralize, const char *want) {
    buf b;
    buf_init(&b, 0);
    cerr e;
    assert_int_equal(csv_field(&b, in, neutralize, &e), 0);
    assert_string_equal(b.data ? b.data : "", want);
    buf_free(&b);
}

static void test_quoting(void **state) {
    (void)state;
    expect_field("plain", true, "plain");
    expect_field("", true, "");
    expect_field(NULL, true, "");
    expect_field("a,b", true, "\"a,b\"");
    expect_field("say \"hi\"", true, "\"say \"\"hi\"\"\"");
    expect_field("line1\nline2", true, "\"line1\nline2\"");
    expect_field("cr\rhere", true, "\"cr\rhere\"");
    expect_field("émoji 😀 ok", true, "émoji 😀 ok");
}

static void test_formula_neutralised(void **state) {
    (void)state;
    expect_field("=SUM(A1:A9)", true, "\"'=SUM(A1:A9)\"");
    expect_field("+1", true, "\"'+1\"");
    expect_field("-2+3", true, "\"'-2+3\"");
    expect_field("@cmd", true, "\"'@cmd\"");
    expect_field("\tx", true, "\"'\tx\"");
    expect_field("\rx", true, "\"'\rx\"");
    expect_field("=HYPERLINK(\"http://x\")", true, "\"'=HYPERLINK(\"\"http://x\"\")\"");
    /* not at the start: left alone */
    expect_field("a=b", true, "a=b");
    /* neutralisation off: plain quoting only */
    expect_field("=1", false, "=1");
}

static void read_all(const char *data, const char *const *want_rows[], size_t nrows) {
    FILE *f = fmemopen((void *)data, strlen(data), "r");
    assert_non_null(f);
    csv_reader *r;
    cerr e;
    assert_int_equal(csv_reader_new(f, 1024, 16, &r, &e), 0);
    for (size_t i = 0; i < nrows; i++) {
        char **fields;
        size_t n;
        assert_int_equal(csv_read_row(r, &fields, &n, &e), 1);
        size_t k = 0;
        while (want_rows[i][k]) {
            assert_true(k < n);
            assert_string_equal(fields[k], want_rows[i][k]);
            k++;
        }
        assert_int_equal(n, k);
    }
    char **fields;
    size_t n;
    assert_int_equal(csv_read_row(r, &fields, &n, &e), 0);
    csv_reader_free(r);
    fclose(f);
}

static void test_reader(void **state) {
    (void)state;
    const char *r0[] = {"a", "b", "c", NULL};
    const char *r1[] = {"x,y", "he said \"no\"", "", NULL};
    const char *r2[] = {"multi\nline", "z", NULL};
    const char *const *rows[] = {r0, r1, r2};
    read_all("a,b,c\r\n\"x,y\",\"he said \"\"no\"\"\",\n\"multi\nline\",z", rows, 3);
}

static void test_reader_errors(void **state) {
    (void)state;
    cerr e;
    char **fields;
    size_t n;
    const char *bad = "\"unterminated,field\n";
    FILE *f = fmemopen((void *)bad, strlen(bad), "r");
    csv_reader *r;
    assert_int_equal(csv_reader_new(f, 1024, 16, &r, &e), 0);
    assert_int_equal(csv_read_row(r, &fields, &n, &e), -1);
    assert_non_null(strstr(e.msg, "unterminated"));
    csv_reader_free(r);
    fclose(f);

    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    f = fmemopen(big, strlen(big), "r");
    assert_int_equal(csv_reader_new(f, 100, 16, &r, &e), 0);
    assert_int_equal(csv_read_row(r, &fields, &n, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);
    csv_reader_free(r);
    fclose(f);
}

static void test_roundtrip(void **state) {
    (void)state;
    const char *cells[] = {"=cmd", "a \"q\" b", "x\ny", "plain", ",", ""};
    buf b;
    buf_init(&b, 0);
    cerr e;
    for (size_t i = 0; i < 6; i++) {
        if (i) assert_int_equal(buf_append(&b, ",", 1, &e), 0);
        assert_int_equal(csv_field(&b, cells[i], false, &e), 0);
    }
    assert_int_equal(buf_append(&b, "\r\n", 2, &e), 0);
    FILE *f = fmemopen(b.data, b.len, "r");
    csv_reader *r;
    assert_int_equal(csv_reader_new(f, 1024, 16, &r, &e), 0);
    char **fields;
    size_t n;
    assert_int_equal(csv_read_row(r, &fields, &n, &e), 1);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++) assert_string_equal(fields[i], cells[i]);
    csv_reader_free(r);
    fclose(f);
    buf_free(&b);
}

static void test_numbers(void **state) {
    (void)state;
    const double probs[] = {0, 1, 0.5, 0.123456, 0.1234565, 0.9999994, 0.9999996, 1e-7, 5e-7, 0.000001, 0.25, 2, -1};
    for (size_t i = 0; i < sizeof probs / sizeof *probs; i++) {
        buf b;
        buf_init(&b, 0);
        cerr e;
        assert_int_equal(csv_prob6(&b, probs[i], &e), 0);
        char want[32];
        double clamped = probs[i] < 0 ? 0 : probs[i] > 1 ? 1 : probs[i];
        snprintf(want, sizeof want, "%.6f", clamped);
        /* equal to printf except at exact binary halves, which %.6f rounds to even */
        if (strcmp(b.data, want) != 0) {
            double got = strtod(b.data, NULL), exp = strtod(want, NULL);
            assert_true(fabs(got - exp) <= 1.0000001e-6);
        }
        buf_free(&b);
    }
    const int64_t ints[] = {0, 7, -7, 1234567890123LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        buf b;
        buf_init(&b, 0);
        cerr e;
        assert_int_equal(csv_i64(&b, ints[i], &e), 0);
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)ints[i]);
        assert_string_equal(b.data, want);
        buf_free(&b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),      cmocka_unit_test(test_formula_neutralised),
        cmocka_unit_test(test_reader),       cmocka_unit_test(test_reader_errors),
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

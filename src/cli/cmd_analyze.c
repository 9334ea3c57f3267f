/* cmd_analyze.c - `chatter analyze`: classify text from stdin, a file, or a column of a CSV file. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/csv.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sentiment/analyzer.h"

#define ANALYZE_LINE_MAX (1u << 20)

static void usage(FILE *f) {
    fprintf(f,
            "usage: chatter analyze [options] [FILE]\n\n"
            "Classifies text as negative / neutral / positive. Input: one comment per line (every line is\n"
            "a comment, blank ones too, so output row N is input line N), from FILE or stdin; or with\n"
            "--csv-column, one column of a CSV file with a header row.\n\n"
            "  --analyzer NAME     auto | vader | roberta | azure (env CHATTER_ANALYZER, default auto;\n"
            "                      azure reads AZURE_LANGUAGE_ENDPOINT and AZURE_LANGUAGE_KEY)\n"
            "  --model NAME        same as --analyzer\n"
            "  --model-dir DIR     the analyzer's files (default: installed by `chatter model fetch`)\n"
            "  --quantize MODE     none | int8 (transformer only)\n"
            "  --csv-column COL    read column COL (header name or 1-based number) of a CSV input\n"
            "  --format FMT        csv (default) or jsonl\n"
            "  -o, --output FILE   write here (atomically: complete or not at all) instead of stdout\n"
            "  --batch N           comments per classify call (default 32)\n"
            "  -h, --help          this text\n\n"
            "CSV output columns: text,label,score_negative,score_neutral,score_positive,truncated\n"
            "A progress bar with rate and ETA is drawn on stderr when it is a terminal.\n");
}

typedef struct input {
    FILE *f;
    csv_reader *csv;
    long column; /* 0-based column, -1 = plain lines */
    buf line;
    long lineno;
} input;

/* Returns 1 with *text set, 0 at end, -1 on error. */
static int next_text(input *in, const char **text, cerr *e) {
    if (in->csv) {
        char **fields;
        size_t n;
        int r = csv_read_row(in->csv, &fields, &n, e);
        if (r <= 0) return r;
        in->lineno = csv_reader_line(in->csv);
        if ((size_t)in->column >= n) return cerr_set(e, CERR_INVALID, "line %ld has only %zu columns", in->lineno, n);
        *text = fields[in->column];
        return 1;
    }
    buf_reset(&in->line);
    int c;
    bool any = false;
    while ((c = getc_unlocked(in->f)) != EOF) {
        any = true;
        if (c == '\n') break;
        char ch = (char)c;
        if (buf_append(&in->line, &ch, 1, e)) return cerr_wrap(e, "line %ld", in->lineno + 1);
    }
    if (!any) return ferror(in->f) ? cerr_set(e, CERR_IO, "read error: %s", strerror(errno)) : 0;
    in->lineno++;
    if (in->line.len && in->line.data[in->line.len - 1] == '\r') in->line.data[--in->line.len] = '\0';
    *text = in->line.data ? in->line.data : "";
    return 1;
}

static int open_csv_column(input *in, const char *col, cerr *e) {
    if (csv_reader_new(in->f, ANALYZE_LINE_MAX, 4096, &in->csv, e)) return -1;
    char **fields;
    size_t n;
    int r = csv_read_row(in->csv, &fields, &n, e);
    if (r < 0) return -1;
    if (r == 0) return cerr_set(e, CERR_INVALID, "the CSV input is empty (a header row is required)");
    int64_t idx;
    if (parse_i64(col, &idx) == 0) {
        if (idx < 1 || (size_t)idx > n)
            return cerr_set(e, CERR_INVALID, "--csv-column %s: the header has %zu columns", col, n);
        in->column = (long)idx - 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *h = fields[i];
        if (i == 0 && (unsigned char)h[0] == 0xEF && (unsigned char)h[1] == 0xBB && (unsigned char)h[2] == 0xBF) h += 3;
        if (strcasecmp(h, col) == 0) {
            in->column = (long)i;
            return 0;
        }
    }
    return cerr_set(e, CERR_INVALID, "--csv-column: no column named '%s' in the header", col);
}

static int write_result(FILE *out, bool jsonl, const char *text, const sentiment *s, buf *scratch, cerr *e) {
    if (jsonl) {
        json_t *o = json_pack("{s:s%, s:s, s:{s:f, s:f, s:f}, s:b}", "text", text, strlen(text), "label",
                              label_name(s->label), "scores", "negative", (double)s->p[0], "neutral", (double)s->p[1],
                              "positive", (double)s->p[2], "truncated", s->truncated);
        if (!o) return cerr_set(e, CERR_INVALID, "text is not valid UTF-8");
        int r = json_dumpf(o, out, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (r || fputc('\n', out) == EOF) return cerr_set(e, CERR_IO, "write failed: %s", strerror(errno));
        return 0;
    }
    buf_reset(scratch);
    if (csv_field(scratch, text, true, e)) return -1;
    if (fprintf(out, "%s,%s,%.6f,%.6f,%.6f,%s\r\n", scratch->data ? scratch->data : "", label_name(s->label),
                (double)s->p[0], (double)s->p[1], (double)s->p[2], s->truncated ? "true" : "false") < 0)
        return cerr_set(e, CERR_IO, "write failed: %s", strerror(errno));
    return 0;
}

typedef struct progress {
    bool on;
    int64_t start_ms, last_ms;
    long long done;
    off_t total_bytes;
    FILE *f;
} progress;

static void progress_draw(progress *p, bool final) {
    if (!p->on) return;
    int64_t now = now_ms();
    if (!final && now - p->last_ms < 200) return;
    p->last_ms = now;
    double secs = (double)(now - p->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char eta[32] = "";
    if (p->total_bytes > 0) {
        off_t pos = ftello(p->f);
        double frac = pos > 0 ? (double)pos / (double)p->total_bytes : 0;
        if (frac > 1) frac = 1;
        int width = 24, fill = (int)(frac * width);
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : ' ';
        bar[width] = '\0';
        if (frac > 0 && secs > 0.5) {
            long rem = (long)(secs / frac - secs);
            snprintf(eta, sizeof eta, "  ETA %ld:%02ld", rem / 60, rem % 60);
        }
        fprintf(stderr, "\r[%s] %3.0f%%  %lld comments  %.0f/s%s   ", bar, frac * 100, p->done, rate, eta);
    } else {
        fprintf(stderr, "\r%lld comments  %.0f/s   ", p->done, rate);
    }
    if (final) fputc('\n', stderr);
}

int cmd_analyze(int argc, char **argv) {
    const char *name = env_or("CHATTER_ANALYZER", "auto");
    const char *model_dir = NULL, *quantize = "none", *column = NULL, *format = "csv", *output = NULL;
    int64_t batch = 32;
    static const struct option opts[] = {
        {"analyzer", required_argument, 0, 'a'}, {"model", required_argument, 0, 'a'},
        {"model-dir", required_argument, 0, 'm'}, {"quantize", required_argument, 0, 'q'},
        {"csv-column", required_argument, 0, 'c'}, {"format", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'}, {"batch", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'}, {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': name = optarg; break;
        case 'm': model_dir = optarg; break;
        case 'q': quantize = optarg; break;
        case 'c': column = optarg; break;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'b':
            if (cli_int_arg("--batch", optarg, 1, 4096, &batch)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
        fprintf(stderr, "chatter analyze: --format must be csv or jsonl, got '%s'\n", format);
        return EXIT_USAGE;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "chatter analyze: at most one input FILE\n");
        return EXIT_USAGE;
    }
    const char *path = optind < argc ? argv[optind] : NULL;
    input in = {.f = stdin, .column = -1};
    buf_init(&in.line, ANALYZE_LINE_MAX);
    if (path && strcmp(path, "-") != 0 && !(in.f = fopen(path, "rb"))) {
        fprintf(stderr, "chatter analyze: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_RUNTIME;
    }
    cerr e;
    int rc = EXIT_OK;
    bool http_ready = false;
    analyzer *an = NULL;
    analyzer_session *sess = NULL;
    FILE *out = stdout;
    char tmp_path[4096] = "";
    char **texts = calloc((size_t)batch, sizeof *texts);
    sentiment *res = calloc((size_t)batch, sizeof *res);
    buf scratch;
    buf_init(&scratch, 0);
    if (!texts || !res) {
        fprintf(stderr, "chatter analyze: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (column && open_csv_column(&in, column, &e)) {
        fprintf(stderr, "chatter analyze: %s\n", e.msg);
        rc = EXIT_USAGE;
        goto done;
    }
    /* the azure analyzer talks HTTP; curl's global init must happen before any thread could */
    if (http_global_init(&e)) {
        fprintf(stderr, "chatter analyze: %s\n", e.msg);
        rc = EXIT_RUNTIME;
        goto done;
    }
    http_ready = true;
    analyzer_options ao = {.model_dir = model_dir, .quantize = quantize, .threads = 0};
    if (analyzer_open(name, &ao, &an, &e) || analyzer_session_new(an, &sess, &e)) {
        fprintf(stderr, "chatter analyze: %s\n", e.msg);
        rc = e.code == CERR_INVALID || e.code == CERR_NOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    if (output) {
        if (sbprintf(tmp_path, sizeof tmp_path, "%s.tmp.%ld", output, (long)getpid()) ||
            !(out = fopen(tmp_path, "wb"))) {
            fprintf(stderr, "chatter analyze: cannot write %s: %s\n", output, strerror(errno));
            out = stdout;
            tmp_path[0] = '\0';
            rc = EXIT_RUNTIME;
            goto done;
        }
    }
    bool jsonl = strcmp(format, "jsonl") == 0;
    if (!jsonl) fputs("text,label,score_negative,score_neutral,score_positive,truncated\r\n", out);
    progress pr = {.on = isatty(STDERR_FILENO) != 0, .start_ms = now_ms(), .f = in.f};
    struct stat st;
    if (pr.on && fstat(fileno(in.f), &st) == 0 && S_ISREG(st.st_mode)) pr.total_bytes = st.st_size;
    for (bool eof = false; !eof;) {
        size_t n = 0;
        while (n < (size_t)batch) {
            const char *t = NULL;
            int r = next_text(&in, &t, &e);
            if (r < 0) {
                fprintf(stderr, "\nchatter analyze: %s\n", e.msg);
                rc = EXIT_RUNTIME;
                goto done;
            }
            if (r == 0) {
                eof = true;
                break;
            }
            if (!(texts[n] = strdup(t))) {
                rc = EXIT_RUNTIME;
                goto done;
            }
            n++;
        }
        if (n == 0) break;
        int crc = analyzer_classify(sess, (const char *const *)texts, n, res, &e);
        for (size_t i = 0; i < n && !crc; i++) crc = write_result(out, jsonl, texts[i], &res[i], &scratch, &e);
        for (size_t i = 0; i < n; i++) free(texts[i]);
        if (crc) {
            fprintf(stderr, "\nchatter analyze: near input line %ld: %s\n", in.lineno, e.msg);
            rc = EXIT_RUNTIME;
            goto done;
        }
        pr.done += (long long)n;
        progress_draw(&pr, false);
    }
    progress_draw(&pr, true);
    if (fflush(out) != 0) {
        fprintf(stderr, "chatter analyze: write failed: %s\n", strerror(errno));
        rc = EXIT_RUNTIME;
    }
done:
    if (out != stdout) {
        if (fclose(out) != 0 && rc == EXIT_OK) rc = EXIT_RUNTIME;
        if (rc == EXIT_OK && rename(tmp_path, output) != 0) {
            fprintf(stderr, "chatter analyze: cannot write %s: %s\n", output, strerror(errno));
            rc = EXIT_RUNTIME;
        }
        if (rc != EXIT_OK) unlink(tmp_path);
    }
    analyzer_session_free(sess);
    analyzer_free(an);
    if (http_ready) http_global_cleanup();
    csv_reader_free(in.csv);
    buf_free(&in.line);
    buf_free(&scratch);
    free(texts);
    free(res);
    if (in.f && in.f != stdin) fclose(in.f);
    return rc;
}

/* cmd_model_run.c - `chatter model run DIR`: token ids in (one JSON array per line), logits out, in input order;
 * and `chatter model info DIR`. Lines are read in blocks so that mixed lengths are batched together. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_model.h"
#include "core/util.h"
#include "sentiment/roberta/model.h"

#define LINE_MAX_BYTES (1 << 20)
#define BLOCK 1024

static void usage_run(FILE *f) {
    fprintf(f, "usage: chatter model run DIR [--quantize none|int8] [--batch N] [--threads N]\n"
               "  Reads one JSON array of token ids per line on stdin (normally <s> ... </s>, at most 512 ids)\n"
               "  and prints {\"logits\": [l0, l1, l2]} per line, in input order (model output order, see\n"
               "  `chatter model info`). Lines are run as batches of up to N sequences (default 32).\n");
}

static void usage_info(FILE *f) {
    fprintf(f, "usage: chatter model info DIR [--quantize none|int8]\n"
               "  Loads the model in DIR and prints its config, parameter count, file format, dtype and labels as JSON.\n");
}

typedef struct opts {
    const char *dir, *quantize;
    int batch, threads;
} opts;

/* 0 ok, 1 --help printed, 2 usage error */
static int parse(int argc, char **argv, opts *o, void (*usage)(FILE *)) {
    static const struct option lo[] = {{"quantize", required_argument, 0, 'q'}, {"batch", required_argument, 0, 'b'},
                                       {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (opts){.quantize = "none", .batch = 32, .threads = 2};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int64_t v;
        switch (c) {
        case 'q': o->quantize = optarg; break;
        case 'b':
        case 't':
            if (parse_i64(optarg, &v) || v < 1 || v > 1024) {
                fprintf(stderr, "chatter model: --%s needs a number from 1 to 1024\n", c == 'b' ? "batch" : "threads");
                return 2;
            }
            if (c == 'b') o->batch = (int)v;
            else o->threads = (int)v;
            break;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "chatter model: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o->dir = argv[optind];
    roberta_quant q;
    cerr e = {0};
    if (roberta_quant_parse(o->quantize, &q, &e)) {
        fprintf(stderr, "chatter model: %s\n", e.msg);
        return 2;
    }
    return 0;
}

static int parse_line(const char *line, size_t lineno, int32_t **ids, size_t *n, cerr *e) {
    json_error_t je;
    json_t *a = json_loads(line, 0, &je);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        json_decref(a);
        return cerr_set(e, CERR_INVALID, "line %zu: expected a non-empty JSON array of token ids", lineno);
    }
    *n = json_array_size(a);
    *ids = malloc(*n * sizeof **ids);
    if (!*ids) {
        json_decref(a);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
            json_decref(a);
            free(*ids);
            *ids = NULL;
            return cerr_set(e, CERR_INVALID, "line %zu: item %zu is not a token id", lineno, i);
        }
        (*ids)[i] = (int32_t)json_integer_value(v);
    }
    json_decref(a);
    return 0;
}

static int run_block(roberta_session *s, int32_t **ids, size_t *lens, size_t n, size_t first_line, cerr *e) {
    float(*lg)[3] = malloc((n ? n : 1) * sizeof *lg);
    if (!lg) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (roberta_session_run(s, (const int32_t *const *)ids, lens, n, lg, e)) {
        free(lg);
        return cerr_wrap(e, "lines %zu-%zu", first_line, first_line + n - 1);
    }
    for (size_t i = 0; i < n; i++) printf("{\"logits\": [%.9g, %.9g, %.9g]}\n", lg[i][0], lg[i][1], lg[i][2]);
    free(lg);
    return 0;
}

int cmd_model_run(int argc, char **argv) {
    opts o;
    int u = parse(argc, argv, &o, usage_run);
    if (u) return u == 1 ? 0 : 2;
    cerr e = {0};
    roberta_quant q;
    roberta_model *m = NULL;
    roberta_session *s = NULL;
    if (roberta_quant_parse(o.quantize, &q, &e) || roberta_model_load(o.dir, q, &m, &e) ||
        roberta_session_new(m, o.batch, 0, o.threads, &s, &e)) {
        fprintf(stderr, "chatter model run: %s\n", e.msg);
        roberta_model_free(m);
        return 1;
    }
    int32_t *ids[BLOCK];
    size_t lens[BLOCK], n = 0, lineno = 0, first = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if ((size_t)len > LINE_MAX_BYTES) {
            rc = cerr_set(&e, CERR_TOOBIG, "line %zu is longer than %d bytes", lineno, LINE_MAX_BYTES);
            break;
        }
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        if (n == 0) first = lineno;
        if (parse_line(line, lineno, &ids[n], &lens[n], &e)) {
            rc = -1;
            break;
        }
        if (++n == BLOCK) {
            rc = run_block(s, ids, lens, n, first, &e);
            for (size_t i = 0; i < n; i++) free(ids[i]);
            n = 0;
        }
    }
    if (rc == 0 && n) rc = run_block(s, ids, lens, n, first, &e);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(line);
    roberta_session_free(s);
    roberta_model_free(m);
    if (fflush(stdout) != 0 && rc == 0) rc = cerr_set(&e, CERR_IO, "cannot write the output");
    if (rc) {
        fprintf(stderr, "chatter model run: %s\n", e.msg);
        return 1;
    }
    return 0;
}

int cmd_model_info(int argc, char **argv) {
    opts o;
    int u = parse(argc, argv, &o, usage_info);
    if (u) return u == 1 ? 0 : 2;
    cerr e = {0};
    roberta_quant q;
    roberta_model *m = NULL;
    if (roberta_quant_parse(o.quantize, &q, &e) || roberta_model_load(o.dir, q, &m, &e)) {
        fprintf(stderr, "chatter model info: %s\n", e.msg);
        return 1;
    }
    const roberta_config *c = roberta_model_config(m);
    static const char *kinds[3] = {"negative", "neutral", "positive"};
    json_t *labels = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(labels, json_pack("{s:i, s:s, s:s}", "output", i, "name", c->label_names[i], "label",
                                                kinds[c->label_of_output[i]]));
    json_t *info = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:i}, s:I, s:I, s:i, s:o}", "dir",
        o.dir, "architecture", "RobertaForSequenceClassification", "format", roberta_model_format(m), "dtype",
        roberta_model_src_dtype(m), "quantize", q == ROBERTA_INT8 ? "int8" : "none", "config", "layers", c->layers,
        "hidden", c->hidden, "heads", c->heads, "intermediate", c->intermediate, "vocab", c->vocab, "max_positions",
        c->max_positions, "pad_token_id", c->pad_id, "layer_norm_eps", (double)c->layer_norm_eps, "type_vocab",
        c->type_vocab, "parameters", (json_int_t)roberta_model_param_count(m), "resident_bytes",
        (json_int_t)roberta_model_resident_bytes(m), "max_tokens", roberta_model_max_tokens(m), "labels", labels);
    char *txt = info ? json_dumps(info, JSON_INDENT(2)) : NULL;
    int rc = 0;
    if (txt) puts(txt);
    else rc = 1, fprintf(stderr, "chatter model info: out of memory\n");
    free(txt);
    json_decref(info);
    roberta_model_free(m);
    return rc;
}

/* cmd_tokenize.c - `chatter tokenize`: shows the ids the RoBERTa analyzer would feed the model, one JSON
 * line out per JSON line in, for checking the tokenizer against other implementations. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "sentiment/roberta/tokenizer.h"

#define TOKENIZE_MAX_IDS 512 /* the model's input size, <s> and </s> included */
/* JSON escapes can take 6 bytes per input byte; this admits any text the tokenizer accepts */
#define TOKENIZE_MAX_LINE (6u * BPE_MAX_TEXT_BYTES + 64)

static const char USAGE[] =
    "usage: chatter tokenize --model-dir DIR [--no-preprocess]\n"
    "\n"
    "Reads JSON lines {\"text\": \"...\"} on stdin and prints {\"ids\": [...]} for each: the RoBERTa\n"
    "input ids, <s> and </s> included, at most 512 (longer texts keep their first 128 and last 382\n"
    "content ids and also print \"truncated\": true).\n"
    "\n"
    "  --model-dir DIR   folder with vocab.json and merges.txt (e.g. from `chatter model fetch roberta`)\n"
    "  --no-preprocess   skip the model card's @user/http replacement\n"
    "  -h, --help        show this help\n";

/* One line of stdin without its newline. 1: end of input; -1: line over the cap or read error. */
static int read_line(FILE *in, buf *line, cerr *e) {
    buf_reset(line);
    char chunk[65536];
    bool any = false;
    while (fgets(chunk, sizeof chunk, in)) {
        any = true;
        size_t n = strlen(chunk); /* a NUL byte in the input would cut the chunk: JSON text has none */
        bool eol = n && chunk[n - 1] == '\n';
        if (buf_append(line, chunk, eol ? n - 1 : n, e)) return -1;
        if (eol) return 0;
    }
    if (ferror(in)) return cerr_set(e, CERR_IO, "cannot read stdin");
    return any ? 0 : 1;
}

static int tokenize_stream(bpe_session *s, bool preprocess, cerr *e) {
    buf line, pre, out;
    buf_init(&line, TOKENIZE_MAX_LINE);
    buf_init(&pre, 0);
    buf_init(&out, 0);
    int32_t ids[TOKENIZE_MAX_IDS];
    int rc = 0;
    for (size_t lineno = 1;; lineno++) {
        int got = read_line(stdin, &line, e);
        if (got == 1) break;
        if (got < 0) {
            rc = cerr_wrap(e, "line %zu", lineno);
            break;
        }
        if (line.len == 0) continue;
        json_error_t jerr;
        json_t *v = json_loadb(line.data, line.len, JSON_ALLOW_NUL, &jerr);
        json_t *text = json_object_get(v, "text");
        if (!json_is_string(text)) {
            rc = cerr_set(e, CERR_INVALID, "line %zu: expected a JSON object with a \"text\" string%s%s", lineno,
                          v ? "" : ": ", v ? "" : jerr.text);
            json_decref(v);
            break;
        }
        const char *t = json_string_value(text);
        size_t len = json_string_length(text);
        if (preprocess) {
            if (roberta_preprocess(t, len, &pre, e)) {
                json_decref(v);
                rc = cerr_wrap(e, "line %zu", lineno);
                break;
            }
            t = pre.data;
            len = pre.len;
        }
        size_t n;
        bool truncated;
        rc = bpe_encode(s, t, len, ids, TOKENIZE_MAX_IDS, &n, &truncated, e);
        json_decref(v);
        if (rc) {
            cerr_wrap(e, "line %zu", lineno);
            break;
        }
        buf_reset(&out);
        rc = buf_puts(&out, "{\"ids\": [", e);
        for (size_t i = 0; !rc && i < n; i++) rc = buf_printf(&out, e, i ? ", %d" : "%d", ids[i]);
        if (!rc) rc = buf_puts(&out, truncated ? "], \"truncated\": true}\n" : "]}\n", e);
        if (rc || fwrite(out.data, 1, out.len, stdout) != out.len) {
            rc = rc ? rc : cerr_set(e, CERR_IO, "cannot write stdout");
            break;
        }
    }
    if (fflush(stdout) != 0 && !rc) rc = cerr_set(e, CERR_IO, "cannot write stdout");
    buf_free(&line);
    buf_free(&pre);
    buf_free(&out);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL;
    bool preprocess = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--no-preprocess") == 0) {
            preprocess = false;
        } else if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--model-dir=", 12) == 0) {
            dir = argv[i] + 12;
        } else {
            fprintf(stderr, "chatter tokenize: unexpected argument '%s'\n%s", argv[i], USAGE);
            return EXIT_USAGE;
        }
    }
    if (!dir || !*dir) {
        fprintf(stderr, "chatter tokenize: --model-dir is required\n%s", USAGE);
        return EXIT_USAGE;
    }
    char vocab[4096], merges[4096];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", dir);
    cerr e = {0};
    bpe_tokenizer *t = NULL;
    bpe_session *s = NULL;
    int rc = bpe_tokenizer_load(vocab, merges, &t, &e);
    if (!rc) rc = bpe_session_new(t, &s, &e);
    if (!rc) rc = tokenize_stream(s, preprocess, &e);
    bpe_session_free(s);
    bpe_tokenizer_free(t);
    if (rc) {
        fprintf(stderr, "chatter tokenize: %s\n", e.msg);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* analyzer.c - the analyzer registry and the generic wrapper around analyzer_ops. Adding an analyzer is one
 * line in REGISTRY. */
#include "sentiment/analyzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "sentiment/azure.h"
#include "sentiment/roberta_analyzer.h"
#include "sentiment/vader.h"

static const analyzer_ops *const REGISTRY[] = {
    &vader_analyzer_ops,
    &roberta_analyzer_ops,
    &azure_analyzer_ops,
};

#define N_REGISTRY (sizeof REGISTRY / sizeof REGISTRY[0])

struct analyzer {
    const analyzer_ops *ops;
    void *model;
};

struct analyzer_session {
    const analyzer_ops *ops;
    void *session;
};

const char *label_name(sentiment_label l) {
    switch (l) {
    case LABEL_NEGATIVE: return "negative";
    case LABEL_NEUTRAL: return "neutral";
    case LABEL_POSITIVE: return "positive";
    }
    return "unknown";
}

static const analyzer_ops *find_ops(const char *name) {
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (strcmp(REGISTRY[i]->name, name) == 0) return REGISTRY[i];
    return NULL;
}

int analyzer_model_path(const char *name, char *out, size_t cap, cerr *e) {
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return cerr_set(e, CERR_INVALID, "invalid model name \"%s\"", name ? name : "");
    const char *dir = getenv("CHATTER_MODEL_DIR");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int rc;
    if (dir && *dir) rc = sbprintf(out, cap, "%s/%s", dir, name);
    /* The XDG spec says to ignore a relative XDG_DATA_HOME. */
    else if (xdg && xdg[0] == '/') rc = sbprintf(out, cap, "%s/chatter/models/%s", xdg, name);
    else if (home && *home) rc = sbprintf(out, cap, "%s/.local/share/chatter/models/%s", home, name);
    else
        return cerr_set(e, CERR_INVALID,
                        "no place for model files: set CHATTER_MODEL_DIR (or XDG_DATA_HOME or HOME)");
    if (rc) return cerr_set(e, CERR_INVALID, "model path for \"%s\" is too long", name);
    return 0;
}

/* roberta's files, as `chatter model fetch roberta` installs them. */
static bool roberta_installed(const char *dir) {
    char a[4200], b[4200], c[4200];
    if (sbprintf(a, sizeof a, "%s/config.json", dir) || sbprintf(b, sizeof b, "%s/model.safetensors", dir) ||
        sbprintf(c, sizeof c, "%s/pytorch_model.bin", dir))
        return false;
    return file_exists(a) && (file_exists(b) || file_exists(c));
}

/* "auto": roberta when it is built in and its files are in its model directory (opt->model_dir when given,
 * else the default one), otherwise vader. */
static const analyzer_ops *resolve_auto(const analyzer_options *opt) {
    const analyzer_ops *rob = find_ops("roberta");
    char dir[4096];
    const char *where = NULL;
    if (opt && opt->model_dir) where = opt->model_dir;
    else if (!analyzer_model_path("roberta", dir, sizeof dir, NULL)) where = dir;
    if (rob && where && roberta_installed(where)) return rob;
    if (!rob) log_info("analyzer auto: this build has no roberta analyzer, using vader");
    else
        log_info("analyzer auto: roberta model files not found in %s, using vader "
                 "(run `chatter model fetch roberta` to install them)",
                 where ? where : "(no model directory)");
    return find_ops("vader");
}

int analyzer_open(const char *name, const analyzer_options *opt, analyzer **out, cerr *e) {
    if (!name || !*name) name = "auto";
    const analyzer_ops *ops = strcmp(name, "auto") == 0 ? resolve_auto(opt) : find_ops(name);
    if (!ops) {
        char known[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < N_REGISTRY; i++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", REGISTRY[i]->name);
            if (w < 0 || (size_t)w >= sizeof known - used) break;
            used += (size_t)w;
        }
        return cerr_set(e, CERR_INVALID, "unknown analyzer \"%s\" (this build has: %s, auto)", name, known);
    }
    analyzer *a = calloc(1, sizeof *a);
    if (!a) return cerr_set(e, CERR_NOMEM, "out of memory opening analyzer %s", ops->name);
    a->ops = ops;
    analyzer_options defaults = {0};
    if (ops->load(opt ? opt : &defaults, &a->model, e)) {
        free(a);
        return cerr_wrap(e, "loading analyzer %s", ops->name);
    }
    *out = a;
    return 0;
}

void analyzer_free(analyzer *a) {
    if (!a) return;
    a->ops->unload(a->model);
    free(a);
}

const char *analyzer_name(const analyzer *a) { return a->ops->name; }

const char *analyzer_model_id(const analyzer *a) { return a->ops->model_id(a->model); }

int analyzer_session_new(analyzer *a, analyzer_session **out, cerr *e) {
    analyzer_session *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory creating an analyzer session");
    s->ops = a->ops;
    if (a->ops->session_new(a->model, &s->session, e)) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void analyzer_session_free(analyzer_session *s) {
    if (!s) return;
    s->ops->session_free(s->session);
    free(s);
}

int analyzer_classify(analyzer_session *s, const char *const *texts, size_t n, sentiment *out, cerr *e) {
    if (n == 0) return 0;
    if (!texts || !out) return cerr_set(e, CERR_INVALID, "analyzer_classify: no texts or no output");
    return s->ops->classify(s->session, texts, n, out, e);
}

/* azure.c - sentiment through Azure AI Language's analyze-text API (kind SentimentAnalysis).
 *
 * A classify call becomes requests of at most AZURE_MAX_DOCS documents (fewer when the body would pass
 * AZURE_MAX_REQUEST_BYTES), each retried on 429/5xx/transport failures through retry_http (Retry-After
 * honoured). Document ids are the texts' indexes in the call, so they are unique within a request.
 *
 * What we store: p = the service's confidenceScores {negative, neutral, positive}. Its label maps
 * directly, except "mixed" (both polarities present), which becomes whichever of positive/negative scored
 * higher (negative on a tie: the safer reading for moderation). Blank texts are not sent (the service
 * rejects empty documents): they are neutral {0, 1, 0}, as VADER stores a text with no words.
 *
 * Per-document errors (the service answers 200 with the document in errors[]) fail the whole call with a
 * message naming the text and the service's code. The interface has no per-text error, and a made-up
 * label would be stored as if the service had said it; failing lets the pipeline retry the post later and
 * finally report it failed with that message. Our own checks (length, blank, UTF-8) make such errors rare. */
#include "sentiment/azure.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "sentiment/azure_text.h"
#include "sources/retry.h"

#define MAX_RESPONSE_BYTES (4u << 20)
#define KEY_MAX 512

typedef struct azure_model {
    char *endpoint;    /* without trailing slashes */
    char *key;
    char *language;
    char url[2300];    /* the analyze-text URL with api-version */
    char key_header[KEY_MAX + 40];
    char model_id[80];
    retry_policy policy;
} azure_model;

typedef struct azure_session {
    const azure_model *m;
    buf text[AZURE_MAX_DOCS];     /* the documents of the batch being built */
    size_t idx[AZURE_MAX_DOCS];   /* text[k] is texts[idx[k]] of the classify call */
    bool trunc[AZURE_MAX_DOCS];
    char *body;                   /* request body (json_dumpb target) */
    size_t body_cap;
    http_response r;
    char model_version[64];       /* last modelVersion seen, logged when it changes */
} azure_session;

/* ---- settings ---- */

static int env_range(const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out, cerr *e) {
    const char *v = getenv(name);
    *out = dflt;
    if (!v || !*v) return 0;
    if (parse_i64(v, out) || *out < lo || *out > hi)
        return cerr_set(e, CERR_INVALID, "%s must be a whole number from %lld to %lld", name, (long long)lo,
                        (long long)hi);
    return 0;
}

static bool only_chars(const char *s, const char *allowed) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr(allowed, *s)))
            return false;
    return true;
}

/* http:// sends the key in clear, so it is allowed only to this machine (tests, a local proxy). */
static bool loopback_host(const char *after_scheme) {
    static const char *const hosts[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncasecmp(after_scheme, hosts[i], n) == 0 &&
            (after_scheme[n] == '\0' || after_scheme[n] == ':' || after_scheme[n] == '/'))
            return true;
    }
    return false;
}

static int check_endpoint(const char *ep, cerr *e) {
    if (!ep || !*ep)
        return cerr_set(e, CERR_INVALID,
                        "AZURE_LANGUAGE_ENDPOINT is not set (e.g. https://<resource>.cognitiveservices.azure.com)");
    if (strlen(ep) > 2048) return cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_ENDPOINT is too long");
    for (const char *c = ep; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '?' || *c == '#' || (unsigned char)*c >= 0x7f)
            return cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_ENDPOINT must be a plain URL (no spaces, query or fragment)");
    if (str_starts_with(ep, "https://") && ep[8]) return 0;
    if (str_starts_with(ep, "http://") && loopback_host(ep + 7)) return 0;
    return cerr_set(e, CERR_INVALID,
                    "AZURE_LANGUAGE_ENDPOINT must start with https:// (http:// only for 127.0.0.1/localhost), "
                    "e.g. https://<resource>.cognitiveservices.azure.com");
}

static int check_key(const char *key, cerr *e) {
    if (!key || !*key)
        return cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_KEY (or AZURE_LANGUAGE_KEY_FILE) is not set: give the "
                                         "Language resource's key");
    if (strlen(key) > KEY_MAX) return cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_KEY is longer than %d bytes", KEY_MAX);
    for (const char *c = key; *c; c++) /* it goes into a header line */
        if ((unsigned char)*c < ' ' || (unsigned char)*c == 0x7f)
            return cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_KEY contains a control character");
    return 0;
}

static void model_free(azure_model *m) {
    if (!m) return;
    free(m->endpoint);
    if (m->key) memset(m->key, 0, strlen(m->key));
    free(m->key);
    memset(m->key_header, 0, sizeof m->key_header);
    free(m->language);
    free(m);
}

static int azure_load(const analyzer_options *opt, void **out, cerr *e) {
    (void)opt; /* no files: everything comes from the environment */
    azure_model *m = calloc(1, sizeof *m);
    if (!m) return cerr_set(e, CERR_NOMEM, "out of memory");
    const char *ep = getenv("AZURE_LANGUAGE_ENDPOINT");
    const char *ver = env_or("AZURE_LANGUAGE_API_VERSION", AZURE_DEFAULT_API_VERSION);
    const char *lang = env_or("AZURE_LANGUAGE_LANGUAGE", AZURE_DEFAULT_LANGUAGE);
    int64_t timeout, retries;
    if (check_endpoint(ep, e)) goto fail;
    if (strlen(ver) > 32 || !only_chars(ver, "-.")) {
        cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_API_VERSION must look like 2023-04-01");
        goto fail;
    }
    if (strlen(lang) > 16 || !only_chars(lang, "-")) {
        cerr_set(e, CERR_INVALID, "AZURE_LANGUAGE_LANGUAGE must be a language code such as en or pt-PT");
        goto fail;
    }
    if (env_range("CHATTER_HTTP_TIMEOUT_MS", 100, 3600000, 30000, &timeout, e) ||
        env_range("CHATTER_HTTP_RETRIES", 0, 20, 4, &retries, e))
        goto fail;
    if (env_secret("AZURE_LANGUAGE_KEY", &m->key, e)) goto fail;
    if (check_key(m->key, e)) goto fail;
    m->endpoint = xstrdup(ep);
    m->language = xstrdup(lang);
    if (!m->endpoint || !m->language) {
        cerr_set(e, CERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t n = strlen(m->endpoint); n > 0 && m->endpoint[n - 1] == '/'; n--) m->endpoint[n - 1] = '\0';
    if (sbprintf(m->url, sizeof m->url, "%s/language/:analyze-text?api-version=%s", m->endpoint, ver) ||
        sbprintf(m->key_header, sizeof m->key_header, "Ocp-Apim-Subscription-Key: %s", m->key) ||
        sbprintf(m->model_id, sizeof m->model_id, "azure-language@%s", ver)) {
        cerr_set(e, CERR_INVALID, "Azure AI Language settings are too long");
        goto fail;
    }
    m->policy = (retry_policy){.max_retries = (int)retries, .base_ms = 500, .max_ms = 30000, .timeout_ms = (long)timeout};
    log_info("analyzer azure: %s, api-version %s, language %s", m->endpoint, ver, m->language);
    *out = m;
    return 0;
fail:
    model_free(m);
    return -1;
}

static void azure_unload(void *model) { model_free(model); }

static const char *azure_model_id(const void *model) { return ((const azure_model *)model)->model_id; }

static int azure_session_new(const void *model, void **out, cerr *e) {
    azure_session *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->m = model;
    for (int i = 0; i < AZURE_MAX_DOCS; i++) buf_init(&s->text[i], 0);
    http_response_init(&s->r);
    *out = s;
    return 0;
}

static void azure_session_free(void *session) {
    azure_session *s = session;
    if (!s) return;
    for (int i = 0; i < AZURE_MAX_DOCS; i++) buf_free(&s->text[i]);
    free(s->body);
    http_response_free(&s->r);
    free(s);
}

/* ---- one request ---- */

/* Builds the body for documents [a, b) into s->body; *len is its length. */
static int build_body(azure_session *s, size_t a, size_t b, size_t *len, cerr *e) {
    json_t *docs = json_array();
    json_t *root = json_pack("{s:s, s:{s:s, s:b}, s:{s:o}}", "kind", "SentimentAnalysis", "parameters",
                             "modelVersion", "latest", "opinionMining", 0, "analysisInput", "documents", docs);
    if (!root) return cerr_set(e, CERR_NOMEM, "out of memory building an Azure request");
    for (size_t k = a; k < b; k++) {
        char id[24];
        snprintf(id, sizeof id, "%zu", s->idx[k]);
        json_t *d = json_pack("{s:s, s:s, s:s%}", "id", id, "language", s->m->language, "text", s->text[k].data,
                              s->text[k].len);
        if (!d || json_array_append_new(docs, d)) {
            json_decref(root);
            return cerr_set(e, CERR_NOMEM, "out of memory building an Azure request");
        }
    }
    size_t need = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (need > s->body_cap) {
        char *nb = realloc(s->body, need);
        if (!nb) {
            json_decref(root);
            return cerr_set(e, CERR_NOMEM, "out of memory building an Azure request");
        }
        s->body = nb;
        s->body_cap = need;
    }
    *len = json_dumpb(root, s->body, s->body_cap, JSON_COMPACT);
    json_decref(root);
    if (*len == 0 || *len > s->body_cap) return cerr_set(e, CERR_INTERNAL, "cannot encode the Azure request");
    return 0;
}

/* The key must not leak through an echoing server or proxy either. */
static const char *scrub(const azure_model *m, const char *msg) {
    return msg && strstr(msg, m->key) ? "(message withheld: it contains the key)" : msg;
}

/* "Code: message" from {"error":{"code","message","innererror":{"code","message"}}}, the inner one when
 * present (it is the specific one: InvalidDocumentBatch under InvalidRequest). */
static void error_text(const azure_model *m, json_t *err, char *out, size_t cap) {
    json_t *inner = json_object_get(err, "innererror");
    json_t *src = json_is_object(inner) ? inner : err;
    const char *code = json_string_value(json_object_get(src, "code"));
    const char *msg = json_string_value(json_object_get(src, "message"));
    if (!msg) msg = json_string_value(json_object_get(err, "message"));
    snprintf(out, cap, "%.80s%s%.300s", code ? code : "", code && msg ? ": " : "", msg ? scrub(m, msg) : "");
}

static int fail_status(azure_session *s, const retry_stats *st, cerr *e) {
    const azure_model *m = s->m;
    long status = s->r.status;
    if (status == 401)
        return cerr_set(e, CERR_UPSTREAM,
                        "Azure AI Language rejected the key (HTTP 401): check AZURE_LANGUAGE_KEY and that "
                        "AZURE_LANGUAGE_ENDPOINT (%s) is the endpoint of that key's resource", m->endpoint);
    char detail[420] = "";
    json_t *j = json_loadb(s->r.body.data ? s->r.body.data : "", s->r.body.len, 0, NULL);
    json_t *err = json_object_get(j, "error");
    if (json_is_object(err)) error_text(m, err, detail, sizeof detail);
    json_decref(j);
    if (status == 429)
        return cerr_set(e, CERR_UPSTREAM, "Azure AI Language is throttling requests (HTTP 429) after %d attempt(s)%s%s%s",
                        st->attempts, detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
    if (status == 404)
        return cerr_set(e, CERR_UPSTREAM, "Azure AI Language answered HTTP 404 at %s: check AZURE_LANGUAGE_ENDPOINT "
                        "and AZURE_LANGUAGE_API_VERSION%s%s%s", m->endpoint, detail[0] ? " (" : "", detail,
                        detail[0] ? ")" : "");
    return cerr_set(e, CERR_UPSTREAM, "Azure AI Language answered HTTP %ld%s%s%s", status,
                    status >= 500 ? " after retries" : "", detail[0] ? ": " : "", detail);
}

static int score(json_t *scores, const char *name, float *out, cerr *e) {
    json_t *v = json_object_get(scores, name);
    if (!json_is_number(v)) return cerr_set(e, CERR_UPSTREAM, "Azure AI Language answer has no %s score", name);
    double d = json_number_value(v);
    if (!(d >= -1e-6 && d <= 1 + 1e-6)) return cerr_set(e, CERR_UPSTREAM, "Azure AI Language %s score %g is not in [0, 1]", name, d);
    *out = d < 0 ? 0.0f : d > 1 ? 1.0f : (float)d;
    return 0;
}

/* The slot in [a, b) whose document id is id, or -1. */
static long slot_of(const azure_session *s, size_t a, size_t b, const char *id) {
    if (!id) return -1;
    int64_t v;
    if (parse_i64(id, &v) || v < 0) return -1;
    for (size_t k = a; k < b; k++)
        if (s->idx[k] == (size_t)v) return (long)k;
    return -1;
}

static int parse_results(azure_session *s, size_t a, size_t b, sentiment *out, cerr *e) {
    json_error_t je;
    json_t *root = json_loadb(s->r.body.data ? s->r.body.data : "", s->r.body.len, 0, &je);
    json_t *res = json_object_get(root, "results");
    json_t *docs = json_object_get(res, "documents");
    json_t *errs = json_object_get(res, "errors");
    int rc = 0;
    if (!json_is_array(docs)) {
        rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language answer is not a sentiment result%s%s",
                      root ? "" : ": ", root ? "" : je.text);
        goto out;
    }
    size_t i;
    json_t *it;
    json_array_foreach(errs, i, it) {
        char detail[420] = "";
        error_text(s->m, json_object_get(it, "error"), detail, sizeof detail);
        long k = slot_of(s, a, b, json_string_value(json_object_get(it, "id")));
        if (k < 0) rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language refused a document: %s", detail);
        else
            rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language refused text %zu of this batch: %s", s->idx[k] + 1, detail);
        goto out;
    }
    bool seen[AZURE_MAX_DOCS] = {0};
    json_array_foreach(docs, i, it) {
        long k = slot_of(s, a, b, json_string_value(json_object_get(it, "id")));
        if (k < 0 || seen[k]) {
            rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language answered for a document it was not sent");
            goto out;
        }
        seen[k] = true;
        sentiment *o = &out[s->idx[k]];
        json_t *sc = json_object_get(it, "confidenceScores");
        if (score(sc, "negative", &o->p[0], e) || score(sc, "neutral", &o->p[1], e) || score(sc, "positive", &o->p[2], e)) {
            rc = -1;
            goto out;
        }
        const char *lab = json_string_value(json_object_get(it, "sentiment"));
        if (!lab) lab = "";
        if (strcmp(lab, "positive") == 0) o->label = LABEL_POSITIVE;
        else if (strcmp(lab, "negative") == 0) o->label = LABEL_NEGATIVE;
        else if (strcmp(lab, "neutral") == 0) o->label = LABEL_NEUTRAL;
        else if (strcmp(lab, "mixed") == 0) o->label = o->p[2] > o->p[0] ? LABEL_POSITIVE : LABEL_NEGATIVE;
        else {
            rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language answered an unknown sentiment \"%.40s\"", lab);
            goto out;
        }
        o->truncated = s->trunc[k];
    }
    for (size_t k = a; k < b; k++)
        if (!seen[k]) {
            rc = cerr_set(e, CERR_UPSTREAM, "Azure AI Language answer has no result for text %zu of this batch", s->idx[k] + 1);
            goto out;
        }
    const char *mv = json_string_value(json_object_get(res, "modelVersion"));
    if (mv && strncmp(mv, s->model_version, sizeof s->model_version - 1) != 0) {
        snprintf(s->model_version, sizeof s->model_version, "%s", mv);
        log_info("analyzer azure: the service answers with modelVersion %s", s->model_version);
    }
out:
    json_decref(root);
    return rc;
}

/* Sends documents [a, b); halves the batch while the body is over the request size limit. */
static int send_docs(azure_session *s, size_t a, size_t b, sentiment *out, cerr *e) {
    size_t len = 0;
    if (build_body(s, a, b, &len, e)) return -1;
    if (len > AZURE_MAX_REQUEST_BYTES && b - a > 1) {
        size_t mid = a + (b - a) / 2;
        return send_docs(s, a, mid, out, e) || send_docs(s, mid, b, out, e) ? -1 : 0;
    }
    const azure_model *m = s->m;
    http_request req = {.method = "POST", .url = m->url, .body = s->body, .body_len = len,
                        .max_body = MAX_RESPONSE_BYTES,
                        .headers = {"Content-Type: application/json", "Accept: application/json", m->key_header}};
    retry_stats st;
    if (retry_http(&m->policy, &req, &s->r, &st, e))
        return cerr_wrap(e, "Azure AI Language at %s", m->endpoint);
    if (s->r.status != 200) return fail_status(s, &st, e);
    return parse_results(s, a, b, out, e);
}

static int azure_classify(void *session, const char *const *texts, size_t n, sentiment *out, cerr *e) {
    azure_session *s = session;
    for (size_t next = 0; next < n;) {
        size_t k = 0;
        while (next < n && k < AZURE_MAX_DOCS) {
            size_t i = next++;
            azure_text_info info;
            const char *t = texts[i] ? texts[i] : "";
            if (azure_text_prepare(t, strlen(t), AZURE_MAX_ELEMENTS, AZURE_MAX_DOC_BYTES, &s->text[k], &info, e))
                return -1;
            if (info.blank) {
                out[i] = (sentiment){.label = LABEL_NEUTRAL, .p = {0, 1, 0}, .truncated = info.truncated};
                continue;
            }
            s->idx[k] = i;
            s->trunc[k] = info.truncated;
            k++;
        }
        if (k && send_docs(s, 0, k, out, e)) return -1;
    }
    return 0;
}

const analyzer_ops azure_analyzer_ops = {
    .name = "azure",
    .load = azure_load,
    .unload = azure_unload,
    .model_id = azure_model_id,
    .session_new = azure_session_new,
    .session_free = azure_session_free,
    .classify = azure_classify,
};

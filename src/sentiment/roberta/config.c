/* config.c - config.json of a RoBERTa classifier: sizes, eps, pad id and the label order. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "sentiment/roberta/model.h"

static int get_int(json_t *root, const char *key, int lo, int hi, int dflt, int *out, const char *path, cerr *e) {
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (dflt < 0) return cerr_set(e, CERR_INVALID, "%s: missing \"%s\"", path, key);
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return cerr_set(e, CERR_INVALID, "%s: \"%s\" must be an integer in [%d, %d]", path, key, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int label_kind(const char *s) {
    char low[32];
    size_t n = strlen(s);
    if (n >= sizeof low) return -1;
    for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)s[i]);
    if (strcmp(low, "negative") == 0) return 0;
    if (strcmp(low, "neutral") == 0) return 1;
    if (strcmp(low, "positive") == 0) return 2;
    return -1;
}

int roberta_config_load(const char *path, roberta_config *cfg, cerr *e) {
    memset(cfg, 0, sizeof *cfg);
    buf b;
    buf_init(&b, 0);
    if (read_file_capped(path, 1 << 20, &b, e)) return -1;
    json_error_t je;
    json_t *root = json_loadb(b.data, b.len, 0, &je);
    buf_free(&b);
    if (!json_is_object(root)) {
        json_decref(root);
        return cerr_set(e, CERR_INVALID, "%s: not a JSON object (line %d: %s)", path, je.line, je.text);
    }
    int rc = -1;
    if (get_int(root, "num_hidden_layers", 1, 256, -1, &cfg->layers, path, e) ||
        get_int(root, "hidden_size", 1, 16384, -1, &cfg->hidden, path, e) ||
        get_int(root, "num_attention_heads", 1, 256, -1, &cfg->heads, path, e) ||
        get_int(root, "intermediate_size", 1, 65536, -1, &cfg->intermediate, path, e) ||
        get_int(root, "vocab_size", 3, 1 << 22, -1, &cfg->vocab, path, e) ||
        get_int(root, "max_position_embeddings", 3, 65536, -1, &cfg->max_positions, path, e) ||
        get_int(root, "type_vocab_size", 1, 1024, 1, &cfg->type_vocab, path, e) ||
        get_int(root, "pad_token_id", 0, 1 << 22, 1, &cfg->pad_id, path, e))
        goto out;
    if (cfg->hidden % cfg->heads) {
        cerr_set(e, CERR_INVALID, "%s: hidden_size %d is not a multiple of num_attention_heads %d", path, cfg->hidden, cfg->heads);
        goto out;
    }
    if (cfg->pad_id >= cfg->vocab || cfg->pad_id + 2 >= cfg->max_positions) {
        cerr_set(e, CERR_INVALID, "%s: pad_token_id %d does not fit the vocabulary or positions", path, cfg->pad_id);
        goto out;
    }
    json_t *eps = json_object_get(root, "layer_norm_eps");
    cfg->layer_norm_eps = 1e-5f;
    if (eps) {
        if (!json_is_number(eps) || json_number_value(eps) <= 0 || json_number_value(eps) > 1) {
            cerr_set(e, CERR_INVALID, "%s: bad layer_norm_eps", path);
            goto out;
        }
        cfg->layer_norm_eps = (float)json_number_value(eps);
    }
    json_t *act = json_object_get(root, "hidden_act");
    if (act && (!json_is_string(act) || strcmp(json_string_value(act), "gelu") != 0)) {
        cerr_set(e, CERR_INVALID, "%s: hidden_act must be \"gelu\" (exact erf GELU)", path);
        goto out;
    }
    json_t *pet = json_object_get(root, "position_embedding_type");
    if (pet && json_is_string(pet) && strcmp(json_string_value(pet), "absolute") != 0) {
        cerr_set(e, CERR_INVALID, "%s: position_embedding_type \"%s\" is not supported", path, json_string_value(pet));
        goto out;
    }
    json_t *id2 = json_object_get(root, "id2label");
    cfg->num_labels = 3;
    if (!id2) { /* no labels: the card's order */
        for (int i = 0; i < 3; i++) {
            cfg->label_of_output[i] = i;
            snprintf(cfg->label_names[i], sizeof cfg->label_names[i], "LABEL_%d", i);
        }
    } else {
        if (!json_is_object(id2) || json_object_size(id2) != 3) {
            cerr_set(e, CERR_INVALID, "%s: id2label must have exactly 3 labels", path);
            goto out;
        }
        int seen = 0;
        for (int i = 0; i < 3; i++) {
            char key[8];
            snprintf(key, sizeof key, "%d", i);
            json_t *v = json_object_get(id2, key);
            if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof cfg->label_names[i]) {
                cerr_set(e, CERR_INVALID, "%s: id2label has no usable entry \"%s\"", path, key);
                goto out;
            }
            const char *s = json_string_value(v);
            snprintf(cfg->label_names[i], sizeof cfg->label_names[i], "%s", s);
            int k = label_kind(s);
            char generic[16];
            snprintf(generic, sizeof generic, "LABEL_%d", i);
            if (k < 0 && strcmp(s, generic) == 0) k = i;
            if (k < 0 || (seen & (1 << k))) {
                cerr_set(e, CERR_INVALID, "%s: id2label must name negative, neutral and positive once each (got \"%s\")", path, s);
                goto out;
            }
            seen |= 1 << k;
            cfg->label_of_output[i] = k;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int roberta_quant_parse(const char *s, roberta_quant *out, cerr *e) {
    if (!s || !*s || strcmp(s, "none") == 0 || strcmp(s, "fp32") == 0) *out = ROBERTA_FP32;
    else if (strcmp(s, "int8") == 0) *out = ROBERTA_INT8;
    else return cerr_set(e, CERR_INVALID, "unknown quantization \"%s\" (none or int8)", s);
    return 0;
}

/* model_specs.c - the models `chatter model fetch` knows, pinned to one upstream revision each.
 *
 * Provenance of the pins:
 * - vader: cjhutto/vaderSentiment at commit 44fc044cd877310ee8278a0eadf34bcd50d41d06; digests and sizes are
 *   those of ../shared/data/vader (see its SOURCE.md).
 * - roberta: cardiffnlp/twitter-roberta-base-sentiment-latest at revision 3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7.
 *   The digests agree across several independent public projects that pin this revision. vocab.json's is
 *   also reproduced exactly by re-serialising the shared compact vocab.json with Python's json.dumps
 *   defaults, and merges.txt's equals the shared merges.txt. vocab.json additionally accepts the compact
 *   re-serialisation that transformers' save_pretrained writes (same token->id map), so a locally saved
 *   copy works with --from. */
#include <string.h>

#include "models/model_fetch.h"

#define VADER_BASE "https://raw.githubusercontent.com/cjhutto/vaderSentiment/44fc044cd877310ee8278a0eadf34bcd50d41d06/"
#define ROBERTA_BASE \
    "https://huggingface.co/cardiffnlp/twitter-roberta-base-sentiment-latest/resolve/3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7/"

static const model_file_spec VADER_FILES[] = {
    {"vader_lexicon.txt", VADER_BASE "vaderSentiment/vader_lexicon.txt",
     {"ec636f884f36b5de6a4d681b2f61c08c2ec90eeb440472033f3307d0d6fa8bc9"}, 426786, false},
    {"emoji_utf8_lexicon.txt", VADER_BASE "vaderSentiment/emoji_utf8_lexicon.txt",
     {"25b217601fb59d4ed8f89360b719ddb4f352a40df0743f1cfb6f8150d02eb83a"}, 118417, false},
    {"LICENSE.txt", VADER_BASE "LICENSE.txt", {"b78925304c567623f14677bad66b8e305e7ddcaf7982c8d8411ce51c55a8bf51"},
     1076, false},
};

static const model_file_spec ROBERTA_FILES[] = {
    {"config.json", ROBERTA_BASE "config.json", {"d2fba19997da698157196ba16f5fcb30a97a7551cef6845a0f3d743ee19c6129"},
     929, false},
    {"vocab.json", ROBERTA_BASE "vocab.json",
     {"06b4d46c8e752d410213d9548eb27a54db70fda0319b6271fb8d59dead5e1cab",  /* hub, 898822 bytes */
      "ed19656ea1707df69134c4af35c8ceda2cc9860bf2c3495026153a133670ab5e"}, /* save_pretrained, 798293 */
     898822, false},
    {"merges.txt", ROBERTA_BASE "merges.txt", {"1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"},
     456318, false},
    {"pytorch_model.bin", ROBERTA_BASE "pytorch_model.bin",
     {"4d24a3e32a88ed1c4e5b789fc6644e2e767500554e954b27dccf52a8e762cbae"}, 501045531, false},
    {"special_tokens_map.json", ROBERTA_BASE "special_tokens_map.json",
     {"378eb3bf733eb16e65792d7e3fda5b8a4631387ca04d2015199c4d4f22ae554d"}, 239, true},
};

static const model_spec SPECS[] = {
    {"vader", "cjhutto/vaderSentiment", "44fc044cd877310ee8278a0eadf34bcd50d41d06", VADER_FILES,
     sizeof VADER_FILES / sizeof VADER_FILES[0]},
    {"roberta", "cardiffnlp/twitter-roberta-base-sentiment-latest", "3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7",
     ROBERTA_FILES, sizeof ROBERTA_FILES / sizeof ROBERTA_FILES[0]},
};

const model_spec *model_spec_find(const char *name) {
    for (size_t i = 0; name && i < sizeof SPECS / sizeof SPECS[0]; i++)
        if (strcmp(SPECS[i].name, name) == 0) return &SPECS[i];
    return NULL;
}

const char *model_spec_names(void) { return "vader, roberta"; }

/* fuzz_url.c - libFuzzer target for url_parse (and the Instagram shortcode decoder it feeds).
 * Built and run by run_fuzz.sh, not by CMake. Besides the sanitizers, it checks that an accepted link's
 * canonical URL parses back to the same platform and id, and that every rejection carries a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2 * URL_INPUT_MAX) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    post_url p;
    cerr e = {0};
    if (url_parse(s, &p, &e) == 0) {
        if (p.platform <= PLATFORM_NONE || p.platform >= PLATFORM_COUNT) abort();
        if (strnlen(p.canonical_url, POST_URL_MAX) >= POST_URL_MAX || strnlen(p.post_id, POST_ID_MAX) >= POST_ID_MAX)
            abort();
        post_url q;
        cerr e2 = {0};
        if (url_parse(p.canonical_url, &q, &e2) != 0 || q.platform != p.platform || strcmp(q.post_id, p.post_id) != 0 ||
            q.needs_resolve != p.needs_resolve || strcmp(q.canonical_url, p.canonical_url) != 0)
            abort(); /* canonical URLs must be fixed points */
        if (p.platform == PLATFORM_INSTAGRAM) {
            uint64_t pk;
            (void)!instagram_shortcode_to_pk(p.post_id, &pk, &e2);
        }
    } else if (e.code == CERR_OK || !e.msg[0] || strnlen(e.msg, sizeof e.msg) >= sizeof e.msg) {
        abort();
    }
    free(s);
    return 0;
}

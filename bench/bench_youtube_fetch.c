/* bench_youtube_fetch.c - comments/s of the YouTube source against tests/fakes/fake_youtube.py (5 videos x 5 rounds).
 * Build and run from the repository root after building build/:
 *   cc -O2 -D_GNU_SOURCE -DCHATTER_VERSION="\"bench\"" -Isrc bench/bench_youtube_fetch.c build/libchatter_lib.a \
 *      $(pkg-config --libs libcurl jansson gnutls) -o /tmp/bench_yt && CHATTER_SHARED=../shared CHATTER_SOURCE_DIR=$PWD /tmp/bench_yt
 * The fake (single Python process) is the bottleneck; this shows the per-page overhead, not YouTube. */
#include <stdio.h>
#include <stdlib.h>
#include "core/util.h"
#include "sources/youtube.h"
#include "../tests/unit/fake_server.h"
static int sink(void *ud, const comment_rec *r, size_t n) { (void)r; *(size_t *)ud += n; return 0; }
int main(void) {
    cerr e = {0};
    if (http_global_init(&e)) return 1;
    fake_server f;
    const char *args[] = {"--key", "k", NULL};
    if (fake_start(&f, "fake_youtube.py", args)) return 1;
    char url[160];
    snprintf(url, sizeof url, "%s/youtube/v3", f.base);
    source_settings s = {.youtube_api_url = url, .youtube_api_key = "k", .request_timeout_ms = 5000, .max_retries = 2, .retry_base_ms = 50, .retry_max_ms = 1000};
    const char *v[] = {"9bZkp7q19f0", "CevxZvSJLk8", "KQ6zr6kCPj8", "uelHwf8o7_U", "pRpeEdMmmQ0"};
    for (int rep = 0; rep < 2; rep++) {
        int replies = rep;
        size_t n = 0;
        int64_t t0 = now_ms();
        for (int round = 0; round < 5; round++)
            for (int i = 0; i < 5; i++) {
                fetch_request rq = {.platform = PLATFORM_YOUTUBE, .post_id = v[i], .include_replies = replies};
                fetch_outcome o;
                if (youtube_source_ops.fetch(&s, &rq, sink, &n, &o, &e) || o.status) return 2;
            }
        int64_t dt = now_ms() - t0;
        printf("replies=%d: %zu comments in %lld ms (%.0f comments/s)\n", replies, n, (long long)dt, n * 1000.0 / dt);
    }
    fake_stop(&f);
    return 0;
}

/* resolve.h - TikTok short links (vm.tiktok.com/CODE, vt.tiktok.com/CODE, www.tiktok.com/t/CODE) to the
 * canonical video URL, at job creation, so the stored URL and post id are the real ones.
 *
 * Each hop is one HEAD request (GET if the server refuses HEAD) with "User-Agent: facebookexternalhit/1.1"
 * (TikTok withholds Location from some bot agents); redirects are followed by us, hop by hop, never by
 * curl: at most RESOLVE_MAX_HOPS requests, https targets only, TikTok hosts only, no URL visited twice.
 * A hop that lands on another short link is followed; one that lands on a video link ends the walk, and
 * that link goes through url_parse again.
 *
 * Tests: CHATTER_TIKTOK_RESOLVE_URL=http://127.0.0.1:PORT sends the request for
 * https://HOST/PATH to http://127.0.0.1:PORT/HOST/PATH instead (the checks above still apply to the
 * public URLs); resolve_opts.override_base does the same without the environment. */
#ifndef CHATTER_SOURCES_RESOLVE_H
#define CHATTER_SOURCES_RESOLVE_H

#include <stddef.h>

#include "core/err.h"
#include "sources/url.h"

#define RESOLVE_MAX_HOPS 5

typedef struct resolve_opts {
    const char *override_base; /* NULL: CHATTER_TIKTOK_RESOLVE_URL if set; "" = none */
    long timeout_ms;           /* per hop; 0 = 10000 */
} resolve_opts;

/* Resolves in (a post_url with needs_resolve; other links are copied unchanged) into out. On failure -1:
 * CERR_INVALID with a reason for the user (loop, too many hops, not https, left TikTok, no redirect,
 * link not found, not a video), or CERR_NETWORK when TikTok could not be reached (worth retrying).
 * opts may be NULL. */
int resolve_short_link(const post_url *in, const resolve_opts *opts, post_url *out, cerr *e) CH_MUST_USE;

/* The same for a link as text, in the shape of api_config.resolve: out (cap bytes) receives the
 * canonical URL. ctx may point at a resolve_opts, or be NULL. */
int resolve_link_text(void *ctx, const char *url, char *out, size_t cap, cerr *e) CH_MUST_USE;

#endif

/* url.h - turning a pasted post link into (platform, post id, canonical URL).
 * Pure string work: no network. Short links that need a redirect to be resolved are reported as such
 * (url_parse sets needs_resolve) and resolved by sources/resolve.h at job creation. */
#ifndef CHATTER_SOURCES_URL_H
#define CHATTER_SOURCES_URL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

typedef enum platform {
    PLATFORM_NONE = 0,
    PLATFORM_YOUTUBE,
    PLATFORM_TIKTOK,
    PLATFORM_INSTAGRAM,
    PLATFORM_COUNT
} platform;

const char *platform_name(platform p);          /* "youtube", "tiktok", "instagram" */
platform platform_from_name(const char *name);  /* PLATFORM_NONE when unknown */

#define POST_ID_MAX 64
#define POST_URL_MAX 512
#define URL_INPUT_MAX 2048

typedef struct post_url {
    platform platform;
    char post_id[POST_ID_MAX];         /* YouTube: 11-char id; TikTok: decimal id; Instagram: shortcode */
    char canonical_url[POST_URL_MAX];  /* e.g. https://www.youtube.com/watch?v=ID */
    bool needs_resolve;                /* a short link: canonical_url holds the link to resolve */
    /* Canonical forms: https://www.youtube.com/watch?v=ID; https://www.tiktok.com/@USER/video/ID
     * (or /photo/ID for slideshows; USER is empty, "/@/video/ID", when the link did not name one);
     * https://www.instagram.com/p/SHORTCODE/ (reels and tv too). TikTok short links
     * (vm./vt.tiktok.com/CODE, www.tiktok.com/t/CODE) set needs_resolve, leave post_id empty and put
     * the normalised short link, "https://vm.tiktok.com/CODE/", in canonical_url. */
} post_url;

/* Parses one link. On failure returns -1 with CERR_INVALID and a reason meant for the user, e.g.
 * "YouTube playlist links are not posts" or "unsupported host 'example.com'". Leading/trailing
 * whitespace is ignored; a missing scheme is accepted ("youtu.be/ID"). */
int url_parse(const char *input, post_url *out, cerr *e) CH_MUST_USE;

/* Instagram shortcode <-> legacy numeric media id ("pk"), per ../shared/docs/platform-apis.md 1.3. */
int instagram_shortcode_to_pk(const char *shortcode, uint64_t *pk, cerr *e) CH_MUST_USE;

#endif

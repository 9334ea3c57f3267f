/* url.c - pasted link -> (platform, post id, canonical URL), per shared/docs/platform-apis.md section 1.
 * curl's URL API splits the link (scheme, host, path, query, fragment); the per-platform rules below only
 * look at the host and the path segments, so a query or fragment never leaks into an id. */
#include "sources/url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

#define HOST_MAX 256
#define PATH_SEGMENTS 8
#define SEGMENT_MAX 256
#define TIKTOK_USER_MAX 64
#define IG_SHORTCODE_MAX 48 /* 11-char code + 28-char private tail, with room to spare */

static const char *const platform_names[PLATFORM_COUNT] = {
    [PLATFORM_NONE] = "none",
    [PLATFORM_YOUTUBE] = "youtube",
    [PLATFORM_TIKTOK] = "tiktok",
    [PLATFORM_INSTAGRAM] = "instagram",
};

const char *platform_name(platform p) {
    if ((int)p <= PLATFORM_NONE || p >= PLATFORM_COUNT) return "none";
    return platform_names[p];
}

platform platform_from_name(const char *name) {
    if (!name) return PLATFORM_NONE;
    for (int p = PLATFORM_NONE + 1; p < PLATFORM_COUNT; p++)
        if (strcasecmp(name, platform_names[p]) == 0) return (platform)p;
    return PLATFORM_NONE;
}

/* The link, split into what the platform rules need. */
typedef struct parts {
    char host[HOST_MAX];                     /* lower case, no trailing dot */
    char seg[PATH_SEGMENTS][SEGMENT_MAX];    /* non-empty path segments, percent-decoding not applied */
    int nseg;
    bool trailing_segments;                  /* more segments than PATH_SEGMENTS */
    char *query;                             /* raw query without '?', or NULL (curl-owned) */
} parts;

static bool id_char(int c) { return isalnum(c) || c == '_' || c == '-'; }

static bool all_chars(const char *s, bool (*ok)(int)) {
    if (!*s) return false;
    for (; *s; s++)
        if (!ok((unsigned char)*s)) return false;
    return true;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool word_char(int c) { return isalnum(c) || c == '_'; }
static bool tiktok_user_char(int c) { return isalnum(c) || c == '_' || c == '.' || c == '-'; }

static bool youtube_id_ok(const char *s) { return strlen(s) == 11 && all_chars(s, id_char); }

/* Accepts "https:", "http:" and no scheme at all; anything else that looks like a scheme is refused,
 * while "host:port/..." is not mistaken for one. */
static int check_scheme(const char *s, cerr *e) {
    const char *p = s;
    if (!isalpha((unsigned char)*p)) return 0;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') p++;
    if (*p != ':') return 0;
    size_t n = (size_t)(p - s);
    bool has_slashes = p[1] == '/' && p[2] == '/';
    if (!has_slashes) {
        const char *q = p + 1;
        while (is_digit(*q)) q++;
        if (q > p + 1 && (*q == '\0' || *q == '/' || *q == '?' || *q == '#')) return 0; /* a port */
    }
    if ((n == 4 && strncasecmp(s, "http", 4) == 0) || (n == 5 && strncasecmp(s, "https", 5) == 0)) {
        if (!has_slashes) return cerr_set(e, CERR_INVALID, "not a valid link");
        return 0;
    }
    if (n > 16) n = 16;
    return cerr_set(e, CERR_INVALID, "only http(s) links are supported (got a '%.*s:' link)", (int)n, s);
}

static int split_path(const char *path, parts *pt, cerr *e) {
    pt->nseg = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (pt->nseg == PATH_SEGMENTS) {
            pt->trailing_segments = true;
            break;
        }
        if (n >= SEGMENT_MAX) return cerr_set(e, CERR_INVALID, "link path is too long");
        memcpy(pt->seg[pt->nseg], p, n);
        pt->seg[pt->nseg][n] = '\0';
        pt->nseg++;
        p += n;
    }
    return 0;
}

/* Finds parameter `name` in a raw query; copies its (undecoded) value. */
static bool query_param(const char *query, const char *name, char *out, size_t cap) {
    if (!query) return false;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = n - nl - 1;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        if (n == nl && strncmp(p, name, nl) == 0) {
            out[0] = '\0';
            return true;
        }
        p += n;
        if (*p == '&') p++;
    }
    return false;
}

/* host == base, or one label of \w characters in front of it (yt-dlp's `(\w+\.)?`). */
static bool host_is(const char *host, const char *base, bool any_subdomain) {
    size_t hl = strlen(host), bl = strlen(base);
    if (hl == bl) return strcmp(host, base) == 0;
    if (!any_subdomain || hl < bl + 2 || strcmp(host + hl - bl, base) != 0 || host[hl - bl - 1] != '.') return false;
    for (size_t i = 0; i < hl - bl - 1; i++)
        if (!word_char((unsigned char)host[i])) return false;
    return true;
}

static int set_result(post_url *out, platform p, const char *id, bool resolve, cerr *e, const char *fmt, ...)
    CH_PRINTF(6, 7);

static int set_result(post_url *out, platform p, const char *id, bool resolve, cerr *e, const char *fmt, ...) {
    out->platform = p;
    out->needs_resolve = resolve;
    if (sbprintf(out->post_id, sizeof out->post_id, "%s", id))
        return cerr_set(e, CERR_INVALID, "post id in the link is too long");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->canonical_url, sizeof out->canonical_url, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof out->canonical_url) return cerr_set(e, CERR_INVALID, "link is too long");
    return 0;
}

/* ---- YouTube (1.1) ---- */

static int parse_youtube(const parts *pt, bool short_host, post_url *out, cerr *e) {
    char v[64];
    const char *id = NULL;
    if (short_host) {
        if (pt->nseg < 1) return cerr_set(e, CERR_INVALID, "YouTube short link has no video id");
        id = pt->seg[0];
    } else if (pt->nseg == 0) {
        return cerr_set(e, CERR_INVALID, "YouTube link does not point to a video");
    } else {
        const char *s0 = pt->seg[0];
        if (strcmp(s0, "watch") == 0) {
            if (query_param(pt->query, "v", v, sizeof v)) {
                id = v;
            } else if (query_param(pt->query, "list", v, sizeof v)) {
                return cerr_set(e, CERR_INVALID, "YouTube playlist links are not posts");
            } else {
                return cerr_set(e, CERR_INVALID, "YouTube link has no video id (v=...)");
            }
        } else if (strcmp(s0, "shorts") == 0 || strcmp(s0, "live") == 0 || strcmp(s0, "embed") == 0 ||
                   strcmp(s0, "v") == 0 || strcmp(s0, "e") == 0) {
            if (pt->nseg < 2) {
                if (strcmp(s0, "live") == 0) return cerr_set(e, CERR_INVALID, "YouTube live stream links are not posts");
                return cerr_set(e, CERR_INVALID, "YouTube link has no video id");
            }
            if (strcmp(s0, "embed") == 0 && strcmp(pt->seg[1], "videoseries") == 0)
                return cerr_set(e, CERR_INVALID, "YouTube playlist links are not posts");
            if (strcmp(s0, "live") == 0 && strcmp(pt->seg[1], "live_stream") == 0)
                return cerr_set(e, CERR_INVALID, "YouTube live stream links are not posts");
            id = pt->seg[1];
        } else if (s0[0] == '@' || strcmp(s0, "channel") == 0 || strcmp(s0, "c") == 0 ||
                   strcmp(s0, "user") == 0) {
            return cerr_set(e, CERR_INVALID, "YouTube channel links are not posts");
        } else if (strcmp(s0, "playlist") == 0) {
            return cerr_set(e, CERR_INVALID, "YouTube playlist links are not posts");
        } else if (strcmp(s0, "results") == 0 || strcmp(s0, "search") == 0 || strcmp(s0, "hashtag") == 0) {
            return cerr_set(e, CERR_INVALID, "YouTube search links are not posts");
        } else {
            return cerr_set(e, CERR_INVALID, "YouTube link does not point to a video");
        }
    }
    if (!youtube_id_ok(id)) return cerr_set(e, CERR_INVALID, "YouTube video id must be 11 characters of A-Z a-z 0-9 _ -");
    return set_result(out, PLATFORM_YOUTUBE, id, false, e, "https://www.youtube.com/watch?v=%s", id);
}

/* ---- TikTok (1.2) ---- */

static int tiktok_id(const char *s, cerr *e) {
    size_t n = strlen(s);
    if (n == 0 || n > 20 || !all_chars(s, is_digit)) return cerr_set(e, CERR_INVALID, "TikTok video id must be a decimal number");
    if (n == 20 && strcmp(s, "18446744073709551615") > 0) return cerr_set(e, CERR_INVALID, "TikTok video id is too large");
    return 0;
}

static int tiktok_result(post_url *out, const char *user, const char *kind, const char *id, cerr *e) {
    if (tiktok_id(id, e)) return -1;
    /* The user part is cosmetic (TikTok serves /@/video/ID for any user); drop one we cannot vouch for. */
    if (!user || strlen(user) > TIKTOK_USER_MAX || !all_chars(user, tiktok_user_char)) user = "";
    return set_result(out, PLATFORM_TIKTOK, id, false, e, "https://www.tiktok.com/@%s/%s/%s", user, kind, id);
}

static int tiktok_short(post_url *out, const char *host, const char *prefix, const char *code, cerr *e) {
    if (!all_chars(code, word_char) || strlen(code) > 64) return cerr_set(e, CERR_INVALID, "TikTok short link code is not valid");
    /* post_id stays empty: the id is only known after the redirect is followed */
    return set_result(out, PLATFORM_TIKTOK, "", true, e, "https://%s/%s%s/", host, prefix, code);
}

static int parse_tiktok(const parts *pt, post_url *out, cerr *e) {
    const char *h = pt->host;
    int n = pt->nseg;
    if (strcmp(h, "vm.tiktok.com") == 0 || strcmp(h, "vt.tiktok.com") == 0) {
        if (n < 1) return cerr_set(e, CERR_INVALID, "TikTok short link has no code");
        return tiktok_short(out, h, "", pt->seg[0], e);
    }
    if (n == 0) return cerr_set(e, CERR_INVALID, "TikTok link does not point to a video");
    const char *s0 = pt->seg[0];
    if (strcmp(s0, "t") == 0) {
        if (n < 2) return cerr_set(e, CERR_INVALID, "TikTok short link has no code");
        return tiktok_short(out, "www.tiktok.com", "t/", pt->seg[1], e);
    }
    if (s0[0] == '@') {
        if (n >= 2 && strcmp(pt->seg[1], "live") == 0) return cerr_set(e, CERR_INVALID, "TikTok live links are not posts");
        if (n >= 3 && (strcmp(pt->seg[1], "video") == 0 || strcmp(pt->seg[1], "photo") == 0))
            return tiktok_result(out, s0 + 1, pt->seg[1], pt->seg[2], e);
        return cerr_set(e, CERR_INVALID, "TikTok profile links are not posts");
    }
    if (strcmp(s0, "embed") == 0) {
        if (n >= 3 && strcmp(pt->seg[1], "v2") == 0) return tiktok_result(out, NULL, "video", pt->seg[2], e);
        if (n >= 2) return tiktok_result(out, NULL, "video", pt->seg[1], e);
        return cerr_set(e, CERR_INVALID, "TikTok embed link has no video id");
    }
    if (strcmp(s0, "share") == 0) {
        if (n >= 2 && strcmp(pt->seg[1], "live") == 0) return cerr_set(e, CERR_INVALID, "TikTok live links are not posts");
        if (n >= 3 && strcmp(pt->seg[1], "video") == 0) return tiktok_result(out, NULL, "video", pt->seg[2], e);
        return cerr_set(e, CERR_INVALID, "TikTok share link does not point to a video");
    }
    if (strcmp(s0, "v") == 0 && n >= 2) {
        /* the old mobile form /v/ID.html */
        char id[SEGMENT_MAX];
        snprintf(id, sizeof id, "%s", pt->seg[1]);
        size_t l = strlen(id);
        if (l > 5 && strcmp(id + l - 5, ".html") == 0) id[l - 5] = '\0';
        return tiktok_result(out, NULL, "video", id, e);
    }
    if (strcmp(s0, "live") == 0) return cerr_set(e, CERR_INVALID, "TikTok live links are not posts");
    if (strcmp(s0, "tag") == 0 || strcmp(s0, "search") == 0 || strcmp(s0, "discover") == 0)
        return cerr_set(e, CERR_INVALID, "TikTok search links are not posts");
    return cerr_set(e, CERR_INVALID, "TikTok link does not point to a video");
}

/* ---- Instagram (1.3) ---- */

static const char ig_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int parse_instagram(const parts *pt, post_url *out, cerr *e) {
    int n = pt->nseg;
    if (n == 0) return cerr_set(e, CERR_INVALID, "Instagram link does not point to a post");
    if (strcmp(pt->seg[0], "share") == 0)
        return cerr_set(e, CERR_INVALID, "Instagram share links are not supported: open the link and paste the post's address");
    if (strcmp(pt->seg[0], "stories") == 0) return cerr_set(e, CERR_INVALID, "Instagram stories are not posts");
    if (strcmp(pt->seg[0], "explore") == 0) return cerr_set(e, CERR_INVALID, "Instagram search links are not posts");
    /* /(p|tv|reel|reels)/SC, optionally after one /{username} segment */
    for (int i = 0; i < 2 && i + 1 < n; i++) {
        const char *k = pt->seg[i];
        if (strcmp(k, "p") == 0 || strcmp(k, "tv") == 0 || strcmp(k, "reel") == 0 || strcmp(k, "reels") == 0) {
            const char *sc = pt->seg[i + 1];
            if (strlen(sc) > IG_SHORTCODE_MAX || strspn(sc, ig_alphabet) != strlen(sc))
                return cerr_set(e, CERR_INVALID, "Instagram shortcode is not valid");
            return set_result(out, PLATFORM_INSTAGRAM, sc, false, e, "https://www.instagram.com/p/%s/", sc);
        }
    }
    return cerr_set(e, CERR_INVALID, "Instagram profile links are not posts");
}

int instagram_shortcode_to_pk(const char *shortcode, uint64_t *pk, cerr *e) {
    size_t n = shortcode ? strlen(shortcode) : 0;
    if (n > 28) n -= 28; /* private posts carry a 28-character tail that is not part of the id */
    if (n == 0) return cerr_set(e, CERR_INVALID, "empty Instagram shortcode");
    uint64_t id = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = strchr(ig_alphabet, shortcode[i]);
        if (!c || !shortcode[i]) return cerr_set(e, CERR_INVALID, "Instagram shortcode has a character outside A-Z a-z 0-9 - _");
        uint64_t d = (uint64_t)(c - ig_alphabet);
        if (id > (UINT64_MAX - d) / 64) return cerr_set(e, CERR_INVALID, "Instagram shortcode is too large for a media id");
        id = id * 64 + d;
    }
    *pk = id;
    return 0;
}

/* ---- entry point ---- */

static int split_url(const char *s, parts *pt, CURLU *u, cerr *e) {
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, s, CURLU_DEFAULT_SCHEME);
    if (rc != CURLUE_OK) return cerr_set(e, CERR_INVALID, "not a valid link (%s)", curl_url_strerror(rc));
    char *scheme = NULL, *host = NULL, *path = NULL, *user = NULL;
    int ret = 0;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        ret = cerr_set(e, CERR_INVALID, "only http(s) links are supported");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        ret = cerr_set(e, CERR_INVALID, "links with a user name are not supported");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        ret = cerr_set(e, CERR_INVALID, "link has no host");
        goto out;
    }
    size_t hl = strlen(host);
    if (hl && host[hl - 1] == '.') host[--hl] = '\0';
    if (hl >= sizeof pt->host) {
        ret = cerr_set(e, CERR_INVALID, "link host is too long");
        goto out;
    }
    for (size_t i = 0; i <= hl; i++) pt->host[i] = (char)tolower((unsigned char)host[i]);
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        ret = cerr_set(e, CERR_INVALID, "not a valid link");
        goto out;
    }
    ret = split_path(path, pt, e);
    if (!ret && curl_url_get(u, CURLUPART_QUERY, &pt->query, 0) != CURLUE_OK) pt->query = NULL;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(user);
    return ret;
}

int url_parse(const char *input, post_url *out, cerr *e) {
    memset(out, 0, sizeof *out);
    if (!input) return cerr_set(e, CERR_INVALID, "empty link");
    size_t len = strlen(input);
    if (len > URL_INPUT_MAX) return cerr_set(e, CERR_INVALID, "link is too long (over %d characters)", URL_INPUT_MAX);
    while (len && isspace((unsigned char)*input)) input++, len--;
    while (len && isspace((unsigned char)input[len - 1])) len--;
    if (len == 0) return cerr_set(e, CERR_INVALID, "empty link");
    char s[URL_INPUT_MAX + 1];
    memcpy(s, input, len);
    s[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return cerr_set(e, CERR_INVALID, "link contains control characters");
        if (c == ' ') return cerr_set(e, CERR_INVALID, "link contains spaces");
    }
    if (check_scheme(s, e)) return -1;

    CURLU *u = curl_url();
    if (!u) return cerr_set(e, CERR_NOMEM, "out of memory");
    parts pt;
    memset(&pt, 0, sizeof pt);
    int rc = split_url(s, &pt, u, e);
    if (rc == 0) {
        const char *h = pt.host;
        if (host_is(h, "youtube.com", true) || host_is(h, "youtube-nocookie.com", true) ||
            host_is(h, "youtubekids.com", true)) {
            rc = parse_youtube(&pt, false, out, e);
        } else if (strcmp(h, "youtu.be") == 0 || strcmp(h, "www.youtu.be") == 0) {
            rc = parse_youtube(&pt, true, out, e);
        } else if (strcmp(h, "tiktok.com") == 0 || strcmp(h, "www.tiktok.com") == 0 || strcmp(h, "m.tiktok.com") == 0 ||
                   strcmp(h, "vm.tiktok.com") == 0 || strcmp(h, "vt.tiktok.com") == 0 ||
                   strcmp(h, "www.tiktokv.com") == 0 || strcmp(h, "tiktokv.com") == 0) {
            rc = parse_tiktok(&pt, out, e);
        } else if (strcmp(h, "instagram.com") == 0 || strcmp(h, "www.instagram.com") == 0) {
            rc = parse_instagram(&pt, out, e);
        } else {
            rc = cerr_set(e, CERR_INVALID, "unsupported host '%.100s' (supported: YouTube, TikTok, Instagram)", h);
        }
    }
    curl_free(pt.query);
    curl_url_cleanup(u);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

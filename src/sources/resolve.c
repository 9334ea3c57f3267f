#include "sources/resolve.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http.h"
#include "core/util.h"

#define RESOLVE_UA "User-Agent: facebookexternalhit/1.1"

static bool tiktok_host(const char *h) {
    static const char *const roots[] = {"tiktok.com", "tiktokv.com"};
    size_t n = strlen(h);
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        size_t m = strlen(roots[i]);
        if (n == m && strcasecmp(h, roots[i]) == 0) return true;
        if (n > m && h[n - m - 1] == '.' && strcasecmp(h + n - m, roots[i]) == 0) return true;
    }
    return false;
}

/* Splits an absolute URL (or one relative to `base`) into its normalised form, scheme and host. */
static int split_url(const char *base, const char *url, char *abs, size_t abs_cap, char *scheme, size_t scap,
                     char *host, size_t hcap, char *path, size_t pcap, cerr *e) {
    CURLU *u = curl_url();
    if (!u) return cerr_set(e, CERR_NOMEM, "out of memory");
    char *s = NULL, *h = NULL, *p = NULL, *full = NULL;
    int rc = -1;
    if ((base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK) ||
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        cerr_set(e, CERR_INVALID, "TikTok short link redirected to an invalid URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &p, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        cerr_set(e, CERR_INVALID, "TikTok short link redirected to an invalid URL");
        goto out;
    }
    if (sbprintf(abs, abs_cap, "%s", full) || sbprintf(scheme, scap, "%s", s) || sbprintf(host, hcap, "%s", h) ||
        sbprintf(path, pcap, "%s", p)) {
        cerr_set(e, CERR_INVALID, "TikTok short link redirected to an over-long URL");
        goto out;
    }
    rc = 0;
out:
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

/* One hop: the Location the short link answers with. */
static int hop(const char *request_url, long timeout_ms, char *location, size_t cap, cerr *e) {
    const char *methods[] = {"HEAD", "GET"};
    for (int m = 0; m < 2; m++) {
        http_request req = {.method = methods[m], .url = request_url, .headers = {RESOLVE_UA},
                            .timeout_ms = timeout_ms, .max_body = 256 * 1024};
        http_response r;
        http_response_init(&r);
        if (http_do(&req, &r, e)) {
            http_response_free(&r);
            return cerr_wrap(e, "cannot reach TikTok to resolve the short link");
        }
        long st = r.status;
        int rc = 0;
        if (st == 405 && m == 0) {
            http_response_free(&r);
            continue; /* some servers refuse HEAD; the redirect is the same for GET */
        }
        if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) && r.location[0]) {
            if (sbprintf(location, cap, "%s", r.location))
                rc = cerr_set(e, CERR_INVALID, "TikTok short link redirected to an over-long URL");
        } else if (st == 404 || st == 410) {
            rc = cerr_set(e, CERR_INVALID, "TikTok short link not found (HTTP %ld)", st);
        } else if (st == 429 || st >= 500) {
            rc = cerr_set(e, CERR_NETWORK, "TikTok could not resolve the short link right now (HTTP %ld)", st);
        } else {
            rc = cerr_set(e, CERR_INVALID, "TikTok short link did not redirect to a video (HTTP %ld)", st);
        }
        http_response_free(&r);
        return rc;
    }
    return cerr_set(e, CERR_INVALID, "TikTok short link did not redirect to a video");
}

int resolve_short_link(const post_url *in, const resolve_opts *opts, post_url *out, cerr *e) {
    if (!in->needs_resolve) {
        *out = *in;
        return 0;
    }
    const char *base = opts && opts->override_base ? opts->override_base : getenv("CHATTER_TIKTOK_RESOLVE_URL");
    long timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    char visited[RESOLVE_MAX_HOPS][POST_URL_MAX];
    char cur[POST_URL_MAX];
    if (sbprintf(cur, sizeof cur, "%s", in->canonical_url)) return cerr_set(e, CERR_INVALID, "link is too long");
    for (int n = 0; n < RESOLVE_MAX_HOPS; n++) {
        for (int k = 0; k < n; k++)
            if (strcmp(visited[k], cur) == 0) return cerr_set(e, CERR_INVALID, "TikTok short link redirects in a loop");
        memcpy(visited[n], cur, sizeof cur);

        char abs[URL_INPUT_MAX], scheme[16], host[256], path[URL_INPUT_MAX], request_url[URL_INPUT_MAX + 256];
        if (split_url(NULL, cur, abs, sizeof abs, scheme, sizeof scheme, host, sizeof host, path, sizeof path, e))
            return -1;
        if (base && *base) {
            size_t bl = strlen(base);
            while (bl && base[bl - 1] == '/') bl--;
            if (sbprintf(request_url, sizeof request_url, "%.*s/%s%s", (int)bl, base, host, path))
                return cerr_set(e, CERR_INVALID, "link is too long");
        } else if (sbprintf(request_url, sizeof request_url, "%s", abs)) {
            return cerr_set(e, CERR_INVALID, "link is too long");
        }

        char location[2048], next[URL_INPUT_MAX];
        if (hop(request_url, timeout, location, sizeof location, e)) return -1;
        /* a relative Location is relative to the public URL, not to the test override */
        if (split_url(cur, location, next, sizeof next, scheme, sizeof scheme, host, sizeof host, path, sizeof path, e))
            return -1;
        if (strcasecmp(scheme, "https") != 0)
            return cerr_set(e, CERR_INVALID, "TikTok short link redirected to a non-https URL");
        if (!tiktok_host(host))
            return cerr_set(e, CERR_INVALID, "TikTok short link redirected off TikTok (to '%.100s')", host);
        post_url p;
        cerr pe = {0};
        if (url_parse(next, &p, &pe))
            return cerr_set(e, CERR_INVALID, "TikTok short link does not lead to a video: %s", pe.msg);
        if (p.platform != PLATFORM_TIKTOK)
            return cerr_set(e, CERR_INVALID, "TikTok short link does not lead to a TikTok video");
        if (!p.needs_resolve) {
            *out = p;
            return 0;
        }
        memcpy(cur, p.canonical_url, sizeof cur); /* another short link: one more hop */
    }
    return cerr_set(e, CERR_INVALID, "TikTok short link needs more than %d redirects", RESOLVE_MAX_HOPS);
}

int resolve_link_text(void *ctx, const char *url, char *out, size_t cap, cerr *e) {
    post_url in, res;
    if (url_parse(url, &in, e) || resolve_short_link(&in, ctx, &res, e)) return -1;
    if (sbprintf(out, cap, "%s", res.canonical_url)) return cerr_set(e, CERR_INVALID, "link is too long");
    return 0;
}

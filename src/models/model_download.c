/* model_download.c - streams a model file to disk with libcurl.
 * core/http.h buffers whole bodies in memory (8 MiB default cap), which does not suit a 500 MB weights file,
 * so this talks to libcurl's easy interface directly and writes as it receives. */
#include "models/model_download.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

typedef struct dl_state {
    CURL *c;
    FILE *fp;
    uint64_t have;  /* bytes in the .part file */
    uint64_t start; /* bytes there before this request */
    uint64_t cap;
    bool checked;   /* response status looked at */
    bool too_big, io_error;
    bool progress;
    const char *label;
    int64_t last_draw_ms;
} dl_state;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
    dl_state *d = ud;
    size_t n = size * nmemb;
    if (!d->checked) {
        d->checked = true;
        long code = 0;
        curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && d->have > 0) { /* server ignored the Range: start the file over */
            if (fflush(d->fp) || ftruncate(fileno(d->fp), 0)) {
                d->io_error = true;
                return 0;
            }
            d->have = d->start = 0;
        }
    }
    if (d->have + n > d->cap) {
        d->too_big = true;
        return 0;
    }
    if (fwrite(p, 1, n, d->fp) != n) {
        d->io_error = true;
        return 0;
    }
    d->have += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    dl_state *d = ud;
    int64_t now = now_ms();
    if (!d->progress || now - d->last_draw_ms < 250) return 0;
    d->last_draw_ms = now;
    double done = (double)(d->start + (uint64_t)dlnow) / 1e6;
    if (dltotal > 0) {
        double total = (double)(d->start + (uint64_t)dltotal) / 1e6;
        fprintf(stderr, "\r  %-24s %8.1f / %.1f MB  %3.0f%%", d->label, done, total, 100.0 * done / total);
    } else {
        fprintf(stderr, "\r  %-24s %8.1f MB", d->label, done);
    }
    return 0;
}

static void url_host(const char *url, char *out, size_t cap) {
    snprintf(out, cap, "the server");
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        snprintf(out, cap, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
}

int model_download(const char *url, const char *part_path, uint64_t max_bytes, bool progress, const char *label,
                   cerr *e) {
    struct stat st;
    uint64_t have = stat(part_path, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (have > max_bytes && truncate(part_path, 0) == 0) have = 0;
    FILE *fp = fopen(part_path, "ab"); /* append: a resumed transfer continues where the last one stopped */
    if (!fp) return cerr_set(e, CERR_IO, "cannot write %s: %s", part_path, strerror(errno));
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(fp);
        return cerr_set(e, CERR_NOMEM, "curl_easy_init failed");
    }
    dl_state d = {.c = c, .fp = fp, .have = have, .start = have, .cap = max_bytes, .progress = progress,
                  .label = label};
    char range[32];
    snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    /* CURLOPT_RANGE rather than RESUME_FROM: the latter fails outright on a 200, we prefer to start over */
    if (have) curl_easy_setopt(c, CURLOPT_RANGE, range);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* the hub redirects file URLs to its CDN */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* a stalled transfer fails after a minute */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "chatter/" CHATTER_VERSION);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (progress && d.last_draw_ms) fputc('\n', stderr);
    int closed = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    closed = fclose(fp) == 0 && closed;

    if (rc != CURLE_OK && d.have == 0) unlink(part_path); /* nothing to resume from */
    char host[256];
    url_host(url, host, sizeof host);
    if (d.too_big) {
        unlink(part_path);
        return cerr_set(e, CERR_TOOBIG, "%s: %s sent more than the expected %llu bytes", label, host,
                        (unsigned long long)max_bytes);
    }
    if (d.io_error || !closed) return cerr_set(e, CERR_IO, "cannot write %s: %s", part_path, strerror(errno));
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        if (code == 416 && have > 0) return 0; /* nothing left to fetch: the caller checks the digest */
        return cerr_set(e, code == 404 ? CERR_NOTFOUND : CERR_UPSTREAM, "%s: %s answered HTTP %ld for %s", label,
                        host, code, url);
    }
    if (rc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        if (d.have > d.start)
            return cerr_set(e, CERR_NETWORK,
                            "%s: download from %s interrupted after %llu bytes (%s); run the same command again "
                            "to resume",
                            label, host, (unsigned long long)d.have, why);
        return cerr_set(e, CERR_NETWORK,
                        "%s: cannot download from %s (%s). If this machine is offline, copy the model's files "
                        "from a machine that has them and install with --from DIR",
                        label, host, why);
    }
    return 0;
}

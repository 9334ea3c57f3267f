/* model_fetch.c - installs a model's files: fetch or copy to FILE.part, check the digest, rename into place,
 * then rewrite CHECKSUMS. */
#include "models/model_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "models/model_download.h"
#include "sentiment/analyzer.h"

#define CHECKSUMS_MAX_BYTES (64 * 1024)
#define MAX_FILES 16

typedef struct digest_table {
    char name[MAX_FILES][128];
    char hex[MAX_FILES][65];
    size_t n;
} digest_table;

static const char *table_get(const digest_table *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0) return t->hex[i];
    return NULL;
}

static void table_put(digest_table *t, const char *name, const char *hex) {
    size_t i = 0;
    while (i < t->n && strcmp(t->name[i], name) != 0) i++;
    if (i == MAX_FILES) return;
    if (i == t->n) t->n++;
    snprintf(t->name[i], sizeof t->name[i], "%s", name);
    snprintf(t->hex[i], sizeof t->hex[i], "%s", hex);
}

/* Reads "<sha256>  <name>" lines; only names of the spec are kept, anything else is ignored. */
static int read_checksums(const char *path, const model_spec *spec, digest_table *t, cerr *e) {
    t->n = 0;
    if (!file_exists(path)) return 0;
    buf b;
    if (read_file_capped(path, CHECKSUMS_MAX_BYTES, &b, e)) return -1;
    for (char *line = b.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ') continue;
        line[64] = '\0';
        for (size_t i = 0; i < spec->n_files; i++)
            if (strcmp(line + 66, spec->files[i].name) == 0) table_put(t, spec->files[i].name, line);
    }
    buf_free(&b);
    return 0;
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Replaces dir/name with text, atomically (a reader sees the old or the new file, never a mix). */
static int write_small_file(const char *dir, const char *name, const char *text, cerr *e) {
    char path[4200], tmp[4300];
    if (sbprintf(path, sizeof path, "%s/%s", dir, name) || sbprintf(tmp, sizeof tmp, "%s.tmp", path))
        return cerr_set(e, CERR_INVALID, "path too long: %s", dir);
    FILE *fp = fopen(tmp, "w");
    if (!fp) return cerr_set(e, CERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    fputs(text, fp);
    bool ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = fclose(fp) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return cerr_set(e, CERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    fsync_dir(dir);
    return 0;
}

static int write_checksums(const char *dir, const digest_table *t, cerr *e) {
    char text[MAX_FILES * 200] = "";
    size_t used = 0;
    for (size_t i = 0; i < t->n; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s  %s\n", t->hex[i], t->name[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) return cerr_set(e, CERR_INTERNAL, "CHECKSUMS too long");
        used += (size_t)n;
    }
    return write_small_file(dir, "CHECKSUMS", text, e);
}

static int copy_file(const char *src, const char *dst, uint64_t max_bytes, const char *label, cerr *e) {
    FILE *in = fopen(src, "rb");
    if (!in) return cerr_set(e, CERR_IO, "%s: cannot open %s: %s", label, src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return cerr_set(e, CERR_IO, "cannot write %s: %s", dst, strerror(errno));
    }
    char chunk[1 << 16];
    uint64_t total = 0;
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        total += n;
        if (total > max_bytes) {
            rc = cerr_set(e, CERR_TOOBIG, "%s: %s is larger than the expected %llu bytes", label, src,
                          (unsigned long long)max_bytes);
            break;
        }
        if (fwrite(chunk, 1, n, out) != n) {
            rc = cerr_set(e, CERR_IO, "cannot write %s: %s", dst, strerror(errno));
            break;
        }
    }
    if (!rc && ferror(in)) rc = cerr_set(e, CERR_IO, "%s: cannot read %s", label, src);
    fclose(in);
    bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!rc && !ok) rc = cerr_set(e, CERR_IO, "cannot write %s: %s", dst, strerror(errno));
    if (rc) unlink(dst);
    return rc;
}

static bool digest_ok(const model_file_spec *f, const char *tofu, const char *hex) {
    if (!f->sha256[0]) return !tofu || strcmp(tofu, hex) == 0;
    for (int i = 0; i < MODEL_FILE_MAX_DIGESTS && f->sha256[i]; i++)
        if (strcmp(f->sha256[i], hex) == 0) return true;
    return false;
}

static const char *expected_digest(const model_file_spec *f, const char *tofu) {
    return f->sha256[0] ? f->sha256[0] : tofu ? tofu : "(none)";
}

/* Gets one file into part_path, from from_dir or the network. Returns 1 when an optional file is absent. */
static int obtain(const model_file_spec *f, const char *from_dir, const char *part, bool progress, cerr *e) {
    if (from_dir) {
        char src[4096];
        if (sbprintf(src, sizeof src, "%s/%s", from_dir, f->name))
            return cerr_set(e, CERR_INVALID, "path too long: %s", from_dir);
        if (!file_exists(src)) {
            if (f->optional) return 1;
            return cerr_set(e, CERR_NOTFOUND, "%s: not found in %s", f->name, from_dir);
        }
        return copy_file(src, part, f->max_bytes, f->name, e);
    }
    if (model_download(f->url, part, f->max_bytes, progress, f->name, e)) {
        if (f->optional && e && e->code == CERR_NOTFOUND) {
            unlink(part);
            return 1;
        }
        return -1;
    }
    return 0;
}

static int install_file(const model_file_spec *f, const char *dir, const char *from_dir, bool progress,
                        digest_table *sums, cerr *e) {
    char final[4096], part[4200], hex[65];
    if (sbprintf(final, sizeof final, "%s/%s", dir, f->name) || sbprintf(part, sizeof part, "%s.part", final))
        return cerr_set(e, CERR_INVALID, "path too long: %s", dir);
    const char *tofu = table_get(sums, f->name);
    char tofu_copy[65] = "";
    if (tofu) snprintf(tofu_copy, sizeof tofu_copy, "%s", tofu);
    tofu = tofu ? tofu_copy : NULL;

    if (file_exists(final)) {
        if (sha256_file_hex(final, hex, e)) return -1;
        if (digest_ok(f, tofu, hex)) {
            if (!f->sha256[0] && !tofu)
                log_info("%s: recorded sha256 %s (trust on first use: no pinned digest)", f->name, hex);
            log_info("%s: already installed, sha256 ok", f->name);
            table_put(sums, f->name, hex);
            return 0;
        }
        log_warn("%s: installed copy has sha256 %s, expected %s; fetching it again", f->name, hex,
                 expected_digest(f, tofu));
    }
    /* a resumed download whose bytes do not add up is retried once from zero */
    for (int attempt = 0;; attempt++) {
        bool resumed = !from_dir && file_exists(part);
        int got = obtain(f, from_dir, part, progress, e);
        if (got < 0) return -1;
        if (got == 1) {
            log_info("%s: optional, not available; skipped", f->name);
            return 0;
        }
        if (sha256_file_hex(part, hex, e)) return -1;
        if (digest_ok(f, tofu, hex)) break;
        unlink(part);
        if (resumed && attempt == 0) {
            log_warn("%s: resumed download has the wrong sha256; downloading it again from the start", f->name);
            continue;
        }
        return cerr_set(e, CERR_INVALID, "%s: sha256 mismatch: got %s, expected %s (from %s); the file was not installed",
                        f->name, hex, expected_digest(f, tofu), from_dir ? from_dir : f->url);
    }
    if (!f->sha256[0] && !tofu)
        log_info("%s: recorded sha256 %s (trust on first use: no pinned digest)", f->name, hex);
    if (rename(part, final) != 0) return cerr_set(e, CERR_IO, "cannot rename %s: %s", part, strerror(errno));
    fsync_dir(dir);
    table_put(sums, f->name, hex);
    log_info("%s: installed, sha256 %s", f->name, hex);
    return 0;
}

int model_fetch_spec(const model_spec *spec, const char *from_dir, const char *dest_dir, bool progress, cerr *e) {
    char dir[4096], sums_path[4200];
    if (dest_dir) {
        if (sbprintf(dir, sizeof dir, "%s/%s", dest_dir, spec->name))
            return cerr_set(e, CERR_INVALID, "path too long: %s", dest_dir);
    } else if (analyzer_model_path(spec->name, dir, sizeof dir, e)) {
        return -1;
    }
    if (sbprintf(sums_path, sizeof sums_path, "%s/CHECKSUMS", dir))
        return cerr_set(e, CERR_INVALID, "path too long: %s", dir);
    if (spec->n_files > MAX_FILES) return cerr_set(e, CERR_INTERNAL, "model %s has too many files", spec->name);
    if (mkdir_p(dir, e)) return -1;
    /* two fetches into one folder would append to the same .part files */
    int lock = open(dir, O_RDONLY | O_DIRECTORY);
    if (lock < 0) return cerr_set(e, CERR_IO, "cannot open %s: %s", dir, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
        close(lock);
        return cerr_set(e, CERR_CONFLICT, "another fetch is installing into %s", dir);
    }
    digest_table *sums = calloc(1, sizeof *sums);
    int rc = sums ? read_checksums(sums_path, spec, sums, e) : cerr_set(e, CERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < spec->n_files; i++) rc = install_file(&spec->files[i], dir, from_dir, progress, sums, e);
    if (!rc) rc = write_checksums(dir, sums, e);
    if (!rc && spec->revision) {
        char rev[128];
        rc = sbprintf(rev, sizeof rev, "%s\n", spec->revision) ? cerr_set(e, CERR_INTERNAL, "revision too long")
                                                                 : write_small_file(dir, "REVISION", rev, e);
    }
    if (!rc)
        log_info("model %s (%s@%s) is installed in %s", spec->name, spec->source,
                 spec->revision ? spec->revision : "unpinned", dir);
    free(sums);
    close(lock); /* releases the lock */
    return rc;
}

int model_fetch(const char *name, const char *from_dir, const char *dest_dir, bool progress, cerr *e) {
    const model_spec *spec = model_spec_find(name);
    if (!spec)
        return cerr_set(e, CERR_NOTFOUND, "unknown model \"%s\" (known: %s)", name ? name : "", model_spec_names());
    return model_fetch_spec(spec, from_dir, dest_dir, progress, e);
}

/* test_model_fetch.c - `model fetch` from a local folder (the shared VADER files) and from a local HTTP
 * server (tests/fakes/range_http.py): digests, resume, corrupt and missing files, offline errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "models/model_fetch.h"

static char shared_vader[2048];
static char source_dir[1024];

static void set_paths(void) {
    const char *shared = getenv("CHATTER_SHARED");
    const char *src = getenv("CHATTER_SOURCE_DIR");
    snprintf(source_dir, sizeof source_dir, "%s", src && *src ? src : ".");
    if (shared && *shared) snprintf(shared_vader, sizeof shared_vader, "%s/data/vader", shared);
    else snprintf(shared_vader, sizeof shared_vader, "%s/../shared/data/vader", source_dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void make_tmp(char *out, size_t cap) {
    snprintf(out, cap, "/tmp/chatter-fetch-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void copy_to(const char *src_dir, const char *name, const char *dst_dir) {
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/%s", src_dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dst_dir, name);
    buf b;
    cerr e;
    assert_int_equal(read_file_capped(src, 1u << 24, &b, &e), 0);
    write_bytes(dst, b.data, b.len);
    buf_free(&b);
}

static void assert_sha(const char *dir, const char *name, const char *want) {
    char path[4200], hex[65];
    cerr e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(sha256_file_hex(path, hex, &e), 0);
    assert_string_equal(hex, want);
}

static bool exists_in(const char *dir, const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return file_exists(path);
}

static void test_from_shared_vader(void **state) {
    (void)state;
    char dest[64], dir[128];
    make_tmp(dest, sizeof dest);
    snprintf(dir, sizeof dir, "%s/vader", dest);
    cerr e = {0};
    assert_int_equal(model_fetch("vader", shared_vader, dest, false, &e), 0);
    const model_spec *spec = model_spec_find("vader");
    assert_non_null(spec);
    for (size_t i = 0; i < spec->n_files; i++) {
        assert_sha(dir, spec->files[i].name, spec->files[i].sha256[0]);
        char part[256];
        snprintf(part, sizeof part, "%s.part", spec->files[i].name);
        assert_false(exists_in(dir, part));
    }
    buf sums;
    char path[256];
    snprintf(path, sizeof path, "%s/CHECKSUMS", dir);
    assert_int_equal(read_file_capped(path, 65536, &sums, &e), 0);
    assert_non_null(strstr(sums.data, "ec636f884f36b5de6a4d681b2f61c08c2ec90eeb440472033f3307d0d6fa8bc9  vader_lexicon.txt\n"));
    buf_free(&sums);
    snprintf(path, sizeof path, "%s/REVISION", dir);
    assert_int_equal(read_file_capped(path, 256, &sums, &e), 0);
    assert_string_equal(sums.data, "44fc044cd877310ee8278a0eadf34bcd50d41d06\n");
    buf_free(&sums);

    /* again: nothing to do; and a damaged installed file is replaced */
    assert_int_equal(model_fetch("vader", shared_vader, dest, false, &e), 0);
    snprintf(path, sizeof path, "%s/vader_lexicon.txt", dir);
    write_bytes(path, "tampered", 8);
    assert_int_equal(model_fetch("vader", shared_vader, dest, false, &e), 0);
    assert_sha(dir, "vader_lexicon.txt", spec->files[0].sha256[0]);
    /* a second fetch into the same folder while one runs is refused */
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(model_fetch("vader", shared_vader, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_CONFLICT);
    close(fd);
    rm_rf(dest);
}

static void test_from_corrupt_copy(void **state) {
    (void)state;
    char src[64], dest[64], dir[128], path[256];
    make_tmp(src, sizeof src);
    make_tmp(dest, sizeof dest);
    copy_to(shared_vader, "vader_lexicon.txt", src);
    copy_to(shared_vader, "emoji_utf8_lexicon.txt", src);
    copy_to(shared_vader, "LICENSE.txt", src);
    snprintf(path, sizeof path, "%s/emoji_utf8_lexicon.txt", src);
    FILE *fp = fopen(path, "r+b"); /* same size, one byte changed */
    fputc('#', fp);
    fclose(fp);
    cerr e = {0};
    assert_int_equal(model_fetch("vader", src, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_non_null(strstr(e.msg, "emoji_utf8_lexicon.txt: sha256 mismatch"));
    snprintf(dir, sizeof dir, "%s/vader", dest);
    assert_true(exists_in(dir, "vader_lexicon.txt")); /* files before it are fine */
    assert_false(exists_in(dir, "emoji_utf8_lexicon.txt"));
    assert_false(exists_in(dir, "emoji_utf8_lexicon.txt.part"));
    /* longer than the pinned size: refused while copying */
    fp = fopen(path, "ab");
    fputc('x', fp);
    fclose(fp);
    assert_int_equal(model_fetch("vader", src, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);
    assert_non_null(strstr(e.msg, "emoji_utf8_lexicon.txt"));
    assert_false(exists_in(dir, "emoji_utf8_lexicon.txt.part"));
    rm_rf(src);
    rm_rf(dest);
}

static void test_from_missing_file(void **state) {
    (void)state;
    char src[64], dest[64];
    make_tmp(src, sizeof src);
    make_tmp(dest, sizeof dest);
    copy_to(shared_vader, "vader_lexicon.txt", src);
    copy_to(shared_vader, "emoji_utf8_lexicon.txt", src);
    cerr e = {0};
    assert_int_equal(model_fetch("vader", src, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "LICENSE.txt: not found in"));
    assert_int_equal(model_fetch("no-such-model", src, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "vader, roberta"));
    rm_rf(src);
    rm_rf(dest);
}

static void test_offline_names_host(void **state) {
    (void)state;
    char dest[64];
    make_tmp(dest, sizeof dest);
    /* port 1 on loopback: nothing listens, the connection is refused at once */
    model_file_spec files[] = {{"a.bin", "http://127.0.0.1:1/a.bin", {NULL}, 1000, false}};
    model_spec spec = {"m", "test", NULL, files, 1};
    cerr e = {0};
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_NETWORK);
    assert_non_null(strstr(e.msg, "127.0.0.1"));
    assert_non_null(strstr(e.msg, "--from"));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/m", dest);
    assert_false(exists_in(dir, "a.bin.part")); /* nothing arrived: no empty .part left behind */
    rm_rf(dest);
}

static void test_trust_on_first_use(void **state) {
    (void)state;
    char src[64], dest[64], dir[128], path[256];
    make_tmp(src, sizeof src);
    make_tmp(dest, sizeof dest);
    snprintf(dir, sizeof dir, "%s/m", dest);
    snprintf(path, sizeof path, "%s/a.txt", src);
    write_bytes(path, "first", 5);
    model_file_spec files[] = {{"a.txt", "http://127.0.0.1:1/a.txt", {NULL}, 100, false}};
    model_spec spec = {"m", "test", NULL, files, 1};
    cerr e = {0};
    assert_int_equal(model_fetch_spec(&spec, src, dest, false, &e), 0);
    char want[65];
    assert_int_equal(sha256_hex("first", 5, want, &e), 0);
    buf sums;
    snprintf(path, sizeof path, "%s/CHECKSUMS", dir);
    assert_int_equal(read_file_capped(path, 65536, &sums, &e), 0);
    assert_non_null(strstr(sums.data, want));
    buf_free(&sums);
    /* the recorded digest now binds: a changed source is refused */
    snprintf(path, sizeof path, "%s/a.txt", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/a.txt", src);
    write_bytes(path, "second", 6);
    assert_int_equal(model_fetch_spec(&spec, src, dest, false, &e), -1);
    assert_non_null(strstr(e.msg, "a.txt: sha256 mismatch"));
    rm_rf(src);
    rm_rf(dest);
}

/* ---- downloads from tests/fakes/range_http.py ---- */

typedef struct server {
    pid_t pid;
    int port;
    char root[64];
} server;

static void server_start(server *s, bool ignore_range) {
    make_tmp(s->root, sizeof s->root);
    char script[2048];
    snprintf(script, sizeof script, "%s/tests/fakes/range_http.py", source_dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        const char *py = file_exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        execlp(py, py, script, s->root, ignore_range ? "--ignore-range" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *fp = fdopen(fds[0], "r");
    char line[32] = "";
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    s->port = atoi(line);
    assert_true(s->port > 0);
}

static void server_stop(server *s) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    rm_rf(s->root);
}

typedef struct payload {
    unsigned char data[200000];
    char hex[65];
} payload;

static payload *make_payload(void) {
    payload *p = malloc(sizeof *p);
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof p->data; i++) {
        x = x * 1103515245u + 12345u;
        p->data[i] = (unsigned char)(x >> 16);
    }
    cerr e;
    assert_int_equal(sha256_hex(p->data, sizeof p->data, p->hex, &e), 0);
    return p;
}

static void read_log(const server *s, char *out, size_t cap) {
    char path[256];
    snprintf(path, sizeof path, "%s/requests.log", s->root);
    buf b;
    cerr e;
    assert_int_equal(read_file_capped(path, 65536, &b, &e), 0);
    snprintf(out, cap, "%s", b.data);
    buf_free(&b);
}

static void clear_log(const server *s) {
    char path[256];
    snprintf(path, sizeof path, "%s/requests.log", s->root);
    unlink(path);
}

static void test_download_resume(void **state) {
    (void)state;
    payload *p = make_payload();
    server srv;
    server_start(&srv, false);
    char path[256], url[128], opt_url[128], dest[64], dir[128], log[4096];
    snprintf(path, sizeof path, "%s/a.bin", srv.root);
    write_bytes(path, p->data, sizeof p->data);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.bin", srv.port);
    snprintf(opt_url, sizeof opt_url, "http://127.0.0.1:%d/opt.json", srv.port);
    model_file_spec files[] = {{"a.bin", url, {p->hex}, sizeof p->data, false},
                               {"opt.json", opt_url, {NULL}, 100, true}};
    model_spec spec = {"m", "test", NULL, files, 2};
    make_tmp(dest, sizeof dest);
    snprintf(dir, sizeof dir, "%s/m", dest);
    assert_int_equal(mkdir_p(dir, NULL), 0);
    cerr e = {0};

    /* an interrupted earlier run left the first 1000 bytes: only the rest is requested */
    snprintf(path, sizeof path, "%s/a.bin.part", dir);
    write_bytes(path, p->data, 1000);
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), 0);
    assert_sha(dir, "a.bin", p->hex);
    assert_false(exists_in(dir, "a.bin.part"));
    assert_false(exists_in(dir, "opt.json")); /* optional and 404: skipped */
    read_log(&srv, log, sizeof log);
    assert_non_null(strstr(log, "/a.bin bytes=1000-\n"));

    /* a .part with wrong bytes: the resumed result fails its digest, so it is fetched again whole */
    snprintf(path, sizeof path, "%s/a.bin", dir);
    unlink(path);
    clear_log(&srv);
    snprintf(path, sizeof path, "%s/a.bin.part", dir);
    write_bytes(path, "garbage", 7);
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), 0);
    assert_sha(dir, "a.bin", p->hex);
    read_log(&srv, log, sizeof log);
    assert_non_null(strstr(log, "/a.bin bytes=7-\n/a.bin -\n"));

    /* a .part that is already complete: the server answers 416 and the file is verified as it is */
    snprintf(path, sizeof path, "%s/a.bin", dir);
    assert_int_equal(rename(path, strcat(strcpy((char[300]){0}, path), ".part")), 0);
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), 0);
    assert_sha(dir, "a.bin", p->hex);

    /* wrong content upstream: refused, nothing installed, no .part left behind */
    snprintf(path, sizeof path, "%s/a.bin", dir);
    unlink(path);
    files[0].sha256[0] = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), -1);
    assert_non_null(strstr(e.msg, "a.bin: sha256 mismatch"));
    assert_false(exists_in(dir, "a.bin"));
    assert_false(exists_in(dir, "a.bin.part"));

    /* over the size cap: refused */
    files[0].sha256[0] = p->hex;
    files[0].max_bytes = 1000;
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);

    /* a required file the server does not have */
    files[0].max_bytes = sizeof p->data;
    files[1].optional = false;
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), -1);
    assert_non_null(strstr(e.msg, "opt.json"));
    assert_non_null(strstr(e.msg, "404"));

    server_stop(&srv);
    rm_rf(dest);
    free(p);
}

static void test_download_server_ignores_range(void **state) {
    (void)state;
    payload *p = make_payload();
    server srv;
    server_start(&srv, true);
    char path[256], url[128], dest[64], dir[128];
    snprintf(path, sizeof path, "%s/a.bin", srv.root);
    write_bytes(path, p->data, sizeof p->data);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.bin", srv.port);
    model_file_spec files[] = {{"a.bin", url, {p->hex}, sizeof p->data, false}};
    model_spec spec = {"m", "test", NULL, files, 1};
    make_tmp(dest, sizeof dest);
    snprintf(dir, sizeof dir, "%s/m", dest);
    assert_int_equal(mkdir_p(dir, NULL), 0);
    snprintf(path, sizeof path, "%s/a.bin.part", dir);
    write_bytes(path, p->data, 5000);
    cerr e = {0};
    assert_int_equal(model_fetch_spec(&spec, NULL, dest, false, &e), 0); /* 200 instead of 206: starts over */
    assert_sha(dir, "a.bin", p->hex);
    server_stop(&srv);
    rm_rf(dest);
    free(p);
}

int main(void) {
    set_paths();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_shared_vader),
        cmocka_unit_test(test_from_corrupt_copy),
        cmocka_unit_test(test_from_missing_file),
        cmocka_unit_test(test_offline_names_host),
        cmocka_unit_test(test_trust_on_first_use),
        cmocka_unit_test(test_download_resume),
        cmocka_unit_test(test_download_server_ignores_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

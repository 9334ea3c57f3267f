/* test_url.c - every link form and rejection of platform-apis.md section 1, and the Instagram vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sources/url.h"

typedef struct ok_case {
    const char *in;
    platform p;
    const char *id;
    const char *canonical;
    bool resolve;
} ok_case;

#define YT(u, id) {u, PLATFORM_YOUTUBE, id, "https://www.youtube.com/watch?v=" id, false}
#define RICK "dQw4w9WgXcQ"

static const ok_case ok_cases[] = {
    /* 1.1 YouTube: the documented examples, then every path form, host and query placement */
    YT("m.youtube.com/watch?v=" RICK "&t=42s", RICK),
    YT("https://youtu.be/" RICK "?si=abc&t=10", RICK),
    YT("https://www.youtube.com/shorts/" RICK "?feature=share", RICK),
    YT("https://music.youtube.com/watch?v=" RICK "&list=RDAMVM" RICK, RICK),
    YT("youtube.com/live/" RICK "?si=x", RICK),
    YT("https://www.youtube-nocookie.com/embed/" RICK "?start=30", RICK),
    YT("https://www.youtube.com/watch?feature=share&v=" RICK, RICK),
    YT("https://www.youtube.com/watch?app=desktop&v=" RICK "&ab_channel=X&pp=ygU#comments", RICK),
    YT("HTTPS://WWW.YOUTUBE.COM/watch?v=" RICK, RICK),
    YT("http://youtube.com/watch?v=" RICK "&index=3", RICK),
    YT("https://www.youtube.com/v/" RICK, RICK),
    YT("https://www.youtube.com/e/" RICK, RICK),
    YT("https://www.youtube.com/embed/" RICK "/", RICK),
    YT("https://youtubekids.com/watch?v=" RICK, RICK),
    YT("https://www.youtubekids.com/watch?v=" RICK, RICK),
    YT("https://YouTu.be/" RICK "#t=1", RICK),
    YT("https://www.youtube.com./watch?v=" RICK, RICK),
    YT("https://www.youtube.com:443/watch?v=" RICK, RICK),
    YT("   \thttps://youtu.be/9bZkp7q19f0\n  ", "9bZkp7q19f0"),
    YT("https://www.youtube.com/shorts/uelHwf8o7_U", "uelHwf8o7_U"),
    YT("https://youtu.be/-_-_-_-_-_-", "-_-_-_-_-_-"),
    /* 1.2 TikTok */
    {"https://www.tiktok.com/@scout2015/video/6718335390845095173", PLATFORM_TIKTOK, "6718335390845095173",
     "https://www.tiktok.com/@scout2015/video/6718335390845095173", false},
    {"https://www.tiktok.com/@user.name-x/video/7106594312292453675?is_from_webapp=1&sender_device=pc&_r=1&_t=x&lang=en",
     PLATFORM_TIKTOK, "7106594312292453675", "https://www.tiktok.com/@user.name-x/video/7106594312292453675", false},
    {"tiktok.com/@u/photo/7106594312292453675", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@u/photo/7106594312292453675", false},
    {"https://m.tiktok.com/v/7106594312292453675.html", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false},
    {"https://www.tiktok.com/embed/7106594312292453675", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false},
    {"https://www.tiktok.com/embed/v2/7106594312292453675", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false},
    {"https://www.tiktok.com/share/video/7106594312292453675", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false},
    {"https://www.tiktokv.com/share/video/7106594312292453675/", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false},
    {"https://www.tiktok.com/@/video/7106594312292453675", PLATFORM_TIKTOK, "7106594312292453675",
     "https://www.tiktok.com/@/video/7106594312292453675", false}, /* our canonical form parses back */
    {"https://WWW.TikTok.com/@a/video/18446744073709551615", PLATFORM_TIKTOK, "18446744073709551615",
     "https://www.tiktok.com/@a/video/18446744073709551615", false},
    {"https://vm.tiktok.com/ZMeAbCdEf/", PLATFORM_TIKTOK, "", "https://vm.tiktok.com/ZMeAbCdEf/", true},
    {"vt.tiktok.com/ZS8abc123?_r=1", PLATFORM_TIKTOK, "", "https://vt.tiktok.com/ZS8abc123/", true},
    {"https://www.tiktok.com/t/ZTRabc_12/", PLATFORM_TIKTOK, "", "https://www.tiktok.com/t/ZTRabc_12/", true},
    /* 1.3 Instagram */
    {"https://www.instagram.com/p/BQ0eAlwhDrw/", PLATFORM_INSTAGRAM, "BQ0eAlwhDrw",
     "https://www.instagram.com/p/BQ0eAlwhDrw/", false},
    {"instagram.com/reel/CDUMkliABpa?igsh=abc", PLATFORM_INSTAGRAM, "CDUMkliABpa",
     "https://www.instagram.com/p/CDUMkliABpa/", false},
    {"https://www.instagram.com/reels/Chunk8-jurw/", PLATFORM_INSTAGRAM, "Chunk8-jurw",
     "https://www.instagram.com/p/Chunk8-jurw/", false},
    {"https://www.instagram.com/tv/aye83DjauH", PLATFORM_INSTAGRAM, "aye83DjauH",
     "https://www.instagram.com/p/aye83DjauH/", false},
    {"https://www.instagram.com/some.user/reel/Cop84x6u7CP/?utm_source=ig_web_copy_link", PLATFORM_INSTAGRAM,
     "Cop84x6u7CP", "https://www.instagram.com/p/Cop84x6u7CP/", false},
    {"https://www.instagram.com/p/-Cmh1cukG2/embed/?img_index=1#x", PLATFORM_INSTAGRAM, "-Cmh1cukG2",
     "https://www.instagram.com/p/-Cmh1cukG2/", false},
    {"https://WWW.INSTAGRAM.COM/p/BQ0eAlwhDrw", PLATFORM_INSTAGRAM, "BQ0eAlwhDrw",
     "https://www.instagram.com/p/BQ0eAlwhDrw/", false},
};

static void test_accepted(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const ok_case *c = &ok_cases[i];
        post_url u;
        cerr e = {0};
        int rc = url_parse(c->in, &u, &e);
        if (rc != 0) fail_msg("'%s' rejected: %s", c->in, e.msg);
        if (u.platform != c->p || strcmp(u.post_id, c->id) != 0 || strcmp(u.canonical_url, c->canonical) != 0 ||
            u.needs_resolve != c->resolve)
            fail_msg("'%s' -> %s '%s' '%s' %d", c->in, platform_name(u.platform), u.post_id, u.canonical_url,
                     u.needs_resolve);
        /* canonical URLs parse back to themselves */
        post_url again;
        assert_int_equal(url_parse(u.canonical_url, &again, &e), 0);
        assert_string_equal(again.canonical_url, u.canonical_url);
        assert_string_equal(again.post_id, u.post_id);
    }
}

typedef struct bad_case {
    const char *in;
    const char *reason_part; /* a word the user-facing reason must contain */
} bad_case;

static const bad_case bad_cases[] = {
    {"", "empty"},
    {"   ", "empty"},
    {"https://www.youtube.com/@SomeChannel", "channel"},
    {"https://www.youtube.com/@SomeChannel/videos", "channel"},
    {"https://www.youtube.com/channel/UC38IQsAvIsxxjztdMZQtwHA", "channel"},
    {"https://www.youtube.com/c/Foo", "channel"},
    {"https://www.youtube.com/user/Foo", "channel"},
    {"https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs", "playlist"},
    {"https://www.youtube.com/watch?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs", "playlist"},
    {"https://www.youtube.com/embed/videoseries?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs", "playlist"},
    {"https://www.youtube.com/results?search_query=cats", "search"},
    {"https://www.youtube.com/live/live_stream?channel=UC", "live"},
    {"https://www.youtube.com/", "video"},
    {"https://www.youtube.com/watch", "video id"},
    {"https://www.youtube.com/watch?v=short", "11 characters"},
    {"https://www.youtube.com/watch?v=dQw4w9WgXcQQ", "11 characters"},
    {"https://www.youtube.com/watch?v=dQw4w9W%20cQ", "11 characters"},
    {"https://youtu.be/", "video id"},
    {"https://youtu.be/dQw4w9WgXc!", "11 characters"},
    {"https://a.b.youtube.com/watch?v=" RICK, "unsupported host"},
    {"https://notyoutube.com/watch?v=" RICK, "unsupported host"},
    {"https://youtube.com.evil.example/watch?v=" RICK, "unsupported host"},
    {"https://example.com/watch?v=" RICK, "unsupported host 'example.com'"},
    {"ftp://www.youtube.com/watch?v=" RICK, "http(s)"},
    {"javascript:alert(1)", "http(s)"},
    {"file:///etc/passwd", "http(s)"},
    {"data:text/html,hi", "http(s)"},
    {"https://www.youtube.com/watch?v=" RICK "\n&x=1", "control"},
    {"https://www.youtube.com/watch?v=\x01" RICK, "control"},
    {"https://www.youtube.com/watch?v=" RICK "\x7f", "control"},
    {"https://www.you tube.com/watch?v=" RICK, "spaces"},
    {"https://user:pw@www.youtube.com/watch?v=" RICK, "user name"},
    {"https://www.tiktok.com/@user/live", "live"},
    {"https://m.tiktok.com/share/live/7106594312292453675", "live"},
    {"https://www.tiktok.com/@user", "profile"},
    {"https://www.tiktok.com/@user/video/12ab", "decimal"},
    {"https://www.tiktok.com/@user/video/18446744073709551616", "too large"},
    {"https://www.tiktok.com/@user/video/123456789012345678901", "decimal"},
    {"https://www.tiktok.com/", "video"},
    {"https://vm.tiktok.com/", "code"},
    {"https://vm.tiktok.com/ab%2Fcd/", "code"},
    {"https://www.tiktok.com/tag/cats", "search"},
    {"https://www.instagram.com/share/BAabc123", "share"},
    {"https://www.instagram.com/share/reel/BAabc123/", "share"},
    {"https://www.instagram.com/stories/someone/123/", "stories"},
    {"https://www.instagram.com/someone/", "profile"},
    {"https://www.instagram.com/", "post"},
    {"https://www.instagram.com/p/ab$cd/", "shortcode"},
    {"https://m.instagram.com/p/BQ0eAlwhDrw/", "unsupported host"},
    {"https://", "valid link"},
    {"http:/youtube.com/watch?v=" RICK, "valid link"},
};

static void test_rejected(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        post_url u;
        cerr e = {0};
        if (url_parse(c->in, &u, &e) == 0) fail_msg("'%s' accepted as %s '%s'", c->in, platform_name(u.platform), u.post_id);
        assert_int_equal(e.code, CERR_INVALID);
        if (!strstr(e.msg, c->reason_part)) fail_msg("'%s': reason '%s' lacks '%s'", c->in, e.msg, c->reason_part);
        assert_int_equal(u.platform, PLATFORM_NONE);
    }
}

static void test_too_long(void **state) {
    (void)state;
    char in[URL_INPUT_MAX + 64];
    int n = snprintf(in, sizeof in, "https://www.youtube.com/watch?v=" RICK "&x=");
    memset(in + n, 'a', sizeof in - (size_t)n - 1);
    in[sizeof in - 1] = '\0';
    post_url u;
    cerr e = {0};
    assert_int_equal(url_parse(in, &u, &e), -1);
    assert_non_null(strstr(e.msg, "too long"));
    /* just under the cap still parses */
    in[URL_INPUT_MAX] = '\0';
    assert_int_equal(url_parse(in, &u, &e), 0);
    assert_string_equal(u.post_id, RICK);
    assert_int_equal(url_parse(NULL, &u, &e), -1);
}

static void test_instagram_pk(void **state) {
    (void)state;
    static const struct {
        const char *sc;
        uint64_t pk;
    } v[] = {
        {"aye83DjauH", 482584233761418119ULL},   {"BQ0eAlwhDrw", 1455920561485265648ULL},
        {"CDUMkliABpa", 2365570995034528346ULL}, {"Chunk8-jurw", 2913440072144448240ULL},
        {"Cop84x6u7CP", 3038227208318201999ULL}, {"-Cmh1cukG2", 1117625108441743798ULL},
        {"A", 0},                                {"_", 63},
        {"P__________", UINT64_MAX},
        /* a private post: the last 28 characters are a tail, not part of the id */
        {"CDUMkliABpaxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 2365570995034528346ULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t pk = 1;
        cerr e = {0};
        if (instagram_shortcode_to_pk(v[i].sc, &pk, &e)) fail_msg("%s: %s", v[i].sc, e.msg);
        if (pk != v[i].pk) fail_msg("%s -> %llu", v[i].sc, (unsigned long long)pk);
    }
    uint64_t pk;
    cerr e = {0};
    /* 11 characters hold 66 bits: a first digit of 16 ('Q') or more overflows */
    assert_int_equal(instagram_shortcode_to_pk("Q__________", &pk, &e), -1);
    assert_non_null(strstr(e.msg, "too large"));
    assert_int_equal(instagram_shortcode_to_pk("AAAAAAAAAAAB", &pk, &e), 0); /* leading zeros are fine */
    assert_int_equal(pk, 1);
    assert_int_equal(instagram_shortcode_to_pk("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &pk, &e), 0);
    assert_int_equal(instagram_shortcode_to_pk("BQ0e$lwhDrw", &pk, &e), -1);
    assert_int_equal(instagram_shortcode_to_pk("", &pk, &e), -1);
    assert_int_equal(instagram_shortcode_to_pk(NULL, &pk, &e), -1);
    /* exactly 28 characters: nothing is dropped, so this is a plain (too long) code */
    assert_int_equal(instagram_shortcode_to_pk("BBBBBBBBBBBBBBBBBBBBBBBBBBBB", &pk, &e), -1);
}

static void test_platform_names(void **state) {
    (void)state;
    assert_string_equal(platform_name(PLATFORM_YOUTUBE), "youtube");
    assert_string_equal(platform_name(PLATFORM_TIKTOK), "tiktok");
    assert_string_equal(platform_name(PLATFORM_INSTAGRAM), "instagram");
    assert_int_equal(platform_from_name("youtube"), PLATFORM_YOUTUBE);
    assert_int_equal(platform_from_name("TikTok"), PLATFORM_TIKTOK);
    assert_int_equal(platform_from_name("instagram"), PLATFORM_INSTAGRAM);
    assert_int_equal(platform_from_name("none"), PLATFORM_NONE);
    assert_int_equal(platform_from_name("facebook"), PLATFORM_NONE);
    assert_int_equal(platform_from_name(NULL), PLATFORM_NONE);
    assert_string_equal(platform_name(PLATFORM_COUNT), "none");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),     cmocka_unit_test(test_rejected),       cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_instagram_pk), cmocka_unit_test(test_platform_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

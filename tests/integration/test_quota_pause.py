"""A TikTok daily quota pauses TikTok only, against the fake YouTube and TikTok APIs with one worker:
  * a TikTok post whose calls keep answering 429 rate_limit_exceeded (fake id QUOTA429, no Retry-After)
    is queued with the note "...; tiktok is paused (quota exhausted) until <next 00:00 UTC>";
  * a later job's TikTok post waits with "tiktok is paused (quota exhausted) until" the same time and is
    never sent to TikTok, while the same job's YouTube posts are fetched and finish;
  * with Instagram served by Apify, Apify's monthly usage limit (402, fake post CApifyQuot1) pauses the
    "apify" source for an hour: a second Apify-served post waits without starting a run."""
import calendar
import json
import os
import sys
import time
import urllib.request

from harness import Server, Workdir, check, start_fake

TT_NORMAL = "7106594312292453675"
TT_QUOTA = "7000000000000000012"
YT = ["9bZkp7q19f0", "CevxZvSJLk8"]
PAUSED = "tiktok is paused (quota exhausted) until"
APIFY_PAUSED = "apify is paused (quota exhausted) until"
IG_QUOTA, IG_OTHER = "CApifyQuot1", "CNormal0001"


def fake_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def until_of(note, prefix=PAUSED):
    check(note and prefix in note, f"note {note!r} lacks {prefix!r}")
    stamp = note.split(prefix, 1)[1].strip()[:20]
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def poll(srv, job_id, done, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, job, _ = srv.call("GET", f"/api/jobs/{job_id}")
        check(st == 200, f"{st} {job}")
        posts = {p["post_id"]: p for p in job["posts"]}
        if done(posts):
            return job, posts
        time.sleep(0.2)
    raise AssertionError(f"{what}: {json.dumps(job, indent=1)}")


def main():
    with Workdir() as wd:
        yt, yport = start_fake("fake_youtube.py", "--key", "test-key")
        tt, tport = start_fake("fake_tiktok.py")
        ap, aport = start_fake("fake_apify.py")
        env = {"YOUTUBE_API_KEY": "test-key", "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{yport}/youtube/v3",
               "TIKTOK_CLIENT_KEY": "test-key", "TIKTOK_CLIENT_SECRET": "test-secret",
               "CHATTER_TIKTOK_API_URL": f"http://127.0.0.1:{tport}", "CHATTER_HTTP_RETRIES": "1",
               "APIFY_TOKEN": "test-apify-token", "CHATTER_APIFY_API_URL": f"http://127.0.0.1:{aport}",
               "CHATTER_INSTAGRAM_PROVIDER": "apify"}
        srv = Server(wd, env, args=["--workers", "1"]).start()
        try:
            t0 = time.time()
            st, job1, _ = srv.call("POST", "/api/jobs", {"urls": ["https://www.tiktok.com/@a/video/" + TT_QUOTA]})
            check(st == 201, f"{st} {job1}")
            job1, posts = poll(srv, job1["id"], lambda p: PAUSED in (p[TT_QUOTA]["note"] or ""), 15,
                               "the TikTok quota did not pause TikTok")
            quota = posts[TT_QUOTA]
            check(quota["status"] == "queued" and "daily quota" in quota["note"], quota)
            until = until_of(quota["note"])
            now = time.time()
            midnight = (int(now) // 86400 + 1) * 86400
            # fetched a moment ago: the pause ends at the 00:00 UTC that followed it
            check(abs(until - midnight) <= 1 or abs(until - (int(t0) // 86400 + 1) * 86400) <= 1,
                  f"pause until {until}, next UTC midnight {midnight}")
            calls = fake_get(tport, "/_stats")["list"].get(TT_QUOTA)
            check(calls == 2, f"CHATTER_HTTP_RETRIES=1: one call and one retry, got {calls}")

            urls = ["https://www.tiktok.com/@a/video/" + TT_NORMAL] + \
                   ["https://www.youtube.com/watch?v=" + v for v in YT]
            st, job2, _ = srv.call("POST", "/api/jobs", {"urls": urls, "max_comments_per_post": 0})
            check(st == 201, f"{st} {job2}")
            job2, posts = poll(srv, job2["id"],
                               lambda p: all(p[v]["status"] == "done" for v in YT) and
                               PAUSED in (p[TT_NORMAL]["note"] or ""), 20,
                               "YouTube did not finish while TikTok waited")
            elapsed = time.time() - t0
            check(job2["status"] == "running", f"the TikTok post waits, so the job runs on: {job2['status']}")
            other = posts[TT_NORMAL]
            check(other["status"] == "queued" and abs(until_of(other["note"]) - until) <= 1, other)
            for v in YT:
                check(posts[v]["comment_count"] > 0 and not posts[v]["note"], posts[v])
            stats = fake_get(tport, "/_stats")["list"]
            check(TT_NORMAL not in stats, f"a paused platform was called: {stats}")
            check(stats.get(TT_QUOTA) == 2, f"the quota post was fetched again while paused: {stats}")
            vids = fake_get(yport, "/_stats")["videos"]
            check(all(vids.get(v, {}).get("commentThreads") for v in YT), f"YouTube was not called: {vids}")
            # Apify's usage limit pauses the apify source (all it serves) for an hour
            ig = lambda sc: f"https://www.instagram.com/p/{sc}/"  # noqa: E731
            st, job3, _ = srv.call("POST", "/api/jobs", {"urls": [ig(IG_QUOTA)]})
            check(st == 201, f"{st} {job3}")
            _, posts = poll(srv, job3["id"], lambda p: APIFY_PAUSED in (p[IG_QUOTA]["note"] or ""), 15,
                            "the Apify usage limit did not pause Apify")
            check("usage limit reached" in posts[IG_QUOTA]["note"], posts[IG_QUOTA])
            a_until = until_of(posts[IG_QUOTA]["note"], APIFY_PAUSED)
            now = time.time()
            check(now + 3500 <= a_until <= now + 3610, f"apify paused until {a_until}, now {now}")
            st, job4, _ = srv.call("POST", "/api/jobs", {"urls": [ig(IG_OTHER)]})
            check(st == 201, f"{st} {job4}")
            _, posts = poll(srv, job4["id"], lambda p: APIFY_PAUSED in (p[IG_OTHER]["note"] or ""), 15,
                            "a second Apify post did not wait for the pause")
            check(abs(until_of(posts[IG_OTHER]["note"], APIFY_PAUSED) - a_until) <= 1, posts)
            astats = fake_get(aport, "/_stats")
            check(not astats.get("runs") and astats["refused"] == {"apify~instagram-comment-scraper": 1},
                  f"a paused Apify was called: {astats}")
            print(f"tiktok paused until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(until))}; "
                  f"YouTube posts done in {elapsed:.1f} s")
        except Exception:
            print(srv.read_log(), file=sys.stderr)
            raise
        finally:
            srv.stop()
            yt.kill()
            tt.kill()
            ap.kill()


if __name__ == "__main__":
    main()

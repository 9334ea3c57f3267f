"""Limits in the pipeline, against the fake YouTube and TikTok APIs with one worker:
  * a job's time budget fails the post that outlives it, with a clear reason;
  * a YouTube quotaExceeded pauses YouTube until the quota reset: the post that hit it and every other
    YouTube post say so (and are not fetched), while TikTok goes on;
  * a TikTok rate of one fetch per 8 s makes the second TikTok post wait with a note
    "waiting for rate limit until <time>" instead of holding the worker, then it finishes.
With CHATTER_TEST_REDIS_URL set (test_limits_redis.sh) the queue and the limiter live in Redis, and a
second server process with its own database must find YouTube paused at once: the pause is shared."""
import calendar
import json
import os
import sys
import time
import urllib.request

from harness import Server, Workdir, check, start_fake

TT_NORMAL = "7106594312292453675"
TT_EMPTY = "7000000000000000001"


def fake_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def until_of(note, prefix):
    check(note and prefix in note, f"note {note!r} lacks {prefix!r}")
    stamp = note.split(prefix, 1)[1].strip()[:20]
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def main():
    with Workdir() as wd:
        yt, yport = start_fake("fake_youtube.py", "--key", "test-key")
        tt, tport = start_fake("fake_tiktok.py")
        env = {"YOUTUBE_API_KEY": "test-key", "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{yport}/youtube/v3",
               "TIKTOK_CLIENT_KEY": "test-key", "TIKTOK_CLIENT_SECRET": "test-secret",
               "CHATTER_TIKTOK_API_URL": f"http://127.0.0.1:{tport}",
               "CHATTER_TIKTOK_RATE": "0.125", "CHATTER_TIKTOK_BURST": "1"}
        redis = os.environ.get("CHATTER_TEST_REDIS_URL")
        if redis:
            env["REDIS_URL"] = redis + "/0?prefix=limits%d:" % os.getpid()
        os.makedirs(os.path.join(wd, "one"))
        srv = Server(os.path.join(wd, "one"), env, args=["--workers", "1"]).start()
        srv2 = None
        try:
            # 1. time budget: the fake answers this video after 3 s, the job allows 1 s
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": ["https://youtu.be/SLOWVIDEO01"], "time_budget_s": 1})
            check(st == 201 and job["options"]["time_budget_s"] == 1, f"{st} {job}")
            job = srv.wait_job(job["id"], timeout=20)
            post = job["posts"][0]
            check(job["status"] == "failed" and post["status"] == "failed", job)
            check("time budget of 1 s" in post["reason"], post)

            # 2. quota and rate limits
            urls = ["https://www.youtube.com/watch?v=QUOTAEXC_01", "https://www.youtube.com/watch?v=9bZkp7q19f0",
                    "https://www.tiktok.com/@a/video/" + TT_NORMAL, "https://www.tiktok.com/@a/video/" + TT_EMPTY]
            t0 = time.time()
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": urls, "max_comments_per_post": 0})
            check(st == 201, f"{st} {job}")
            saw_rate_note = None
            deadline = time.time() + 40
            while time.time() < deadline:
                st, job, _ = srv.call("GET", f"/api/jobs/{job['id']}")
                posts = {p["post_id"]: p for p in job["posts"]}
                note = posts[TT_EMPTY]["note"] or ""
                if "waiting for rate limit until" in note:
                    saw_rate_note = note
                if all(posts[v]["status"] == "done" for v in (TT_NORMAL, TT_EMPTY)) and \
                        (posts["9bZkp7q19f0"]["note"] or "").startswith("youtube is paused"):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"limits did not settle: {json.dumps(job, indent=1)}")
            elapsed = time.time() - t0
            check(job["status"] == "running", f"YouTube posts wait, so the job runs on: {job['status']}")

            quota, other = posts["QUOTAEXC_01"], posts["9bZkp7q19f0"]
            check(quota["status"] == "queued" and other["status"] == "queued", posts)
            check("quota exceeded" in quota["note"], quota)
            u1 = until_of(quota["note"], "youtube is paused (quota exhausted) until")
            u2 = until_of(other["note"], "youtube is paused (quota exhausted) until")
            now = time.time()
            # the YouTube quota resets at midnight Pacific time: within the next 25 hours
            check(now < u1 <= now + 25 * 3600 and abs(u1 - u2) <= 1, f"pause until {u1} / {u2}, now {now}")
            vids = fake_get(yport, "/_stats")["videos"]
            check("9bZkp7q19f0" not in vids or not vids["9bZkp7q19f0"].get("commentThreads"),
                  f"a paused platform was called: {vids}")

            # TikTok went on, one fetch per 8 s: the second post waited with a note, then ran
            check(saw_rate_note is not None, "no 'waiting for rate limit until' note was seen")
            wait_until = until_of(saw_rate_note, "waiting for rate limit until")
            check(now - 60 < wait_until <= now + 10, f"rate wait until {wait_until}")
            check(posts[TT_NORMAL]["comment_count"] == 230 and posts[TT_EMPTY]["comment_count"] == 0, posts)
            check(elapsed >= 7, f"the rate limit was not applied: both TikTok posts done in {elapsed:.1f} s")
            if redis:
                # the pause lives in Redis: a new process on the same database and Redis (this one stopped)
                # finds YouTube paused at once and does not call it
                srv.stop()
                srv2 = Server(os.path.join(wd, "one"), env, args=["--workers", "1"]).start()
                st, job2, _ = srv2.call("POST", "/api/jobs", {"urls": ["https://youtu.be/CevxZvSJLk8"]})
                check(st == 201, f"{st} {job2}")
                deadline = time.time() + 15
                note = ""
                while time.time() < deadline and not note.startswith("youtube is paused"):
                    time.sleep(0.2)
                    note = srv2.call("GET", f"/api/jobs/{job2['id']}")[1]["posts"][0]["note"] or ""
                check(abs(until_of(note, "youtube is paused (quota exhausted) until") - u1) <= 1,
                      f"second process: {note!r}")
                vids = fake_get(yport, "/_stats")["videos"]
                check("CevxZvSJLk8" not in vids or not vids["CevxZvSJLk8"].get("commentThreads"), vids)
            print(f"quota pause until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(u1))}; "
                  f"TikTok posts done in {elapsed:.1f} s")
        except Exception:
            print(srv.read_log(), file=sys.stderr)
            if srv2:
                print(srv2.read_log(), file=sys.stderr)
            raise
        finally:
            srv.stop()
            if srv2:
                srv2.stop()
            yt.kill()
            tt.kill()


if __name__ == "__main__":
    main()

"""`chatter sweep` against SQLite + Redis:
  * a worker SIGKILLed mid-fetch leaves its message pending in Redis for the visibility timeout (300 s by
    default): while the post's fetch lease is live, sweep re-queues nothing; once it has run out, sweep
    re-queues the task and a new worker finishes the job long before the timeout;
  * retention: a job older than --retention-days is deleted with the comments no other job needs, a
    younger job sharing a post keeps that post's comments; text and --json reports; exit codes.
Exit 77 (skipped) without redis-server."""
import json
import os
import signal
import sqlite3
import sys
import time
import urllib.request

from harness import Server, Workdir, check, start_fake
from scaleout import Services, have_redis, start_worker, sweep

A, B = "9bZkp7q19f0", "CevxZvSJLk8"


def expected(fport, video):
    with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_expected?videoId={video}&replies=1") as r:
        return len(set(json.loads(r.read())["ids"]))


def wait_requests(fport, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_stats") as r:
            if json.loads(r.read())["requests"] >= n:
                return
        time.sleep(0.1)
    raise AssertionError(f"the fake saw fewer than {n} requests in {timeout}s")


def main():
    if not have_redis():
        print("sweep: skipped (needs redis-server: apt-get install redis-server)")
        return 77
    with Workdir() as wd:
        svc = Services(wd)
        fake = srv = w1 = w2 = None
        try:
            redis_url = svc.start_redis()
            fake, fport = start_fake("fake_youtube.py", "--key", "k", "--page-size", "20", "--delay-ms", "150")
            env = {"REDIS_URL": redis_url, "YOUTUBE_API_KEY": "k",
                   "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{fport}/youtube/v3"}
            srv = Server(wd, env, args=["--no-workers"]).start()
            env = dict(srv.env)
            db = srv.env["DATABASE_URL"][len("sqlite://"):]
            st, old, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://youtu.be/{A}", f"https://youtu.be/{B}"],
                                                        "max_comments_per_post": 0, "include_replies": True})
            check(st == 201, old)

            # 1. a worker dies mid-fetch; its lease (4 s here) must run out before sweep touches the task
            w1 = start_worker(wd, dict(env, CHATTER_LEASE_S="4"), "worker1", "--concurrency", "1")
            wait_requests(fport, 3)
            w1.kill(signal.SIGKILL)
            rc, out, err = sweep(env, "--stale-after", "1", "--retention-days", "0", "--json")
            check(rc == 0, f"sweep: {rc} {out} {err}")
            rep = json.loads(out)
            check(rep["ok"] and rep["queue"] == "redis" and rep["stale_found"] == 1 and rep["requeued"] == 1,
                  f"only the post nobody touched yet is re-queued while the other's lease is live: {rep}")
            # lease (4 s) + stale-after (1 s) + up to 1 s of whole-second rounding in the stored lease
            time.sleep(7.0)
            rc, out, err = sweep(env, "--stale-after", "1", "--retention-days", "0")
            check(rc == 0 and "re-queued 2 tasks" in out and "keeping every job" in out, f"sweep: {rc} {out} {err}")
            t = time.time()
            w2 = start_worker(wd, env, "worker2", "--concurrency", "2")
            done = srv.wait_job(old["id"], timeout=90)
            check(done["status"] == "done", f"job ended {done['status']}")
            want = expected(fport, A) + expected(fport, B)
            check(done["counts"]["comments_fetched"] == want == done["counts"]["comments_classified"],
                  f"counters {done['counts']}, the fake served {want}")
            took = time.time() - t

            # 2. retention: the old job goes, with A's comments; B's stay for the young job
            st, young, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://youtu.be/{B}"],
                                                          "max_comments_per_post": 0, "include_replies": True})
            check(st == 201, young)
            check(srv.wait_job(young["id"], timeout=60)["status"] == "done", "young job")
            with sqlite3.connect(db, timeout=10) as c:
                c.execute("UPDATE jobs SET created_at = created_at - 40 * 86400 WHERE id = ?", (old["id"],))
            rc, out, err = sweep(env, "--retention-days", "60", "--json")
            rep = json.loads(out)
            check(rc == 0 and rep["jobs_deleted"] == 0 and rep["comments_deleted"] == 0, f"60 days: {rep}")
            rc, out, err = sweep(dict(env, CHATTER_RETENTION_DAYS="30"), "--json")
            rep = json.loads(out)
            check(rc == 0 and rep["jobs_deleted"] == 1 and rep["comments_deleted"] == expected(fport, A),
                  f"30 days: {rep}, A had {expected(fport, A)} comments")
            check(srv.call("GET", f"/api/jobs/{old['id']}")[0] == 404, "the old job is still there")
            with sqlite3.connect(db, timeout=10) as c:
                n = c.execute("SELECT count(*) FROM comments").fetchone()[0]
                s = c.execute("SELECT count(*) FROM sentiments").fetchone()[0]
            check(n == s == expected(fport, B), f"{n} comments, {s} labels left; B has {expected(fport, B)}")
            check(srv.call("GET", f"/api/jobs/{young['id']}")[1]["status"] == "done", "the young job changed")

            # 3. exit codes: usage 2, unreachable database 1
            rc, _, _ = sweep(env, "--retention-days", "-1")
            check(rc == 2, f"bad option: exit {rc}")
            rc, _, err = sweep(dict(env, DATABASE_URL="postgres://nobody@127.0.0.1:1/none"))
            check(rc == 1, f"unreachable database: exit {rc} {err}")
            print(f"sweep: stale task re-queued and finished {took:.1f}s after a new worker started; retention "
                  f"purge deleted 1 job and {expected(fport, A)} comments")
        finally:
            for p in (w1, w2):
                if p:
                    p.kill()
            if srv:
                srv.stop()
            if fake:
                fake.kill()
            svc.stop()
    print("sweep: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`chatter worker` on SIGTERM: in-flight posts get --grace seconds, then are handed back (nacked, with the
post's fetch lease released), and the process exits promptly with 0. Another worker then finishes the job
at once, although the lease (120 s) and the broker's visibility timeout (300 s) are left at their
defaults: neither was needed. SQLite + Redis. Exit 77 (skipped) without redis-server."""
import csv
import io
import json
import signal
import sys
import time
import urllib.request

from harness import Server, Workdir, check, start_fake
from scaleout import Services, have_redis, read_log, start_worker

VIDEO = "9bZkp7q19f0"


def main():
    if not have_redis():
        print("worker_drain: skipped (needs redis-server: apt-get install redis-server)")
        return 77
    with Workdir() as wd:
        svc = Services(wd)
        fake = srv = w1 = w2 = None
        try:
            redis_url = svc.start_redis()
            # ~18 pages of 20 comments at 200 ms each: a fetch that is surely in flight when SIGTERM comes
            fake, fport = start_fake("fake_youtube.py", "--key", "k", "--page-size", "20", "--delay-ms", "200")
            env = {"REDIS_URL": redis_url, "YOUTUBE_API_KEY": "k",
                   "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{fport}/youtube/v3"}
            srv = Server(wd, env, args=["--no-workers"]).start()
            env = dict(srv.env)
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://youtu.be/{VIDEO}"],
                                                        "max_comments_per_post": 0, "include_replies": True})
            check(st == 201, job)
            w1 = start_worker(wd, env, "worker1", "--concurrency", "1", "--grace", "1")
            deadline = time.time() + 30
            while time.time() < deadline:  # a few pages in
                with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_stats") as r:
                    if json.loads(r.read())["requests"] >= 4:
                        break
                time.sleep(0.1)
            _, j, _ = srv.call("GET", f"/api/jobs/{job['id']}")
            check(j["posts"][0]["status"] == "fetching", f"the fetch never got under way: {j}")
            t = time.time()
            rc = w1.kill(signal.SIGTERM)
            took = time.time() - t
            log1 = read_log(wd, "worker1")
            check(rc == 0, f"worker exited {rc} after SIGTERM:\n{log1[-2000:]}")
            check(took < 8, f"worker took {took:.1f}s to drain with --grace 1")
            check("handing in-flight posts back" in log1, f"no hand-back in the worker log:\n{log1[-2000:]}")
            _, j, _ = srv.call("GET", f"/api/jobs/{job['id']}")
            check(j["status"] == "running", f"job after the drain: {j['status']}")

            t = time.time()
            w2 = start_worker(wd, env, "worker2", "--concurrency", "1")
            done = srv.wait_job(job["id"], timeout=60)
            took2 = time.time() - t
            check(done["status"] == "done", f"job ended {done['status']}: {done}")
            st, text, _ = srv.call("GET", f"/api/jobs/{job['id']}/results.csv")
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))[1:]
            got = [r[4][1:] if r[4][:1] == "'" else r[4] for r in rows]
            with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_expected?videoId={VIDEO}&replies=1") as r:
                want = set(json.loads(r.read())["ids"])
            check(len(got) == len(set(got)) and set(got) == want,
                  f"CSV: {len(got)} rows, {len(set(got))} distinct, the fake served {len(want)}")
            check(done["counts"]["comments_fetched"] == len(rows) == done["counts"]["comments_classified"],
                  f"counters {done['counts']} vs {len(rows)} rows")
            print(f"worker_drain: drained in {took:.1f}s (grace 1 s); the next worker finished the handed-back "
                  f"post in {took2:.1f}s ({len(rows)} comments)")
        finally:
            for p in (w1, w2):
                if p:
                    p.kill()
            if srv:
                srv.stop()
            if fake:
                fake.kill()
            svc.stop()
    print("worker_drain: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

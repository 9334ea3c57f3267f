"""Stopping `chatter serve` in the middle of a job (SIGKILL, then SIGTERM) and starting it again finishes
the job with nothing lost and nothing duplicated: the database is the truth, the queue is rebuilt from it."""
import csv
import io
import json
import signal
import sys
import time
import urllib.request

from harness import Server, Workdir, check, start_fake

VIDEOS = ["9bZkp7q19f0", "CevxZvSJLk8", "KQ6zr6kCPj8", "uelHwf8o7_U", "pRpeEdMmmQ0"]


def expected_ids(fport):
    ids = set()
    for v in VIDEOS:
        with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_expected?videoId={v}&replies=1") as r:
            ids.update(json.loads(r.read())["ids"])
    return ids


def run(sig):
    with Workdir() as wd:
        fake, fport = start_fake("fake_youtube.py", "--key", "k", "--page-size", "20", "--delay-ms", "150")
        # a short fetch lease: a killed worker's posts are taken over after 3 s instead of 2 min
        env = {"YOUTUBE_API_KEY": "k", "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{fport}/youtube/v3",
               "CHATTER_LEASE_S": "3"}
        srv = Server(wd, env, args=["--workers", "2"]).start()
        try:
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://youtu.be/{v}" for v in VIDEOS],
                                                        "max_comments_per_post": 0, "include_replies": True})
            check(st == 201, job)
            # wait until work is under way but not finished, then stop the server
            deadline = time.time() + 60
            while time.time() < deadline:
                _, j, _ = srv.call("GET", f"/api/jobs/{job['id']}")
                if any(p["status"] in ("fetching", "classifying") for p in j["posts"]) and j["status"] == "running":
                    break
                time.sleep(0.05)
            time.sleep(1.0)
            srv.stop(sig)
            _, mid = None, None
            srv2 = Server(wd, env, args=["--workers", "2"])
            srv2.port, srv2.base = srv.port, srv.base
            srv2.start()
            try:
                _, before, _ = srv2.call("GET", f"/api/jobs/{job['id']}")
                check(before["status"] in ("running", "done"), f"unexpected state after restart: {before['status']}")
                done = srv2.wait_job(job["id"], timeout=180)
                check(done["status"] == "done", f"job ended {done['status']}: {done}")
                st, text, _ = srv2.call("GET", f"/api/jobs/{job['id']}/results.csv")
                rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
                ids = [r[4][1:] if r[4][:1] == "'" else r[4] for r in rows]
                check(len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicated rows")
                want = expected_ids(fport)
                check(set(ids) == want, f"CSV has {len(set(ids))} comments, expected {len(want)}: "
                                        f"missing {len(want - set(ids))}, extra {len(set(ids) - want)}")
                check(all(r[10] for r in rows), "unclassified rows after restart")
                check(done["counts"]["comments_fetched"] == len(rows) == done["counts"]["comments_classified"],
                      f"counters {done['counts']} vs {len(rows)} rows")
                check(sum(done["labels"].values()) == len(rows), done["labels"])
            finally:
                srv2.stop()
        finally:
            srv.stop()
            fake.kill()


def main():
    run(signal.SIGKILL)
    run(signal.SIGTERM)
    print("restart: 2 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

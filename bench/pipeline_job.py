#!/usr/bin/python3
"""pipeline_job.py BASE FAKE_BASE POSTS COMMENTS: submit one job of POSTS fake videos (max_comments_per_post =
COMMENTS), poll its status every 20 ms until it is finished, check the CSV, and print one JSON object:
wall_s (POST sent -> finished status seen), the job's counts, csv_rows, and the fake's request count and
busy seconds over the job (GET /_bench). Exit 1 when the job did not finish complete and correct."""
import csv
import io
import json
import sys
import time
import urllib.request


def call(method, url, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def main():
    base, fake, posts, comments = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 600
    call("GET", fake + "/_bench_reset")
    urls = ["https://www.youtube.com/watch?v=BNCH%07d" % k for k in range(posts)]
    t0 = time.monotonic()
    st, body = call("POST", base + "/api/jobs", {"urls": urls, "max_comments_per_post": comments})
    job = json.loads(body)
    if st != 201:
        print(json.dumps({"error": f"POST {st}: {body[:300]!r}"}))
        return 1
    jid = job["id"]
    while True:
        _, body = call("GET", f"{base}/api/jobs/{jid}")
        job = json.loads(body)
        if job["status"] in ("done", "partial", "failed"):
            break
        if time.monotonic() - t0 > timeout:
            print(json.dumps({"error": f"job {jid} not finished after {timeout} s", "job": job["counts"]}))
            return 1
        time.sleep(0.02)
    wall = time.monotonic() - t0
    _, stats = call("GET", fake + "/_bench")
    stats = json.loads(stats)
    _, text = call("GET", f"{base}/api/jobs/{jid}/results.csv", timeout=300)
    rows = sum(1 for _ in csv.reader(io.StringIO(text.decode("utf-8"), newline=""))) - 1
    out = {"wall_s": round(wall, 3), "status": job["status"], "posts_done": job["counts"]["posts_done"],
           "posts_failed": job["counts"]["posts_failed"], "comments": job["counts"]["comments_classified"],
           "csv_rows": rows, "fake_requests": stats["requests"], "fake_busy_s": round(stats["busy_s"], 3)}
    print(json.dumps(out))
    ok = job["status"] == "done" and out["posts_done"] == posts and out["comments"] == posts * comments \
        and rows == posts * comments
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

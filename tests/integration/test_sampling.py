"""Fetch policy end to end against the fake TikTok API (230 top-level comments, replies on every tenth):
  * sampling top / newest / random+seed return exactly the rows the documented rule picks from what the
    fake serves, in rank order, with counts and labels from the same selection;
  * the same seed gives the same rows, a reply cap per thread keeps the first replies of each thread;
  * jobs with different policies share one fetch of the post when the stored fetch covers them;
  * every new option is validated with a field and a reason.
Runs on SQLite; test_policy_postgres.sh runs it again on PostgreSQL."""
import hashlib
import json
import os
import sys
import urllib.request

from harness import Server, Workdir, check, start_fake
from platform_data import csv_rows, tiktok_official

VIDEO = 7106594312292453675
URL = "https://www.tiktok.com/@fake.user/video/%d" % VIDEO


def fake_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def run_job(srv, **opts):
    st, job, _ = srv.call("POST", "/api/jobs", dict({"urls": [URL]}, **opts))
    check(st == 201, f"create {opts}: {st} {job}")
    job = srv.wait_job(job["id"], timeout=30)
    check(job["status"] == "done", f"{opts}: {job}")
    return job, [r["comment_id"] for r in csv_rows(srv, job["id"])]


def sample_key(seed, cid):
    """The documented rule: first 8 bytes of SHA-256("<seed>:<comment id>"), big-endian; smallest first."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{cid}".encode()).digest()[:8], "big")


def expect_error(srv, body, status, code, field):
    st, err, _ = srv.call("POST", "/api/jobs", body)
    check(st == status, f"{body}: status {st} {err}")
    check(err["error"]["code"] == code and err["error"]["field"] == field, f"{body}: {err}")
    check(err["error"]["message"], f"{body}: no message")


def main():
    with Workdir() as wd:
        tt, tport = start_fake("fake_tiktok.py")
        env = {"TIKTOK_CLIENT_KEY": "test-key", "TIKTOK_CLIENT_SECRET": "test-secret",
               "CHATTER_TIKTOK_API_URL": f"http://127.0.0.1:{tport}"}
        if os.environ.get("CHATTER_TEST_PG_URL"):  # test_policy_postgres.sh: the same checks on PostgreSQL
            env["DATABASE_URL"] = os.environ["CHATTER_TEST_PG_URL"]
        srv = Server(wd, env, args=["--workers", "2"]).start()
        try:
            comments = tiktok_official(VIDEO, True)  # id -> (parent, author, published, likes, text)
            order = list(comments)                   # the order the API serves them
            top_level = [c for c in order if not comments[c][0]]

            job, ids = run_job(srv, sampling="top", max_comments_per_post=10)
            want = sorted(top_level, key=lambda c: (-int(comments[c][3]), order.index(c)))[:10]
            check(ids == want, f"top: {ids} != {want}")
            check(job["options"]["sampling"] == "top" and job["options"]["sample_pool"] == 5000, job["options"])
            check(job["counts"]["comments_fetched"] == 10 == job["counts"]["comments_classified"], job["counts"])
            check(sum(job["labels"].values()) == 10, job["labels"])
            post = job["posts"][0]
            check(post["comment_count"] == 10 and post["fetched_count"] == 230, post)
            fetches = fake_get(tport, "/_stats")["list"][str(VIDEO)]

            job, ids = run_job(srv, sampling="newest", max_comments_per_post=7)
            want = sorted(top_level, key=lambda c: (comments[c][2], -order.index(c)), reverse=True)[:7]
            check(ids == want, f"newest: {ids} != {want}")

            job, ids = run_job(srv, sampling="random", seed=12345, max_comments_per_post=8)
            want = sorted(top_level, key=lambda c: (sample_key(12345, c), order.index(c)))[:8]
            check(ids == want, f"random: {ids} != {want}")
            check(job["options"]["seed"] == 12345, job["options"])
            job2, ids2 = run_job(srv, sampling="random", seed=12345, max_comments_per_post=8)
            check(ids2 == ids, "the same seed must give the same rows")
            job3, ids3 = run_job(srv, sampling="random", max_comments_per_post=8)
            seed = job3["options"]["seed"]
            check(isinstance(seed, int) and ids3 == sorted(top_level, key=lambda c: (sample_key(seed, c),
                                                                                        order.index(c)))[:8],
                  "a random job without a seed records the one it drew")
            # none of these needed the API again: the first fetch (pool 5000 >= 230) covers them all
            check(fake_get(tport, "/_stats")["list"][str(VIDEO)] == fetches, "a covered post was fetched again")

            # replies, at most one per thread, in fetch order (the order of a plain job's CSV)
            _, fetched = run_job(srv, include_replies=True, max_comments_per_post=0)
            check(sorted(fetched) == sorted(order), "a plain job with replies shows every comment once")
            job, ids = run_job(srv, include_replies=True, max_replies_per_thread=1, max_comments_per_post=0)
            seen, want = set(), []
            for c in fetched:
                parent = comments[c][0]
                if parent and parent in seen:
                    continue
                if parent:
                    seen.add(parent)
                want.append(c)
            check(ids == want, f"reply cap: {len(ids)} rows, want {len(want)}: {ids[:8]} / {want[:8]}")
            check(len(want) == 230 + 23, len(want))
            check(job["options"]["max_replies_per_thread"] == 1, job["options"])

            # validation: field and reason for each new option
            base = {"urls": [URL]}
            expect_error(srv, dict(base, sampling="best"), 422, "invalid_value", "sampling")
            expect_error(srv, dict(base, sampling=3), 400, "invalid_field", "sampling")
            expect_error(srv, dict(base, sampling="top", seed=1), 422, "invalid_combination", "seed")
            expect_error(srv, dict(base, sampling="random", seed=-1), 422, "out_of_range", "seed")
            expect_error(srv, dict(base, sampling="random", seed=2 ** 53), 422, "out_of_range", "seed")
            expect_error(srv, dict(base, sampling="random", seed="7"), 400, "invalid_field", "seed")
            expect_error(srv, dict(base, max_replies_per_thread=2), 422, "invalid_combination",
                         "max_replies_per_thread")
            expect_error(srv, dict(base, include_replies=True, max_replies_per_thread=-1), 422, "out_of_range",
                         "max_replies_per_thread")
            expect_error(srv, dict(base, time_budget_s="60"), 400, "invalid_field", "time_budget_s")
            expect_error(srv, dict(base, time_budget_s=10 ** 9), 422, "out_of_range", "time_budget_s")
            expect_error(srv, dict(base, sample=1), 400, "unknown_field", "sample")
            print(f"top/newest/random/reply-cap rows checked; {fetches} API pages for 6 jobs")
        except Exception:
            print(srv.read_log(), file=sys.stderr)
            raise
        finally:
            srv.stop()
            tt.kill()


if __name__ == "__main__":
    main()

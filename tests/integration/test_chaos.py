"""The scale-out deployment under failure: PostgreSQL + Redis (appendonly), one `chatter serve --no-workers`
and 3 `chatter worker` processes work through 8 jobs of 25 posts (200 posts; each job also names 2 posts
of the next job, so shared posts are fetched once for two jobs) from a fake YouTube while the
test SIGKILLs random workers and restarts them, SIGTERMs one (drain with a short grace period), restarts
Redis once and PostgreSQL once. Then: every job is done; each job's CSV holds exactly the distinct
comments the fake served for its posts; no (platform, comment_id) twice in the database; every comment
classified once; job counters equal to the CSV; `chatter sweep` finds nothing left to re-queue.

Exit 77 (skipped) when PostgreSQL 15 or redis-server is not installed."""
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

from harness import BIN, Server, Workdir, check, start_fake
from scaleout import Services, have_pg, have_redis, start_worker

JOBS, PER_JOB, SHARED, WORKERS = 8, 25, 2, 3
TIME_LIMIT = 150  # seconds for the whole run once the jobs are in


def psql(url, sql):
    out = subprocess.run(["psql", url, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True,
                         timeout=30)
    check(out.returncode == 0, f"psql {sql}: {out.stderr}")
    return out.stdout.strip()


def expected_ids(fport, video):
    with urllib.request.urlopen(f"http://127.0.0.1:{fport}/_expected?videoId={video}&replies=1") as r:
        return set(json.loads(r.read())["ids"])


class Workers:
    """The worker processes; each (re)start gets its own log file."""

    def __init__(self, wd, env):
        self.wd, self.env = wd, env
        self.procs, self.starts, self.logs = [None] * WORKERS, 0, []

    def start(self, i):
        self.starts += 1
        log = os.path.join(self.wd, f"worker{i}-{self.starts}.log")
        self.logs.append(log)
        self.procs[i] = start_worker(self.wd, self.env, os.path.basename(log)[:-4], "--concurrency", "2",
                                     "--grace", "1")

    def tail(self):
        out = []
        for log in self.logs[-4:]:
            with open(log, errors="replace") as f:
                out.append(f"--- {os.path.basename(log)}\n" + f.read()[-1500:])
        return "\n".join(out)

    def stop_all(self):
        for p in self.procs:
            if p:
                p.kill()


def job_states(srv, ids):
    """{job id: job JSON} for the jobs the API could answer (PostgreSQL may be restarting)."""
    out = {}
    for j in ids:
        try:
            st, job, _ = srv.call("GET", f"/api/jobs/{j}")
        except OSError:
            continue
        if st == 200:
            out[j] = job
    return out


def run(wd, svc, pg_url, redis_url):
    fake, fport = start_fake("fake_youtube.py", "--key", "k", "--page-size", "10", "--delay-ms", "120",
                             "--synthetic", str(JOBS * PER_JOB))
    # Short lease and visibility timeout: a killed worker's posts are taken over within seconds, not minutes.
    env = dict(os.environ, DATABASE_URL=pg_url, REDIS_URL=redis_url, YOUTUBE_API_KEY="k",
               CHATTER_YOUTUBE_API_URL=f"http://127.0.0.1:{fport}/youtube/v3", CHATTER_ANALYZER="vader",
               CHATTER_LEASE_S="3", CHATTER_QUEUE_VISIBILITY_S="4", CHATTER_MAX_ATTEMPTS="10",
               CHATTER_LOG_LEVEL="info", CHATTER_JOBS_BURST="20", CHATTER_QUEUE_PREFIX="chaos:")
    mig = subprocess.run([BIN, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    check(mig.returncode == 0, f"migrate: {mig.stderr}")
    srv = Server(wd, env, args=["--no-workers"]).start()
    workers = Workers(wd, env)
    rng = random.Random(int(os.environ.get("CHATTER_CHAOS_SEED", str(int(time.time())))))
    try:
        for i in range(WORKERS):
            workers.start(i)
        videos = ["SYN%08d" % k for k in range(JOBS * PER_JOB)]
        jobs = {}
        for n in range(JOBS):
            # plus the first posts of the next job: two jobs naming one post wait on one fetch
            nxt = (n + 1) % JOBS
            mine = videos[n * PER_JOB:(n + 1) * PER_JOB] + videos[nxt * PER_JOB:nxt * PER_JOB + SHARED]
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://www.youtube.com/watch?v={v}" for v in mine],
                                                        "max_comments_per_post": 0, "include_replies": True})
            check(st == 201, f"POST /api/jobs: {st} {job}")
            jobs[job["id"]] = mine
        t0 = time.time()
        events = {"sigkill": 0, "sigterm": 0, "redis": 0, "pg": 0}
        next_kill = t0 + 1.5
        done = {}
        while time.time() - t0 < TIME_LIMIT:
            states = job_states(srv, jobs)
            done.update({j: s for j, s in states.items() if s["status"] in ("done", "partial", "failed")})
            if len(done) == len(jobs):
                break
            finished = sum(s["counts"]["posts_done"] + s["counts"]["posts_failed"] for s in states.values())
            frac = finished / (JOBS * (PER_JOB + SHARED)) if len(states) == len(jobs) else None
            # Progress decides when each event happens, so all of them land while work is under way.
            if frac is not None and frac >= 0.2 and not events["redis"]:
                svc.restart_redis(1)
                events["redis"] = time.time() - t0
            elif frac is not None and frac >= 0.45 and not events["pg"]:
                svc.restart_pg(1)
                events["pg"] = time.time() - t0
            elif frac is not None and frac >= 0.3 and not events["sigterm"]:
                i = rng.randrange(WORKERS)
                t = time.time()
                rc = workers.procs[i].kill(signal.SIGTERM)
                took = time.time() - t
                check(rc == 0 and took < 20, f"worker {i} drained with {rc} in {took:.1f}s\n{workers.tail()}")
                workers.start(i)
                events["sigterm"] = round(took, 1)
            elif time.time() >= next_kill and (frac is None or frac < 0.9):
                i = rng.randrange(WORKERS)
                workers.procs[i].kill(signal.SIGKILL)
                time.sleep(rng.uniform(0.2, 1.0))
                workers.start(i)
                events["sigkill"] += 1
                next_kill = time.time() + rng.uniform(1.5, 3.0)
            time.sleep(0.3)
        elapsed = time.time() - t0
        check(len(done) == len(jobs), f"{len(jobs) - len(done)} jobs unfinished after {elapsed:.0f}s; events {events}\n"
                                      f"{workers.tail()}")
        check(events["redis"] and events["pg"] and events["sigkill"] >= 2,
              f"the jobs finished before the chaos did its part: {events}")

        want_all = set()
        total_rows = 0
        for j, mine in jobs.items():
            job = done[j]
            check(job["status"] == "done", f"job {j} ended {job['status']}: {job}")
            want = set()
            for v in mine:
                want |= expected_ids(fport, v)
            want_all |= want
            st, text, _ = srv.call("GET", f"/api/jobs/{j}/results.csv")
            check(st == 200, f"CSV of job {j}: {st}")
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))[1:]
            got = [r[4][1:] if r[4][:1] == "'" else r[4] for r in rows]
            check(len(got) == len(set(got)), f"job {j}: {len(got) - len(set(got))} duplicated CSV rows")
            check(set(got) == want, f"job {j}: CSV has {len(got)} comments, the fake served {len(want)}: missing "
                                    f"{len(want - set(got))}, extra {len(set(got) - want)}")
            check(all(r[10] in ("negative", "neutral", "positive") for r in rows), f"job {j}: unclassified rows")
            c = job["counts"]
            check(c["posts_total"] == len(mine) == c["posts_done"] and c["posts_failed"] == 0,
                  f"job {j} post counters {c}")
            check(c["comments_fetched"] == len(rows) == c["comments_classified"], f"job {j}: counters {c} vs {len(rows)}")
            labels = [r[10] for r in rows]
            check(job["labels"] == {k: labels.count(k) for k in ("negative", "neutral", "positive")},
                  f"job {j}: labels {job['labels']} differ from the CSV")
            total_rows += len(rows)

        dup = psql(pg_url, "SELECT count(*) FROM (SELECT platform, comment_id FROM comments "
                           "GROUP BY 1, 2 HAVING count(*) > 1) d")
        check(dup == "0", f"{dup} duplicated (platform, comment_id) in the database")
        check(int(psql(pg_url, "SELECT count(*) FROM comments")) == len(want_all), "comments table size")
        unlabelled = psql(pg_url, "SELECT count(*) FROM comments c WHERE NOT EXISTS "
                                  "(SELECT 1 FROM sentiments s WHERE s.comment_ref = c.id)")
        check(unlabelled == "0", f"{unlabelled} comments without a label")
        check(int(psql(pg_url, "SELECT count(*) FROM sentiments")) == len(want_all), "one label per comment")

        sw = subprocess.run([BIN, "sweep", "--json", "--stale-after", "1"], env=env, capture_output=True, text=True,
                            timeout=60)
        check(sw.returncode == 0, f"sweep: {sw.stdout} {sw.stderr}")
        rep = json.loads(sw.stdout)
        check(rep["ok"] and rep["stale_found"] == 0 and rep["jobs_deleted"] == 0, f"sweep after the run: {rep}")
        st, ready, _ = srv.call("GET", "/readyz")
        check(st == 200, f"/readyz after the run: {st} {ready}")
        print(f"chaos: {len(jobs)} jobs, {JOBS * PER_JOB} posts, {total_rows} CSV rows, {len(want_all)} comments in "
              f"{elapsed:.1f}s; {events['sigkill']} SIGKILLs, SIGTERM drain {events['sigterm']}s, Redis restart at "
              f"{events['redis']:.1f}s, PostgreSQL restart at {events['pg']:.1f}s")
    finally:
        workers.stop_all()
        srv.stop()
        fake.kill()


def main():
    if not have_redis() or not have_pg():
        print("chaos: skipped (needs redis-server and PostgreSQL 15: apt-get install redis-server postgresql-15)")
        return 77
    with Workdir() as wd:
        svc = Services(wd)
        try:
            pg_url, redis_url = svc.start_all()
            run(wd, svc, pg_url, redis_url)
        finally:
            svc.stop()
    print("chaos: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

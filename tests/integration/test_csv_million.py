"""GET /api/jobs/{id}/results.csv streams a 1,000,000-row job in constant memory: the server's peak RSS
grows by far less than the CSV's size, and every row arrives. Prints rows/s (information, not asserted)."""
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request

from harness import BIN, Server, Workdir, check

ROWS = 1_000_000


def rss_peak_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def seed(db_path):
    subprocess.run([BIN, "migrate", "--database-url", "sqlite://" + db_path], check=True, capture_output=True)
    db = sqlite3.connect(db_path)
    now = int(time.time())
    db.execute("INSERT INTO jobs (id, owner, created_at, started_at, finished_at, options, status, posts_total,"
               " posts_done, comments_fetched, comments_classified) VALUES (1, 'local', ?, ?, ?, '{}', 'done', 1, 1,"
               " ?, ?)", (now, now, now, ROWS, ROWS))
    db.execute("INSERT INTO posts (id, platform, post_id, canonical_url, fetched_at) VALUES (1, 'youtube',"
               " 'dQw4w9WgXcQ', 'https://www.youtube.com/watch?v=dQw4w9WgXcQ', ?)", (now,))
    db.execute("INSERT INTO job_posts (job_id, post_ref, position, status, model, comment_count, classified_count)"
               " VALUES (1, 1, 0, 'done', 'vader@test', ?, ?)", (ROWS, ROWS))
    text = "a comment with \"quotes\", commas and an emoji \U0001F600 that is about this long"
    db.executemany("INSERT INTO comments (id, platform, comment_id, post_ref, author, text, published_at,"
                   " like_count, seq, top_seq) VALUES (?, 'youtube', ?, 1, 'someone', ?, '2024-05-01T12:34:56Z', ?,"
                   " ?, ?)", ((i + 1, f"c{i:07d}", text, i % 100, i, i) for i in range(ROWS)))
    db.executemany("INSERT INTO sentiments (comment_ref, model, label, p_negative, p_neutral, p_positive)"
                   " VALUES (?, 'vader@test', 'positive', 0.1, 0.2, 0.7)", ((i + 1,) for i in range(ROWS)))
    db.commit()
    db.close()


def main():
    with Workdir() as wd:
        db_path = os.path.join(wd, "chatter.db")
        seed(db_path)
        srv = Server(wd, args=["--workers", "0"]).start()
        try:
            pid = srv.proc.p.pid
            base = rss_peak_kb(pid)
            t0 = time.time()
            lines = nbytes = 0
            with urllib.request.urlopen(srv.base + "/api/jobs/1/results.csv", timeout=300) as r:
                for line in r:
                    lines += 1
                    nbytes += len(line)
            secs = time.time() - t0
            peak = rss_peak_kb(pid)
            check(lines == ROWS + 1, f"{lines - 1} rows, expected {ROWS}")
            grown_mb = (peak - base) / 1024
            print(f"streamed {ROWS} rows ({nbytes / 1e6:.0f} MB) in {secs:.1f} s = {ROWS / secs:,.0f} rows/s; "
                  f"server peak RSS {base / 1024:.1f} -> {peak / 1024:.1f} MB")
            check(grown_mb < 32, f"server RSS grew by {grown_mb:.0f} MB while streaming {nbytes / 1e6:.0f} MB")
        finally:
            srv.stop()
    print("csv million: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

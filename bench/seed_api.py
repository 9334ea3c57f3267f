#!/usr/bin/python3
"""Seeds chatter's database the way the reference's `manage.py seed_bench --jobs 1000 --big-rows 10000` seeds
its own: JOBS done jobs with ids 1..JOBS; job 1 holds BIG rows (half on each of its two posts); the other jobs
share two posts with no comments. Job JOBS+1 (outside the status id range) holds HUGE rows for the CSV
rows/s measurement. Rows are the reference's fake rows (same text, author and label pattern).

  seed_api.py --sqlite PATH      writes into a database that `chatter migrate` created
  seed_api.py --psql             prints SQL (COPY blocks) for psql on stdout, for the PostgreSQL store
Prints "big_job=1 huge_job=N min_id=1 max_id=JOBS rows=R" on stderr."""
import argparse
import sys
import time

LABELS = [("positive", (0.03, 0.06, 0.91)), ("neutral", (0.2, 0.55, 0.25)), ("negative", (0.87, 0.1, 0.03))]
MODEL = "vader@seed"
# The reference's two URLs are YouTube and Reddit; chatter has no Reddit source, so both posts are YouTube.
BIG_POSTS = [("dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
             ("9bZkp7q19f0", "https://www.youtube.com/watch?v=9bZkp7q19f0")]
EMPTY_POSTS = [("CevxZvSJLk8", "https://www.youtube.com/watch?v=CevxZvSJLk8"),
               ("KQ6zr6kCPj8", "https://www.youtube.com/watch?v=KQ6zr6kCPj8")]
HUGE_POSTS = [("uelHwf8o7_U", "https://www.youtube.com/watch?v=uelHwf8o7_U"),
              ("pRpeEdMmmQ0", "https://www.youtube.com/watch?v=pRpeEdMmmQ0")]
OPTIONS = '{"max_comments_per_post":0,"include_replies":false,"analyzer":"vader"}'


def plan(jobs, big, huge):
    """Yields (table, columns, rows iterator) in insertion order; every id is explicit."""
    now = int(time.time())
    posts = []
    for i, (vid, url) in enumerate(BIG_POSTS + EMPTY_POSTS + HUGE_POSTS):
        posts.append((i + 1, "youtube", vid, url, now, 0))
    job_rows, jp_rows = [], []
    splits = {1: [(1, big // 2), (2, big - big // 2)], jobs + 1: [(5, huge // 2), (6, huge - huge // 2)]}
    for jid in range(1, jobs + 2):
        parts = splits.get(jid, [(3, 0), (4, 0)])
        total = sum(n for _, n in parts)
        counts = [0, 0, 0]
        for pos, (pref, n) in enumerate(parts):
            # rows k = 0..n-1 get LABELS[k % 3]: positive, neutral, negative
            c = [n // 3 + (1 if n % 3 > lab else 0) for lab in range(3)]
            jp_rows.append((jid, pref, pos, "done", MODEL, n, n, c[2], c[1], c[0]))
            counts = [a + b for a, b in zip(counts, c)]
        job_rows.append((jid, "local", now, now, now, OPTIONS, "done", 2, 2, 0, total, total,
                         counts[2], counts[1], counts[0]))
    yield ("jobs", "id, owner, created_at, started_at, finished_at, options, status, posts_total, posts_done,"
           " posts_failed, comments_fetched, comments_classified, n_negative, n_neutral, n_positive", job_rows)
    yield ("posts", "id, platform, post_id, canonical_url, fetched_at, fetch_limit",
           [(p[0], p[1], p[2], p[3], p[4], p[5]) for p in posts])
    yield ("job_posts", "job_id, post_ref, position, status, model, comment_count, classified_count,"
           " n_negative, n_neutral, n_positive", jp_rows)

    def comments():
        cid = 0
        for jid, parts in sorted(splits.items()):
            for pref, n in parts:
                for seq in range(n):
                    cid += 1
                    i = cid
                    yield (cid, "youtube", f"c{jid}_{pref}_{seq}", pref, f"user{i % 997}",
                           f"This is fake comment number {i}, with a comma and \"quotes\" to exercise CSV quoting.",
                           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + seq)), i % 50, seq, seq)

    def sentiments():
        cid = 0
        for _, parts in sorted(splits.items()):
            for _, n in parts:
                for seq in range(n):
                    cid += 1
                    label, p = LABELS[seq % 3]
                    yield (cid, MODEL, label, p[2], p[1], p[0])

    yield ("comments", "id, platform, comment_id, post_ref, author, text, published_at, like_count, seq, top_seq",
           comments())
    yield ("sentiments", "comment_ref, model, label, p_negative, p_neutral, p_positive", sentiments())


def seed_sqlite(path, args):
    import sqlite3
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    for table, cols, rows in plan(args.jobs, args.big_rows, args.huge_rows):
        marks = ", ".join("?" * len(cols.split(",")))
        db.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
    db.commit()
    db.close()


def copy_cell(v):
    if v is None:
        return "\\N"
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def seed_psql(args):
    out = sys.stdout
    out.write("BEGIN;\n")
    for table, cols, rows in plan(args.jobs, args.big_rows, args.huge_rows):
        out.write(f"COPY {table} ({cols}) FROM stdin;\n")
        for r in rows:
            out.write("\t".join(copy_cell(v) for v in r) + "\n")
        out.write("\\.\n")
    for table in ("jobs", "posts", "comments"):
        out.write(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));\n")
    out.write("COMMIT;\nANALYZE;\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite")
    ap.add_argument("--psql", action="store_true")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--big-rows", type=int, default=10000)
    ap.add_argument("--huge-rows", type=int, default=100000)
    args = ap.parse_args()
    if args.sqlite:
        seed_sqlite(args.sqlite, args)
    elif args.psql:
        seed_psql(args)
    else:
        ap.error("--sqlite PATH or --psql")
    print(f"big_job=1 huge_job={args.jobs + 1} min_id=1 max_id={args.jobs} "
          f"rows={args.big_rows + args.huge_rows}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

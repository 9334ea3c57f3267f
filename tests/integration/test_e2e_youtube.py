"""End to end on the embedded default: `chatter serve` (SQLite, in-process workers, VADER) against the
fake YouTube Data API serving the real comments of the YouTube Spam Collection. Submits jobs over HTTP,
waits, downloads the CSV and checks every row and every per-post reason."""
import csv
import html
import io
import json
import os
import sys
import urllib.request

from harness import SHARED, Server, Workdir, check, start_fake

VIDEOS = {"9bZkp7q19f0": "Youtube01-Psy.csv", "CevxZvSJLk8": "Youtube02-KatyPerry.csv",
          "KQ6zr6kCPj8": "Youtube03-LMFAO.csv", "uelHwf8o7_U": "Youtube04-Eminem.csv",
          "pRpeEdMmmQ0": "Youtube05-Shakira.csv"}
HEADER = ["job_id", "post_url", "platform", "post_id", "comment_id", "parent_id", "author", "published_at",
          "like_count", "text", "label", "score_negative", "score_neutral", "score_positive", "model"]


def dataset_texts():
    """comment id -> text as the platform serves it (last occurrence wins, like our upsert)."""
    texts = {}
    for vid, name in VIDEOS.items():
        with open(os.path.join(SHARED, "data", "comments", "youtube_spam_collection", name), newline="",
                  encoding="utf-8") as f:
            for row in csv.DictReader(f):
                texts[row["COMMENT_ID"]] = html.unescape(row["CONTENT"])
    return texts


def unneutralise(cell):
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def fake_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def get_csv(srv, job_id, path="results.csv"):
    st, text, hdrs = srv.call("GET", f"/api/jobs/{job_id}/{path}")
    check(st == 200, f"CSV download failed: {st} {text}")
    check(hdrs.get("Content-Type", "").startswith("text/csv"), hdrs)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    check(rows[0] == HEADER, f"header {rows[0]}")
    return rows[1:], text


def main():
    texts = dataset_texts()
    with Workdir() as wd:
        fake, fport = start_fake("fake_youtube.py", "--key", "test-key", "--page-size", "50")
        srv = Server(wd, {"YOUTUBE_API_KEY": "test-key",
                          "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{fport}/youtube/v3"},
                     args=["--workers", "2"]).start()
        try:
            urls = ["https://www.youtube.com/watch?v=9bZkp7q19f0", "https://youtu.be/CevxZvSJLk8?si=abc&t=10",
                    "https://m.youtube.com/watch?feature=share&v=KQ6zr6kCPj8", "youtube.com/shorts/uelHwf8o7_U",
                    "https://www.youtube-nocookie.com/embed/pRpeEdMmmQ0?start=30",
                    "https://www.youtube.com/watch?v=DISABLED_01", "https://youtu.be/NOTFOUND_01",
                    "https://music.youtube.com/watch?v=9bZkp7q19f0&list=RDAMVM"]
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": urls, "max_comments_per_post": 0,
                                                        "include_replies": True})
            check(st == 201, f"create: {st} {job}")
            check(job["counts"]["posts_total"] == 7 and job["duplicates_merged"] == 1, job)
            job = srv.wait_job(job["id"])
            check(job["status"] == "partial", f"expected partial, got {job['status']}: {job}")
            by_id = {p["post_id"]: p for p in job["posts"]}
            check("disabled" in (by_id["DISABLED_01"]["reason"] or ""), by_id["DISABLED_01"])
            check("not found" in (by_id["NOTFOUND_01"]["reason"] or ""), by_id["NOTFOUND_01"])
            check(by_id["DISABLED_01"]["status"] == "failed" and by_id["NOTFOUND_01"]["status"] == "failed", by_id)
            check(job["counts"]["posts_done"] == 5 and job["counts"]["posts_failed"] == 2, job["counts"])

            rows, _ = get_csv(srv, job["id"])
            expected = {}
            for vid in VIDEOS:
                ids = fake_json(fport, f"/_expected?videoId={vid}&replies=1")["ids"]
                expected[vid] = list(dict.fromkeys(ids))  # the store keeps one row per comment id
                check(by_id[vid]["status"] == "done", by_id[vid])
                check(by_id[vid]["comment_count"] == len(expected[vid]),
                      f"{vid}: comment_count {by_id[vid]['comment_count']} != {len(expected[vid])}")
            got = {}
            labels = {"negative": 0, "neutral": 0, "positive": 0}
            seen = set()
            for r in rows:
                rec = dict(zip(HEADER, r))
                check(len(r) == len(HEADER), f"row width {len(r)}: {r}")
                check(rec["job_id"] == str(job["id"]) and rec["platform"] == "youtube", rec)
                check(rec["post_url"] == f"https://www.youtube.com/watch?v={rec['post_id']}", rec)
                cid = unneutralise(rec["comment_id"])
                check(cid not in seen, f"duplicate comment {cid}")
                seen.add(cid)
                got.setdefault(rec["post_id"], []).append(cid)
                check(unneutralise(rec["text"]) == texts[cid], f"text of {cid}: {rec['text']!r} != {texts[cid]!r}")
                check(rec["label"] in labels, rec)
                labels[rec["label"]] += 1
                p = [float(rec[k]) for k in ("score_negative", "score_neutral", "score_positive")]
                check(abs(sum(p) - 1) < 0.01 and all(0 <= x <= 1 for x in p), f"scores {p}")
                check(rec["model"].startswith("vader"), rec["model"])
                if rec["text"][:1] in "=+-@":
                    raise AssertionError(f"formula not neutralised: {rec['text']!r}")
            for vid in VIDEOS:
                check(sorted(got.get(vid, [])) == sorted(expected[vid]),
                      f"{vid}: CSV has {len(got.get(vid, []))} comments, expected {len(expected[vid])}")
            check(job["counts"]["comments_fetched"] == len(rows) and job["counts"]["comments_classified"] == len(rows),
                  f"counts {job['counts']} vs {len(rows)} rows")
            check(job["labels"] == labels, f"label totals {job['labels']} != CSV {labels}")
            replies = sum(1 for r in rows if r[5])
            check(replies > 0, "no replies in the CSV although include_replies was set")

            # the reference design's download path, and the BOM for Excel
            _, text_alias = get_csv(srv, job["id"], "download/")
            st, bom_text, _ = srv.call("GET", f"/api/jobs/{job['id']}/results.csv?bom=1")
            check(bom_text.startswith("\ufeffjob_id,"), "no BOM with ?bom=1")

            # a second job inside the freshness window reuses the stored comments: no new fetch
            before = fake_json(fport, "/_stats")
            st, job2, _ = srv.call("POST", "/api/jobs", {"urls": urls[:5], "max_comments_per_post": 0,
                                                         "include_replies": True})
            job2 = srv.wait_job(job2["id"])
            check(job2["status"] == "done", job2)
            after = fake_json(fport, "/_stats")
            check(after["requests"] == before["requests"], f"fresh posts were fetched again: {before} -> {after}")
            rows2, _ = get_csv(srv, job2["id"])
            check(sorted(r[4] for r in rows2) == sorted(r[4] for r in rows), "reused job differs")

            # a smaller job: the per-post limit and top-level only
            st, job3, _ = srv.call("POST", "/api/jobs", {"urls": urls[:2], "max_comments_per_post": 10})
            job3 = srv.wait_job(job3["id"])
            rows3, _ = get_csv(srv, job3["id"])
            check(job3["status"] == "done" and len(rows3) == 20, f"{job3['status']} {len(rows3)} rows")
            check(all(r[5] == "" for r in rows3), "replies in a job without include_replies")
        finally:
            srv.stop()
            fake.kill()
    print("e2e youtube: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

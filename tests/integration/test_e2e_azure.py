"""End to end with the remote analyzer: `chatter serve` (SQLite, in-process workers) with
CHATTER_ANALYZER=azure, comments from the fake YouTube API, sentiment from the fake Azure AI Language.
Every CSV row carries the fake's label and scores for its text and the model azure-language@2023-04-01."""
import csv
import io
import json
import sys
import urllib.request

from harness import FAKES, Server, Workdir, check, start_fake

sys.path.insert(0, FAKES)
import fake_azure  # noqa: E402  (the fake's own scoring rule is the expected answer)

KEY = "e2e-azure-key-51c0"
VIDEO = "9bZkp7q19f0"


def unneutralise(cell):
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def main():
    with Workdir() as wd:
        yt, yport = start_fake("fake_youtube.py", "--key", "test-key", "--page-size", "50")
        az, aport = start_fake("fake_azure.py", "--key", KEY)
        srv = Server(wd, {"YOUTUBE_API_KEY": "test-key",
                          "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{yport}/youtube/v3",
                          "CHATTER_ANALYZER": "azure", "AZURE_LANGUAGE_ENDPOINT": f"http://127.0.0.1:{aport}",
                          "AZURE_LANGUAGE_KEY": KEY}, args=["--workers", "2"]).start()
        try:
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": [f"https://www.youtube.com/watch?v={VIDEO}"],
                                                        "max_comments_per_post": 120})
            check(st == 201, f"create: {st} {job}")
            job = srv.wait_job(job["id"])
            check(job["status"] == "done", f"{job}\n{srv.read_log()}")
            st, text, _ = srv.call("GET", f"/api/jobs/{job['id']}/results.csv")
            check(st == 200, (st, text))
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            check(len(rows) == 120, f"{len(rows)} rows")
            labels = {"negative": 0, "neutral": 0, "positive": 0}
            for r in rows:
                check(r["model"] == "azure-language@2023-04-01", r["model"])
                t = unneutralise(r["text"])
                p = [float(r[k]) for k in ("score_negative", "score_neutral", "score_positive")]
                if not t.strip():
                    want, sc = "neutral", {"negative": 0, "neutral": 1, "positive": 0}
                else:
                    want, sc = fake_azure.scores(t)
                    if want == "mixed":
                        want = "positive" if sc["positive"] > sc["negative"] else "negative"
                check(r["label"] == want, f"{t!r}: {r['label']} != {want}")
                check(all(abs(a - b) < 1e-5 for a, b in zip(p, (sc["negative"], sc["neutral"], sc["positive"]))),
                      f"{t!r}: {p} vs {sc}")
                labels[r["label"]] += 1
            check(job["labels"] == labels, f"{job['labels']} != {labels}")
            check(labels["positive"] > 0 and labels["neutral"] > 0, labels)
            stats = fake_azure_stats(aport)
            check(stats["batches"]["max"] <= 10, stats)
            check(stats["documents"]["total"] >= len([r for r in rows if unneutralise(r["text"]).strip()]), stats)
        finally:
            srv.stop()
            az.kill()
            yt.kill()
    print("e2e azure: 1 passed, 0 failed")


def fake_azure_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as r:
        return json.loads(r.read())


if __name__ == "__main__":
    sys.exit(main())

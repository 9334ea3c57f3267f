"""End to end across platforms: one job mixing YouTube, TikTok (one of them a short link) and Instagram
links with failing posts, first through the official APIs (fake_youtube, fake_tiktok, fake_instagram),
then through the Apify provider (fake_apify). Checks the job status, every post's status, reason and
comment count, and the CSV rows (platform, canonical URL, exact 64-bit ids, parents, timestamps)."""
import csv
import io
import sys
import urllib.request
import json

from harness import Server, Workdir, check, start_fake

TT_NORMAL = "7106594312292453675"


def fake_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def unneutralise(cell):
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def run_job(srv, urls):
    st, job, _ = srv.call("POST", "/api/jobs", {"urls": urls, "max_comments_per_post": 0, "include_replies": True})
    check(st == 201, f"create: {st} {job}")
    job = srv.wait_job(job["id"], timeout=120)
    st, text, _ = srv.call("GET", f"/api/jobs/{job['id']}/results.csv")
    check(st == 200, f"CSV: {st} {text}")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for r in rows:
        for k in ("comment_id", "parent_id", "post_id", "text", "author"):
            r[k] = unneutralise(r[k])
    return job, rows


def expect_posts(job, rows, want):
    """want: post_id -> (status, comment count or None, reason substring or None)."""
    by_id = {p["post_id"]: p for p in job["posts"]}
    check(sorted(by_id) == sorted(want), f"posts {sorted(by_id)} != {sorted(want)}")
    per_post = {}
    for r in rows:
        per_post[r["post_id"]] = per_post.get(r["post_id"], 0) + 1
    for pid, (status, count, reason) in want.items():
        p = by_id[pid]
        check(p["status"] == status, f"{pid}: status {p['status']} != {status}: {p}")
        if reason:
            check(reason in (p.get("reason") or ""), f"{pid}: reason {p.get('reason')!r} lacks {reason!r}")
        if count is not None:
            check(p["comment_count"] == count, f"{pid}: comment_count {p['comment_count']} != {count}")
            check(per_post.get(pid, 0) == count, f"{pid}: {per_post.get(pid, 0)} CSV rows != {count}")
    ids = [(r["platform"], r["comment_id"]) for r in rows]
    check(len(ids) == len(set(ids)), "a comment appears twice in the CSV")


def official(wd, ports):
    yport, tport, iport, _ = ports
    srv = Server(wd, {"YOUTUBE_API_KEY": "test-key", "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{yport}/youtube/v3",
                      "TIKTOK_CLIENT_KEY": "test-key", "TIKTOK_CLIENT_SECRET": "test-secret",
                      "CHATTER_TIKTOK_API_URL": f"http://127.0.0.1:{tport}",
                      "CHATTER_TIKTOK_RESOLVE_URL": f"http://127.0.0.1:{tport}",
                      "INSTAGRAM_ACCESS_TOKEN": "test-ig-token", "INSTAGRAM_ACCOUNT_ID": "17841400000000001",
                      "CHATTER_INSTAGRAM_API_URL": f"http://127.0.0.1:{iport}/v19.0"},
                 args=["--workers", "2"]).start()
    try:
        urls = ["https://www.youtube.com/watch?v=9bZkp7q19f0", "https://youtu.be/DISABLED_01",
                "https://vm.tiktok.com/ZMgood/", "https://www.tiktok.com/@x/video/7000000000000000002",
                "https://www.tiktok.com/@x/video/7000000000000000006",
                "https://www.instagram.com/p/CNormal0001/", "https://www.instagram.com/reel/CNotMine001/"]
        job, rows = run_job(srv, urls)
        check(job["status"] == "partial", f"official job: {job['status']}")
        yt = len(set(fake_json(yport, "/_expected?videoId=9bZkp7q19f0&replies=1")["ids"]))
        expect_posts(job, rows, {
            "9bZkp7q19f0": ("done", yt, None), "DISABLED_01": ("failed", 0, "disabled"),
            TT_NORMAL: ("done", 230 + 69, None), "7000000000000000002": ("done", 150, None),
            "7000000000000000006": ("failed", 0, "disclosed"),
            "CNormal0001": ("done", 210, None), "CNotMine001": ("failed", 0, "not owned by the configured"),
        })
        tt = {r["comment_id"]: r for r in rows if r["platform"] == "tiktok"}
        check(tt["7386190478574388011"]["post_url"] == "https://www.tiktok.com/@fake.user/video/" + TT_NORMAL,
              "short link not stored as its canonical URL")
        check(tt["7400000000000000031"]["parent_id"] == "7386190478577388020", tt["7400000000000000031"])
        check(tt["7386190478574388011"]["published_at"] == "2024-06-30T07:12:04Z", tt["7386190478574388011"])
        ig = {r["comment_id"]: r for r in rows if r["platform"] == "instagram"}
        check(ig["17873440459141021"]["published_at"] == "2017-08-31T18:00:30Z", ig["17873440459141021"])
        check(ig["17990000000000075"]["parent_id"] == "17873440459141112", ig["17990000000000075"])
        check(fake_json(tport, "/_stats")["token"]["total"] == 1, "TikTok token not shared across fetches")
    finally:
        srv.stop()


def apify(wd, ports):
    _, tport, _, aport = ports
    srv = Server(wd, {"APIFY_TOKEN": "test-apify-token", "CHATTER_APIFY_API_URL": f"http://127.0.0.1:{aport}",
                      "CHATTER_YOUTUBE_PROVIDER": "apify", "CHATTER_TIKTOK_PROVIDER": "apify",
                      "CHATTER_INSTAGRAM_PROVIDER": "apify", "CHATTER_TIKTOK_RESOLVE_URL": f"http://127.0.0.1:{tport}"},
                 args=["--workers", "2"]).start()
    try:
        urls = ["https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=apifyFail01",
                "https://vt.tiktok.com/ZSgood/", "https://www.tiktok.com/@x/video/7000000000000000022",
                "https://www.instagram.com/p/CDUMkliABpa/", "https://www.instagram.com/p/CApifyEmpt1/"]
        job, rows = run_job(srv, urls)
        check(job["status"] == "partial", f"apify job: {job['status']}")
        expect_posts(job, rows, {
            "dQw4w9WgXcQ": ("done", 130, None), "apifyFail01": ("failed", 0, "Apify actor run failed"),
            TT_NORMAL: ("done", 130 + 26, None), "7000000000000000022": ("failed", 0, "timed out"),
            "CDUMkliABpa": ("done", 130 + 26, None), "CApifyEmpt1": ("failed", 0, "no comments"),
        })
        by = {(r["platform"], r["comment_id"]): r for r in rows}
        check(by[("tiktok", "7390000000000000001")]["published_at"] == "2024-06-30T07:12:04Z", "tiktok time")
        check(by[("youtube", "Ugz00000004ApifyFake")]["like_count"] == "1200", "voteCount 1.2K")
        check(by[("youtube", "Ugz00000004ApifyFake")]["published_at"] == "", "relative YouTube time kept")
        check(by[("instagram", "17950000000000001")]["published_at"] == "2024-01-01T10:00:00Z", "instagram time")
    finally:
        srv.stop()


def main():
    fakes = []
    try:
        for script, args in [("fake_youtube.py", ["--key", "test-key", "--page-size", "50"]), ("fake_tiktok.py", []),
                             ("fake_instagram.py", []), ("fake_apify.py", ["--dataset-page", "50"])]:
            fakes.append(start_fake(script, *args))
        ports = [p for _, p in fakes]
        with Workdir() as wd:
            official(wd, ports)
        with Workdir() as wd:
            apify(wd, ports)
    finally:
        for proc, _ in fakes:
            proc.kill()
    print("e2e mixed platforms: 2 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

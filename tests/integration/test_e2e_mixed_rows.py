"""Every row, exactly: one job mixing YouTube, TikTok (one link a short
link, resolved through the fake redirector) and Instagram links with failing posts, run by a server on the
official APIs and by a server that sends all three through Apify (CHATTER_<PLATFORM>_PROVIDER=apify). Both
jobs must end `partial` with the right per-post reasons and counts, and every CSV row must equal what the
fakes served, field by field (test_e2e_mixed.py checks the same kind of job by counts, ids and reasons;
this one compares each row with the fakes' own generators, see platform_data.py)."""
import json
import os
import sys
import urllib.request

from harness import Server, Workdir, check, start_fake
from platform_data import (apify_items, check_post_rows, csv_rows, instagram_official, tiktok_official,
                           youtube_official)

TT_NORMAL = "7106594312292453675"
TT_URL = "https://www.tiktok.com/@fake.user/video/" + TT_NORMAL


def fake_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def create(srv, urls):
    st, job, _ = srv.call("POST", "/api/jobs", {"urls": urls, "max_comments_per_post": 0, "include_replies": True})
    check(st == 201, f"create: {st} {job}")
    return job


def by_post(job):
    return {p["post_id"]: p for p in job["posts"]}


def check_failed(posts, post_id, *words):
    p = posts[post_id]
    check(p["status"] == "failed", f"{post_id} should have failed: {p}")
    for w in words:
        check(w in (p["reason"] or ""), f"{post_id}: reason {p['reason']!r} lacks {w!r}")


def check_done(posts, post_id, rows, expected_rows):
    p = posts[post_id]
    check(p["status"] == "done", f"{post_id} should be done: {p}")
    check(p["comment_count"] == len(rows) == p["classified_count"], f"{post_id}: counts {p} vs {len(rows)} rows")
    check(p["fetched_count"] == expected_rows, f"{post_id}: fetched_count {p['fetched_count']} != {expected_rows}")


def main():
    with Workdir() as wd:
        yt, yport = start_fake("fake_youtube.py", "--key", "test-key", "--page-size", "50")
        tt, tport = start_fake("fake_tiktok.py", "--page-cap", "40")
        ig, iport = start_fake("fake_instagram.py")
        ap, aport = start_fake("fake_apify.py")
        common = {"CHATTER_TIKTOK_RESOLVE_URL": f"http://127.0.0.1:{tport}", "CHATTER_HTTP_RETRIES": "1",
                  "CHATTER_MAX_ATTEMPTS": "1"}
        for sub in ("official", "apify"):
            os.makedirs(os.path.join(wd, sub))
        official = Server(os.path.join(wd, "official"), dict(common, **{
            "YOUTUBE_API_KEY": "test-key", "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{yport}/youtube/v3",
            "TIKTOK_CLIENT_KEY": "test-key", "TIKTOK_CLIENT_SECRET": "test-secret",
            "CHATTER_TIKTOK_API_URL": f"http://127.0.0.1:{tport}",
            "INSTAGRAM_ACCESS_TOKEN": "test-ig-token", "INSTAGRAM_ACCOUNT_ID": "17841400000000001",
            "CHATTER_INSTAGRAM_API_URL": f"http://127.0.0.1:{iport}/v19.0"}), args=["--workers", "3"])
        apify = Server(os.path.join(wd, "apify"), dict(common, **{
            "APIFY_TOKEN": "test-apify-token", "CHATTER_APIFY_API_URL": f"http://127.0.0.1:{aport}",
            "CHATTER_YOUTUBE_PROVIDER": "apify", "CHATTER_TIKTOK_PROVIDER": "apify",
            "CHATTER_INSTAGRAM_PROVIDER": "apify"}), args=["--workers", "3"])
        official.start()
        apify.start()
        try:
            # a fetch stopped by a limit reports how many the platform has and why fewer came back
            st, lim, _ = official.call("POST", "/api/jobs", {"urls": ["https://www.instagram.com/p/CNormal0001/"],
                                                             "max_comments_per_post": 50, "include_replies": True})
            check(st == 201, f"{st} {lim}")
            lim = official.wait_job(lim["id"], timeout=30)
            p = lim["posts"][0]
            check(p["status"] == "done" and p["comment_count"] == 50 and p["fetched_count"] == 50, p)
            check(p["expected_count"] == 210 and "fetched 50 of the 210 comments" in (p["note"] or "")
                  and "limit of 50" in p["note"], p)

            job_o = create(official, [
                "https://www.youtube.com/watch?v=9bZkp7q19f0", "https://youtu.be/DISABLED_01",
                "https://vm.tiktok.com/ZMgood/", "https://www.tiktok.com/@x/video/7000000000000000006",
                "https://www.instagram.com/p/CNormal0001/", "https://www.instagram.com/p/CGone000001/",
                "https://www.instagram.com/reel/CNotMine001/"])
            job_a = create(apify, [
                "https://www.youtube.com/watch?v=CevxZvSJLk8", "https://www.youtube.com/watch?v=apifyTime01",
                "https://vt.tiktok.com/ZSgood/", "https://www.tiktok.com/@x/video/7000000000000000021",
                "https://www.instagram.com/p/CNormal0001/", "https://www.instagram.com/p/CApifyEmpt1/"])
            # the short links were stored as the canonical video link
            for job in (job_o, job_a):
                tiktok = [p for p in job["posts"] if p["platform"] == "tiktok"]
                check(any(p["post_id"] == TT_NORMAL and TT_NORMAL in p["url"] and "vm." not in p["url"]
                          and "vt." not in p["url"] for p in tiktok), f"short link not resolved: {tiktok}")

            job_o = official.wait_job(job_o["id"], timeout=60)
            job_a = apify.wait_job(job_a["id"], timeout=60)
            check(job_o["status"] == "partial", f"official job: {job_o['status']}: {job_o['posts']}")
            check(job_a["status"] == "partial", f"apify job: {job_a['status']}: {job_a['posts']}")

            # --- official APIs ---
            po = by_post(job_o)
            check_failed(po, "DISABLED_01", "disabled")
            check_failed(po, "7000000000000000006", "not allow", "disclosed")
            check_failed(po, "CGone000001", "does not exist")
            check_failed(po, "CNotMine001", "not owned")
            rows = csv_rows(official, job_o["id"])
            model = rows[0]["model"]
            check(model.startswith("vader"), f"model {model}")
            yt_want = youtube_official("9bZkp7q19f0", True, lambda p: fake_get(yport, p))
            check_done(po, "9bZkp7q19f0", check_post_rows(rows, "9bZkp7q19f0", yt_want, model, text_only=True),
                       len(yt_want))
            tt_want = tiktok_official(int(TT_NORMAL), True)
            check_done(po, TT_NORMAL, check_post_rows(rows, TT_NORMAL, tt_want, model), len(tt_want))
            ig_want = instagram_official("CNormal0001", True)
            check_done(po, "CNormal0001", check_post_rows(rows, "CNormal0001", ig_want, model), len(ig_want))
            # Instagram reports comments_count (top level + replies) and all of them came back
            check(po["CNormal0001"]["expected_count"] == len(ig_want), po["CNormal0001"])
            check(po["CNormal0001"]["note"] is None, po["CNormal0001"])
            check(len(rows) == len(yt_want) + len(tt_want) + len(ig_want), f"{len(rows)} CSV rows in all")
            counts = job_o["counts"]
            check(counts["posts_total"] == 7 and counts["posts_done"] == 3 and counts["posts_failed"] == 4, counts)
            check(counts["comments_fetched"] == len(rows) == counts["comments_classified"], counts)
            check(sum(job_o["labels"].values()) == len(rows), job_o["labels"])

            # --- Apify ---
            pa = by_post(job_a)
            check_failed(pa, "apifyTime01", "timed out")
            check_failed(pa, "7000000000000000021", "failed", "Actor crashed")
            check_failed(pa, "CApifyEmpt1", "no comments")
            rows = csv_rows(apify, job_a["id"])
            for post_id, platform in (("CevxZvSJLk8", "youtube"), (TT_NORMAL, "tiktok"), ("CNormal0001", "instagram")):
                url = pa[post_id]["url"]
                want = apify_items(platform, url, post_id, True)
                check_done(pa, post_id, check_post_rows(rows, post_id, want, model), len(want))
            counts = job_a["counts"]
            check(counts["posts_total"] == 6 and counts["posts_done"] == 3 and counts["posts_failed"] == 3, counts)
            check(counts["comments_fetched"] == len(rows) == counts["comments_classified"], counts)
            stats = fake_get(aport, "/_stats")
            check(sum(stats["runs"].values()) == 6, f"one actor run per post: {stats['runs']}")
            print(f"official: {len(yt_want) + len(tt_want) + len(ig_want)} rows, apify: {len(rows)} rows checked")
        except Exception:
            print(official.read_log(), file=sys.stderr)
            print(apify.read_log(), file=sys.stderr)
            raise
        finally:
            official.stop()
            apify.stop()
            for f in (yt, tt, ig, ap):
                f.kill()


if __name__ == "__main__":
    main()

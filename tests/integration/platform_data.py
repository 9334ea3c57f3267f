"""What the fake platform servers serve, as the CSV rows chatter must produce from it (stdlib only).

The fakes generate their comments deterministically; importing their generators here means a test checks
every CSV row against the very data the fake sent, field by field. A row is keyed by comment id and holds
(parent_id, author, published_at, like_count, text) as CSV strings ("" for none)."""
import csv
import html
import io
import os
import sys
import time

from harness import FAKES, SHARED, check

sys.path.insert(0, FAKES)
import fake_apify  # noqa: E402
import fake_instagram  # noqa: E402
import fake_tiktok  # noqa: E402

HEADER = ["job_id", "post_url", "platform", "post_id", "comment_id", "parent_id", "author", "published_at",
          "like_count", "text", "label", "score_negative", "score_neutral", "score_positive", "model"]
YT_FILES = {"9bZkp7q19f0": "Youtube01-Psy.csv", "CevxZvSJLk8": "Youtube02-KatyPerry.csv"}


def iso_z(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def ig_time(s):
    """'2017-08-31T18:00:30+0000' or '...:30.000Z' -> '2017-08-31T18:00:30Z'."""
    return s[:19] + "Z"


def row(parent, author, published, likes, text):
    return (parent or "", author or "", published or "", str(likes), text)


def tiktok_official(video_id, replies):
    out = {}
    for c in fake_tiktok.comments_of(video_id):
        out[str(c["id"])] = row("", "", iso_z(c["create_time"]), c["like_count"], c["text"])
        if replies:
            for r in fake_tiktok.replies_of(c["id"]):
                out[str(r["id"])] = row(str(c["id"]), "", iso_z(r["create_time"]), r["like_count"], r["text"])
    return out


def instagram_official(shortcode, replies):
    out = {}
    for c in fake_instagram.comments_of(shortcode):
        out[c["id"]] = row("", c["username"], ig_time(c["timestamp"]), c["like_count"], c["text"])
        if replies:
            for r in fake_instagram.replies_of(c["id"]):
                out[r["id"]] = row(c["id"], r["username"], ig_time(r["timestamp"]), r["like_count"], r["text"])
    return out


def youtube_official(video_id, replies, fake_json):
    """Ids from the fake's /_expected, texts from the data set it serves (last occurrence wins)."""
    texts = {}
    with open(os.path.join(SHARED, "data", "comments", "youtube_spam_collection", YT_FILES[video_id]), newline="",
              encoding="utf-8") as f:
        for r in csv.DictReader(f):
            texts[r["COMMENT_ID"]] = html.unescape(r["CONTENT"])
    ids = fake_json(f"/_expected?videoId={video_id}&replies={1 if replies else 0}")["ids"]
    return {i: texts[i] for i in ids}  # text only: the other fields are checked by test_e2e_youtube


def _count(v):
    if isinstance(v, int):
        return v
    return int(float(v[:-1]) * 1000) if v.endswith("K") else int(v)


def apify_items(platform, url, post, replies):
    out = {}
    if platform == "tiktok":
        for it in fake_apify.tiktok_items(url, post, 10 ** 6, 10 if replies else 0):
            out[it["cid"]] = row(it["repliesToId"], it["uniqueId"], ig_time(it["createTimeISO"]), it["diggCount"],
                                 it["text"])
    elif platform == "instagram":
        for it in fake_apify.instagram_items(url, post, 10 ** 6):
            author = it.get("ownerUsername") or it["owner"]["username"]
            out[it["id"]] = row("", author, ig_time(it["timestamp"]), it["likesCount"], it["text"])
            if replies:
                for r in it["replies"]:
                    out[r["id"]] = row(it["id"], r["ownerUsername"], ig_time(r["timestamp"]), r["likesCount"],
                                       r["text"])
    else:
        for it in fake_apify.youtube_items(url, post, 10 ** 6):
            out[it["cid"]] = row("", it["author"], "", _count(it["voteCount"]), it["comment"])
    return out


def unneutralise(cell):
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def csv_rows(srv, job_id):
    st, text, hdrs = srv.call("GET", f"/api/jobs/{job_id}/results.csv")
    check(st == 200, f"CSV download failed: {st} {text}")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    check(rows[0] == HEADER, f"header {rows[0]}")
    return [dict(zip(HEADER, [unneutralise(c) for c in r])) for r in rows[1:]]


def check_post_rows(rows, post_id, expected, model, text_only=False):
    """Every CSV row of one post equals what the fake served; none missing, none extra, none twice."""
    mine = [r for r in rows if r["post_id"] == post_id]
    ids = [r["comment_id"] for r in mine]
    check(len(ids) == len(set(ids)), f"{post_id}: a comment appears twice in the CSV")
    missing = set(expected) - set(ids)
    extra = set(ids) - set(expected)
    check(not missing and not extra,
          f"{post_id}: {len(missing)} rows missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra "
          f"(e.g. {sorted(extra)[:3]})")
    for r in mine:
        want = expected[r["comment_id"]]
        if text_only:
            check(r["text"] == want, f"{post_id}/{r['comment_id']}: text {r['text']!r} != {want!r}")
        else:
            got = (r["parent_id"], r["author"], r["published_at"], r["like_count"], r["text"])
            check(got == want, f"{post_id}/{r['comment_id']}: {got} != {want}")
        check(r["label"] in ("negative", "neutral", "positive") and r["model"] == model,
              f"{post_id}/{r['comment_id']}: not classified: {r}")
    return mine

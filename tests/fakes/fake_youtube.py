#!/usr/bin/env python3
"""fake_youtube.py - a stand-in for the YouTube Data API v3 comment endpoints (stdlib only).

Serves GET /youtube/v3/commentThreads and GET /youtube/v3/comments in the documented JSON shapes
(shared/docs/platform-apis.md section 2) with the real comments of the YouTube Spam Collection
($CHATTER_SHARED/data/comments/youtube_spam_collection/*.csv):

    9bZkp7q19f0 Psy   CevxZvSJLk8 KatyPerry   KQ6zr6kCPj8 LMFAO   uelHwf8o7_U Eminem   pRpeEdMmmQ0 Shakira

Start:  fake_youtube.py --port 0 [--key KEY] [--page-size N] [--legacy-key-error] [--delay-ms MS]
                         [--watch-stdin] [--data-dir DIR] [--synthetic N]
        prints "READY <port>" on stdout once it listens on 127.0.0.1. --delay-ms delays every API answer
        (to catch a server mid-job); --watch-stdin exits when stdin closes (the parent test died).

How the data set becomes threads and replies (deterministic):
  * rows are walked in file order; each row not taken as a reply becomes a top-level thread;
  * every 10th thread (the 10th, 20th, ...) whose COMMENT_ID is unique in its file gets the next 2 rows
    of the file as its replies (snippet.parentId = the thread's id, totalReplyCount = 2);
  * so every row of a file is served exactly once, either as a thread or as a reply. Repeated
    COMMENT_IDs (2 in Eminem, 1 in Shakira) are served as they are: consumers must dedupe.
Field mapping:
  * id = COMMENT_ID, authorDisplayName = AUTHOR;
  * textOriginal = CONTENT with HTML entities unescaped (tags such as <br /> stay, as text);
    textDisplay = the same with textFormat=plainText, the raw CONTENT with textFormat=html;
  * publishedAt/updatedAt = DATE cut to whole seconds plus "Z"; omitted when DATE is empty;
  * likeCount = crc32(COMMENT_ID) % 50.
Paging: maxResults (1..100, default 20) capped by --page-size; nextPageToken is opaque;
pageInfo.totalResults is the number of items on the page (as the real API reports it).

Special video ids (11 characters each):
  DISABLED_01  403 commentsDisabled            NOTFOUND_01  404 videoNotFound (also any unknown id)
  QUOTAEXC_01  403 quotaExceeded               FORBIDDEN01  403 forbidden
  FLAKY500_01  500 on its first 2 requests, then 3 comments
  RATELIMIT01  429 with "Retry-After: 1" on its first request, then 3 comments
  ALWAYS503XX  503 on every request (no Retry-After)
  EMPTYVIDEO1  200 with "items": []
  REPEATTOKEN  2 comments per page; the second page repeats its own nextPageToken forever
  LONGTEXT_01  one comment: 20,000 x "e-acute" (2 bytes each) text, a 1,000-char author,
               publishedAt with a +02:00 offset and fractional seconds
  SLOWVIDEO01  answers after 3 s with 1 comment
  SYN00000000 .. SYN<N-1>  with --synthetic N: 5..30 real rows each (threads and replies as above),
               ids suffixed "-<videoId>" so no two videos share a comment
  ("first requests" count from start-up or the last GET /_reset)
A request whose key differs from --key gets 400 in the current form (badRequest + details
API_KEY_INVALID), or the legacy form (keyInvalid, domain usageLimits) with --legacy-key-error.

Test helpers:
  GET /_stats                             {"videos": {id: {"commentThreads": n, "comments": n}}, "requests": n}
  GET /_expected?videoId=ID&replies=0|1   {"videoId": ID, "ids": [...]}: the comment ids a complete
                                          fetch gets, in serving order (each parent before its replies)
  GET /_reset                             zeroes the counters above
"""
import argparse
import base64
import csv
import glob
import html
import json
import os
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

VIDEO_FILES = {
    "9bZkp7q19f0": "Youtube01-Psy.csv",
    "CevxZvSJLk8": "Youtube02-KatyPerry.csv",
    "KQ6zr6kCPj8": "Youtube03-LMFAO.csv",
    "uelHwf8o7_U": "Youtube04-Eminem.csv",
    "pRpeEdMmmQ0": "Youtube05-Shakira.csv",
}
REPLY_EVERY = 10
REPLIES_PER_THREAD = 2
CHANNEL = "UCfakefakefakefakefake00"


def default_data_dir():
    shared = os.environ.get("CHATTER_SHARED")
    if not shared:
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.path.join(here, "..", "..", "..", "shared")
    return os.path.join(shared, "data", "comments", "youtube_spam_collection")


def iso(date):
    if not date:
        return None
    return date[:19] + "Z"


def make_comment(video, cid, author, text_raw, date, parent=None):
    return {"video": video, "id": cid, "author": author, "raw": text_raw,
            "text": html.unescape(text_raw), "date": iso(date), "parent": parent,
            "likes": zlib.crc32(cid.encode()) % 50}


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def build_video(video, rows):
    counts = {}
    for r in rows:
        counts[r["COMMENT_ID"]] = counts.get(r["COMMENT_ID"], 0) + 1
    threads, replies = [], {}
    i, t = 0, 0
    while i < len(rows):
        r = rows[i]
        th = make_comment(video, r["COMMENT_ID"], r["AUTHOR"], r["CONTENT"], r["DATE"])
        threads.append(th)
        t += 1
        i += 1
        if t % REPLY_EVERY == 0 and counts[th["id"]] == 1:
            reps = []
            for r2 in rows[i:i + REPLIES_PER_THREAD]:
                reps.append(make_comment(video, r2["COMMENT_ID"], r2["AUTHOR"], r2["CONTENT"], r2["DATE"], th["id"]))
            i += len(reps)
            if reps:
                replies[th["id"]] = reps
    return threads, replies


def synthetic_videos(n, files):
    """--synthetic N: videos SYN00000000.. each serving a slice (5..30 rows, wrapping) of the real rows of
    all five files, as threads and replies like the real videos; ids get "-<video>" appended so every
    video's comments are distinct from every other's."""
    pool = [r for f in files for r in f]
    out = {}
    for k in range(n):
        video = "SYN%08d" % k
        size, start = 5 + (k * 7) % 26, (k * 37) % len(pool)
        rows = [dict(pool[(start + i) % len(pool)]) for i in range(size)]
        for r in rows:
            r["COMMENT_ID"] = "%s-%s" % (r["COMMENT_ID"], video)
        out[video] = build_video(video, rows)
    return out


def synthetic(video, n, prefix):
    return [make_comment(video, "%s%03d" % (prefix, k), "Fake Author %d" % k, "synthetic comment %d of %s" % (k, video),
                         "2024-05-01T12:34:%02d" % k) for k in range(n)]


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.threads, self.replies = {}, {}
        files = []
        for video, fname in VIDEO_FILES.items():
            files.append(read_rows(os.path.join(args.data_dir, fname)))
            self.threads[video], self.replies[video] = build_video(video, files[-1])
        for video, (threads, replies) in synthetic_videos(args.synthetic, files).items():
            self.threads[video], self.replies[video] = threads, replies
        for video in ("FLAKY500_01", "RATELIMIT01"):
            self.threads[video], self.replies[video] = synthetic(video, 3, "Ugz" + video[:5]), {}
        self.threads["EMPTYVIDEO1"], self.replies["EMPTYVIDEO1"] = [], {}
        self.threads["REPEATTOKEN"], self.replies["REPEATTOKEN"] = synthetic("REPEATTOKEN", 4, "UgzREP"), {}
        self.threads["SLOWVIDEO01"], self.replies["SLOWVIDEO01"] = synthetic("SLOWVIDEO01", 1, "UgzSLOW"), {}
        long = make_comment("LONGTEXT_01", "UgzLONG000", "A" * 1000, "\u00e9" * 20000, "")
        long["date"] = "2024-05-01T12:34:56.789+02:00"
        self.threads["LONGTEXT_01"], self.replies["LONGTEXT_01"] = [long], {}
        self.parent_video = {}
        for video, reps in self.replies.items():
            for pid in reps:
                self.parent_video[pid] = video
        self.reset()

    def reset(self):
        with self.lock:
            self.stats = {}
            self.requests = 0

    def count(self, video, endpoint):
        with self.lock:
            self.requests += 1
            v = self.stats.setdefault(video, {"commentThreads": 0, "comments": 0})
            v[endpoint] += 1
            return v["commentThreads"] + v["comments"]


def comment_json(c, text_format):
    sn = {"channelId": CHANNEL, "videoId": c["video"],
          "textDisplay": c["text"] if text_format == "plainText" else c["raw"],
          "textOriginal": c["text"], "authorDisplayName": c["author"],
          "authorProfileImageUrl": "https://yt3.ggpht.com/fake",
          "authorChannelUrl": "http://www.youtube.com/@fake", "authorChannelId": {"value": CHANNEL},
          "canRate": True, "viewerRating": "none", "likeCount": c["likes"]}
    if c["date"]:
        sn["publishedAt"] = sn["updatedAt"] = c["date"]
    if c["parent"]:
        sn["parentId"] = c["parent"]
    return {"kind": "youtube#comment", "etag": "etag-" + c["id"], "id": c["id"], "snippet": sn}


def error_body(code, reason, message, domain="youtube.commentThread", status=None, details=None):
    err = {"code": code, "message": message,
           "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status:
        err["status"] = status
    if details:
        err["details"] = details
    return {"error": err}


def make_token(video, offset):
    return base64.urlsafe_b64encode(("%s:%d" % (video, offset)).encode()).decode().rstrip("=")


def read_token(tok, video):
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)).decode()
        v, off = raw.rsplit(":", 1)
        off = int(off)
        return off if v == video and off >= 0 else None
    except Exception:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        st = self.state
        if u.path == "/_stats":
            with st.lock:
                return self.send_json(200, {"videos": st.stats, "requests": st.requests})
        if u.path == "/_reset":
            st.reset()
            return self.send_json(200, {"ok": True})
        if u.path == "/_expected":
            video = q.get("videoId", "")
            if video not in st.threads:
                return self.send_json(404, {"error": "unknown video"})
            ids = []
            for th in st.threads[video]:
                ids.append(th["id"])
                if q.get("replies") == "1":
                    ids.extend(r["id"] for r in st.replies[video].get(th["id"], []))
            return self.send_json(200, {"videoId": video, "ids": ids})
        if u.path not in ("/youtube/v3/commentThreads", "/youtube/v3/comments"):
            return self.send_json(404, error_body(404, "notFound", "Not Found", domain="global"))
        if st.args.key is not None and q.get("key") != st.args.key:
            if st.args.legacy_key_error:
                return self.send_json(400, error_body(400, "keyInvalid", "Bad Request", domain="usageLimits"))
            msg = "API key not valid. Please pass a valid API key."
            return self.send_json(400, error_body(
                400, "badRequest", msg, domain="global", status="INVALID_ARGUMENT",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                          "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}]))
        if "snippet" not in q.get("part", "").split(","):
            return self.send_json(400, error_body(400, "invalidPart", "part must include snippet", domain="global"))
        try:
            max_results = int(q.get("maxResults", "20"))
        except ValueError:
            max_results = -1
        if not 1 <= max_results <= 100:
            return self.send_json(400, error_body(400, "invalidMaxResults", "maxResults must be 1..100",
                                                  domain="global"))
        page = min(max_results, st.args.page_size)
        fmt = q.get("textFormat", "html")
        if u.path.endswith("/comments"):
            return self.replies_page(q, page, fmt)
        return self.threads_page(q, page, fmt)

    def threads_page(self, q, page, fmt):
        st = self.state
        if st.args.delay_ms:
            time.sleep(st.args.delay_ms / 1000.0)
        video = q.get("videoId", "")
        n = st.count(video, "commentThreads")
        if video == "DISABLED_01":
            msg = ('The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">'
                   'videoId</a></code> parameter has disabled comments.')
            return self.send_json(403, error_body(403, "commentsDisabled", msg))
        if video == "QUOTAEXC_01":
            return self.send_json(403, error_body(
                403, "quotaExceeded", "The request cannot be completed because you have exceeded your "
                "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.", domain="youtube.quota"))
        if video == "FORBIDDEN01":
            return self.send_json(403, error_body(
                403, "forbidden", "The comment thread could not be retrieved due to insufficient permissions."))
        if video == "FLAKY500_01" and n <= 2:
            return self.send_json(500, error_body(500, "backendError", "Backend Error", domain="global"))
        if video == "RATELIMIT01" and n <= 1:
            return self.send_json(429, error_body(429, "rateLimitExceeded", "Too Many Requests", domain="global"),
                                  {"Retry-After": "1"})
        if video == "ALWAYS503XX":
            return self.send_json(503, error_body(503, "backendError", "Service Unavailable", domain="global"))
        if video == "SLOWVIDEO01":
            time.sleep(3)
        if video not in st.threads:
            msg = ('The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">'
                   'videoId</a></code> parameter could not be found.')
            return self.send_json(404, error_body(404, "videoNotFound", msg))
        threads = st.threads[video]
        tok = q.get("pageToken")
        if video == "REPEATTOKEN":
            start = 2 if tok else 0
            items, nxt = threads[start:start + 2], "REPEAT-ME"
        else:
            start = 0
            if tok:
                start = read_token(tok, video)
                if start is None:
                    return self.send_json(400, error_body(400, "invalidPageToken", "Bad page token"))
            items = threads[start:start + page]
            nxt = make_token(video, start + page) if start + page < len(threads) else None
        out = []
        for th in items:
            reps = st.replies[video].get(th["id"], [])
            out.append({"kind": "youtube#commentThread", "etag": "etag-t-" + th["id"], "id": th["id"],
                        "snippet": {"channelId": CHANNEL, "videoId": video, "canReply": True,
                                    "totalReplyCount": len(reps), "isPublic": True,
                                    "topLevelComment": comment_json(th, fmt)}})
        body = {"kind": "youtube#commentThreadListResponse", "etag": "etag-list",
                "pageInfo": {"totalResults": len(out), "resultsPerPage": page}, "items": out}
        if nxt:
            body["nextPageToken"] = nxt
        return self.send_json(200, body)

    def replies_page(self, q, page, fmt):
        st = self.state
        if st.args.delay_ms:
            time.sleep(st.args.delay_ms / 1000.0)
        parent = q.get("parentId", "")
        video = st.parent_video.get(parent, "")
        st.count(video, "comments")
        reps = st.replies.get(video, {}).get(parent, [])
        start = 0
        tok = q.get("pageToken")
        if tok:
            start = read_token(tok, parent)
            if start is None:
                return self.send_json(400, error_body(400, "invalidPageToken", "Bad page token", domain="youtube.comment"))
        items = reps[start:start + page]
        body = {"kind": "youtube#commentListResponse", "etag": "etag-list",
                "pageInfo": {"totalResults": len(items), "resultsPerPage": page},
                "items": [comment_json(c, fmt) for c in items]}
        if start + page < len(reps):
            body["nextPageToken"] = make_token(parent, start + page)
        return self.send_json(200, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default=None, help="expected API key (any key accepted when absent)")
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--legacy-key-error", action="store_true")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--watch-stdin", action="store_true")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--synthetic", type=int, default=0, help="serve N extra videos SYN00000000.. (see synthetic_videos)")
    args = ap.parse_args()
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    if not glob.glob(os.path.join(args.data_dir, "*.csv")):
        print("no CSV files in %s" % args.data_dir, file=sys.stderr)
        return 2
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

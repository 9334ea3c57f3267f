#!/usr/bin/env python3
"""Fake TikTok Research API + short-link redirector for chatter's tests (stdlib only).

Shapes follow ../shared/docs/platform-apis.md section 3. Run: fake_tiktok.py --port 0 [--token-ttl S]
[--client-key K --client-secret S] [--page-cap N]; prints `READY <port>`.

Endpoints
  POST /v2/oauth/token/                      form client_key, client_secret, grant_type=client_credentials
                                             -> {"access_token":"clt.N","expires_in":TTL,"token_type":"Bearer"};
                                             wrong credentials -> 401 {"error":"invalid_client",...}
  POST /v2/research/video/comment/list/?fields=...   JSON {"video_id"|"comment_id", "max_count", "cursor"}
                                             ids are JSON integers above 2^53; only requested fields come back
  HEAD|GET /<short-host>/<path>              short-link redirects (see below); chatter reaches them through
                                             CHATTER_TIKTOK_RESOLVE_URL=http://127.0.0.1:<port>
  GET /_stats                                {"token": {...}, "list": {"<video or comment id>": n}, "head": {...}}

Token: an expired or revoked token gets 401 access_token_invalid. Missing `fields` or max_count > 100 ->
400 invalid_params.

Videos (comments are synthetic, seeded by the video id, so every run serves the same data)
  7106594312292453675  NORMAL: 230 top-level comments (ids 7386190478574388011 + i*1000003, not exact as
                       double); every comment with i % 10 == 3 has 3 replies (ids 7400000000000000001 + 10*i + j),
                       fetched with comment_id. create_time = 1719731524 + 60*i.
  7000000000000000001  EMPTY: no comments.
  7000000000000000002  DUPS: 150 comments; each page's cursor points one item back, so the last item of a page
                       is repeated as the first of the next (pagination re-ranking).
  7000000000000000003  AUTH401: the first request answers 401 access_token_invalid and revokes that token;
                       afterwards like a 20-comment video.
  7000000000000000004  RATE429: the first request answers 429 rate_limit_exceeded with Retry-After: 1;
                       then 20 comments.
  7000000000000000005  FLAKY500: the first two requests answer 500 internal_error; then 20 comments.
  7000000000000000006  PRIVATE: 400 invalid_params "The comments of this video are not allowed to be disclosed"
  7000000000000000007  PRIVATE403: the same message under HTTP 403 / code "scope_permission_missed" (the status
                       and code of this case are UNCONFIRMED, so both are served).
  7000000000000000008  INVALID: 400 invalid_params "Invalid parameters: video_id does not exist".
  7000000000000000009  DOWN: always 500 internal_error.
  7000000000000000010  REPEAT: the cursor never advances and has_more stays true (same 10 comments forever).
  7000000000000000011  BIG: 1100 comments. With --cursor-cap 1000 (the "top 1000 comments only" rule, which is
                       UNCONFIRMED, so it is off by default) a request with cursor + max_count > 1000 gets
                       400 invalid_params.
  7000000000000000012  QUOTA429: always 429 rate_limit_exceeded without Retry-After (the daily request quota is
                       spent; chatter pauses TikTok until the next 00:00 UTC).
  7000000000000000013  QUOTARA: always 429 rate_limit_exceeded with Retry-After: 120.
  7000000000000000014  DAILYQUOTA: 403 code "daily_quota_limit_exceeded", message "Daily quota limit exceeded
                       for the Research API" (TikTok's wording for this case is UNCONFIRMED).

Short links (path = host + path of the public link; User-Agent must start with facebookexternalhit,
otherwise 200 without Location, as TikTok now does for some bots)
  /vm.tiktok.com/ZMgood/       301 -> https://www.tiktok.com/@fake.user/video/7106594312292453675?_t=8x&_r=1
  /vt.tiktok.com/ZSgood/       302 -> same
  /www.tiktok.com/t/ZTchain/   302 -> https://vm.tiktok.com/ZMgood/ (two hops)
  /vm.tiktok.com/ZMmobile/     301 -> https://m.tiktok.com/v/7106594312292453675.html
  /vm.tiktok.com/ZMloopA/      301 -> https://vt.tiktok.com/ZSloopB/ -> back to ZMloopA (loop)
  /vm.tiktok.com/ZMlong0/      301 -> ZMlong1 -> ... -> ZMlong9 -> video (too many hops)
  /vm.tiktok.com/ZMoffsite/    302 -> https://evil.example.com/@x/video/1
  /vm.tiktok.com/ZMplain/      301 -> http://www.tiktok.com/@fake.user/video/7106594312292453675 (not https)
  /vm.tiktok.com/ZMhome/       302 -> https://www.tiktok.com/ (removed video)
  /vm.tiktok.com/ZMnoloc/      200 without Location
  anything else                404
"""
import json
import time
import urllib.parse

from fakecommon import Handler, arg_parser, seeded, serve, synth_text

NORMAL = 7106594312292453675
SPECIAL = {7000000000000000001 + k: name for k, name in enumerate(
    ["EMPTY", "DUPS", "AUTH401", "RATE429", "FLAKY500", "PRIVATE", "PRIVATE403", "INVALID", "DOWN", "REPEAT",
     "BIG", "QUOTA429", "QUOTARA", "DAILYQUOTA"])}
COUNTS = {"EMPTY": 0, "DUPS": 150, "AUTH401": 20, "RATE429": 20, "FLAKY500": 20, "REPEAT": 10, "BIG": 1100}
ALL_FIELDS = ["id", "video_id", "text", "like_count", "reply_count", "parent_comment_id", "create_time"]
VIDEO_URL = "https://www.tiktok.com/@fake.user/video/%d" % NORMAL
SHORT = {
    "/vm.tiktok.com/ZMgood/": (301, VIDEO_URL + "?_t=8x&_r=1"),
    "/vt.tiktok.com/ZSgood/": (302, VIDEO_URL + "?_t=8x&_r=1"),
    "/www.tiktok.com/t/ZTchain/": (302, "https://vm.tiktok.com/ZMgood/"),
    "/vm.tiktok.com/ZMmobile/": (301, "https://m.tiktok.com/v/%d.html" % NORMAL),
    "/vm.tiktok.com/ZMloopA/": (301, "https://vt.tiktok.com/ZSloopB/"),
    "/vt.tiktok.com/ZSloopB/": (301, "https://vm.tiktok.com/ZMloopA/"),
    "/vm.tiktok.com/ZMoffsite/": (302, "https://evil.example.com/@x/video/1"),
    "/vm.tiktok.com/ZMplain/": (301, VIDEO_URL.replace("https:", "http:")),
    "/vm.tiktok.com/ZMhome/": (302, "https://www.tiktok.com/"),
    "/vm.tiktok.com/ZMnoloc/": (200, None),
}
for _n in range(10):
    SHORT["/vm.tiktok.com/ZMlong%d/" % _n] = (
        301, "https://vm.tiktok.com/ZMlong%d/" % (_n + 1) if _n < 9 else VIDEO_URL)


def comments_of(video_id):
    """Top-level comments of a video as full dicts (all fields)."""
    name = SPECIAL.get(video_id)
    n = 230 if video_id == NORMAL else COUNTS.get(name, 0)
    out = []
    for i in range(n):
        rng = seeded("tt", video_id, i)
        cid = (7386190478574388011 if video_id == NORMAL else video_id + 386190478574388011) + i * 1000003
        out.append({"id": cid, "video_id": video_id, "text": synth_text(rng), "like_count": rng.randint(0, 5000),
                    "reply_count": 3 if (video_id == NORMAL and i % 10 == 3) else 0,
                    "parent_comment_id": video_id, "create_time": 1719731524 + 60 * i})
    return out


def replies_of(comment_id):
    base = 7386190478574388011
    if comment_id < base or (comment_id - base) % 1000003:
        return []
    i = (comment_id - base) // 1000003
    if i >= 230 or i % 10 != 3:
        return []
    out = []
    for j in range(3):
        rng = seeded("ttr", comment_id, j)
        out.append({"id": 7400000000000000001 + 10 * i + j, "video_id": NORMAL, "text": synth_text(rng),
                    "like_count": rng.randint(0, 50), "reply_count": 0, "parent_comment_id": comment_id,
                    "create_time": 1719731524 + 60 * i + 30 + j})
    return out


class TikTok(Handler):
    def api_error(self, status, code, message, headers=None):
        self.send_json(status, {"data": {}, "error": {"code": code, "message": message, "log_id": "fake-log"}},
                       headers)

    def do_HEAD(self):
        self.short_link()

    def do_GET(self):
        if self.maybe_stats():
            return
        self.short_link()

    def short_link(self):
        path = urllib.parse.urlsplit(self.path).path
        self.server.stats.hit("head", path)
        if path not in SHORT:
            return self.send_empty(404)
        status, location = SHORT[path]
        ua = self.headers.get("User-Agent") or ""
        if location is None or not ua.startswith("facebookexternalhit"):
            return self.send_empty(200)
        self.send_empty(status, {"Location": location})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path == "/v2/oauth/token/":
            return self.token(body)
        if url.path == "/v2/research/video/comment/list/":
            return self.comment_list(url, body)
        self.send_json(404, {"error": {"code": "not_found", "message": "no such endpoint", "log_id": "x"}})

    def token(self, body):
        srv = self.server
        form = urllib.parse.parse_qs(body.decode())
        ok = (form.get("client_key") == [srv.client_key] and form.get("client_secret") == [srv.client_secret]
              and form.get("grant_type") == ["client_credentials"])
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            ok = False
        if not ok:
            srv.stats.hit("token", "rejected")
            return self.send_json(401, {"error": "invalid_client", "error_description": "Client key or secret is "
                                        "incorrect.", "log_id": "fake-log"})
        with srv.lock:
            srv.token_seq += 1
            tok = "clt.fake%d" % srv.token_seq
            srv.tokens[tok] = time.monotonic() + srv.token_ttl
        srv.stats.hit("token")
        self.send_json(200, {"access_token": tok, "expires_in": srv.token_ttl, "token_type": "Bearer"})

    def comment_list(self, url, body):
        srv = self.server
        auth = self.headers.get("Authorization") or ""
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        with srv.lock:
            exp = srv.tokens.get(tok)
        if exp is None or exp < time.monotonic():
            srv.stats.hit("list", "unauthorized")
            return self.api_error(401, "access_token_invalid", "The access token is invalid or not found in the "
                                  "request.")
        q = urllib.parse.parse_qs(url.query)
        fields = [f for f in ",".join(q.get("fields", [])).split(",") if f]
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self.api_error(400, "invalid_params", "Invalid JSON body")
        if not fields or any(f not in ALL_FIELDS for f in fields):
            return self.api_error(400, "invalid_params", "Invalid parameters: fields")
        max_count = req.get("max_count", 10)
        cursor = req.get("cursor", 0)
        if ("video_id" in req) == ("comment_id" in req) or not isinstance(max_count, int) or \
                not 0 < max_count <= 100 or not isinstance(cursor, int) or cursor < 0:
            return self.api_error(400, "invalid_params", "Invalid parameters")
        target = req.get("video_id", req.get("comment_id"))
        if not isinstance(target, int):
            return self.api_error(400, "invalid_params", "Invalid parameters: id must be an integer")
        n = srv.stats.hit("list", str(target))
        name = SPECIAL.get(target) if "video_id" in req else None
        if name == "AUTH401" and n == 1:
            with srv.lock:
                srv.tokens.pop(tok, None)
            return self.api_error(401, "access_token_invalid", "The access token is invalid or not found in the "
                                  "request.")
        if name == "RATE429" and n == 1:
            return self.api_error(429, "rate_limit_exceeded", "API rate limit was exceeded", {"Retry-After": "1"})
        if name == "QUOTA429":
            return self.api_error(429, "rate_limit_exceeded", "API rate limit was exceeded")
        if name == "QUOTARA":
            return self.api_error(429, "rate_limit_exceeded", "API rate limit was exceeded", {"Retry-After": "120"})
        if name == "DAILYQUOTA":
            return self.api_error(403, "daily_quota_limit_exceeded", "Daily quota limit exceeded for the Research "
                                  "API")
        if (name == "FLAKY500" and n <= 2) or name == "DOWN":
            return self.api_error(500, "internal_error", "Something went wrong. Please try again later.")
        if name == "PRIVATE":
            return self.api_error(400, "invalid_params", "The comments of this video are not allowed to be "
                                  "disclosed")
        if name == "PRIVATE403":
            return self.api_error(403, "scope_permission_missed", "The comments of this video are not allowed to "
                                  "be disclosed")
        if name == "INVALID":
            return self.api_error(400, "invalid_params", "Invalid parameters: video_id does not exist")
        if srv.cursor_cap and cursor + max_count > srv.cursor_cap:
            return self.api_error(400, "invalid_params", "Invalid parameters: cursor + max_count must not exceed %d"
                                  % srv.cursor_cap)
        if "video_id" in req:
            if name is None and target != NORMAL:
                return self.api_error(400, "invalid_params", "Invalid parameters: video_id does not exist")
            items = comments_of(target)
        else:
            items = replies_of(target)
        cap = srv.page_cap if srv.page_cap else max_count
        page = items[cursor:cursor + min(max_count, cap)]
        nxt = cursor + len(page)
        has_more = nxt < len(items)
        if name == "DUPS" and has_more:
            nxt -= 1
        if name == "REPEAT":
            nxt, has_more = cursor, True
        rng = seeded("order", target, cursor)
        out = []
        for c in page:
            keys = list(fields)
            rng.shuffle(keys)
            out.append({k: c[k] for k in keys})
        self.send_json(200, {"data": {"comments": out, "cursor": nxt, "has_more": has_more},
                             "error": {"code": "ok", "message": "", "log_id": "fake-log"}})


def main():
    p = arg_parser(__doc__)
    p.add_argument("--token-ttl", type=int, default=7200)
    p.add_argument("--client-key", default="test-key")
    p.add_argument("--client-secret", default="test-secret")
    p.add_argument("--page-cap", type=int, default=0, help="serve at most N comments per page (0 = max_count)")
    p.add_argument("--cursor-cap", type=int, default=0, help="reject cursor + max_count above N (0 = no cap)")
    args = p.parse_args()
    serve(TikTok, args, cursor_cap=args.cursor_cap, token_ttl=args.token_ttl, client_key=args.client_key, client_secret=args.client_secret,
          page_cap=args.page_cap, tokens={}, token_seq=0)


if __name__ == "__main__":
    main()

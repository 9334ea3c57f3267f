#!/usr/bin/env python3
"""Fake Instagram Graph API for chatter's tests (stdlib only).

Shapes follow ../shared/docs/platform-apis.md section 4. Run: fake_instagram.py --port 0 [--token T]
[--account-id ID] [--media-page N] [--page-cap N] [--nested-replies N]; prints `READY <port>`.
Paths may carry a version prefix (/v19.0/...) or none.

Endpoints (access_token query parameter required; anything else -> 400 code 190 OAuthException)
  GET /{account-id}/media?fields=id,shortcode,permalink&limit=&after=   the account's media, at most
        --media-page (default 25) per page, 60 media, paging.cursors.after + paging.next until the last page
  GET /{media-id}/comments?fields=id,text,timestamp,username,like_count[,replies{...}]&limit=&after=
        at most min(limit, --page-cap) comments per page. With the replies{...} field each comment that has
        replies carries the first --nested-replies (default 3) of them under "replies": {"data": [...],
        "paging": {...}} and a paging.next when more remain.
  GET /{comment-id}/replies?fields=...&limit=&after=    all replies of a comment, paged the same way
  GET /{media-id}?fields=comments_count    {"id", "comments_count"}: top-level comments plus replies
  GET /_stats  {"media": {"pages": n}, "comments": {"<media-id>": n}, "replies": {"<comment-id>": n},
               "node": {"<media-id>": n}}
IDs are strings above 2^53 (media 179..., comments 178..., replies 1799...); timestamps end in +0000.
A missing object -> 400 code 100 subcode 33 (GraphMethodException).

Media of the account (shortcode -> behaviour of its comments edge)
  CNormal0001   120 comments ("17873440459141021" + 13*i); comment i with i % 7 == 0 has 5 replies
                ("17990000000000001" + 10*i + j, parent_id set). Listed on the listing's third page.
  CEmpty00001   no comments
  CThrottle01   first request: 400 code 4 "Application request limit reached"; then 10 comments
  CTransient1   first request: 500 code 1, second: 503 code 2; then 10 comments
  CGone000001   400 code 100 subcode 33 (deleted media)
  CExpired001   400 code 190 "Error validating access token: Session has expired"
  CDupPages01   60 comments; every page's `after` cursor points one item back (a duplicate per page)
  CRepeat0001   10 comments, then paging.next with the same cursor forever
  CReelOnly01   listed without a shortcode field; only its permalink https://www.instagram.com/reel/CReelOnly01/
                names it; 10 comments
  CQuotaBuc01   always 400 code 4 "Application request limit reached" with X-Business-Use-Case-Usage
                {"<account-id>": [{"type": "instagram", "call_count": 100, ..., "estimated_time_to_regain_access": 17}]}
                and X-App-Usage {"call_count": 100, "total_time": 20, "total_cputime": 5} (no estimate)
  CQuotaApp01   always 400 code 17 "User request limit reached" with X-App-Usage {"call_count": 100, ...,
                "estimated_time_to_regain_access": 5}
  CQuota80002   always 400 code 80002 "There have been too many calls to this Instagram account", no usage headers
  C0000000000 .. (the rest) filler media with 2 comments each
Any other shortcode (e.g. CNotMine001) is not in the account.
"""
import base64
import json
import re
import urllib.parse

from fakecommon import Handler, arg_parser, seeded, serve, synth_text

SPECIAL = ["CNormal0001", "CEmpty00001", "CThrottle01", "CTransient1", "CGone000001", "CExpired001",
           "CDupPages01", "CRepeat0001", "CReelOnly01", "CQuotaBuc01", "CQuotaApp01", "CQuota80002"]
COUNTS = {"CNormal0001": 120, "CEmpty00001": 0, "CThrottle01": 10, "CTransient1": 10, "CDupPages01": 60,
          "CRepeat0001": 10, "CReelOnly01": 10}
SLOT = {"CNormal0001": 50, "CEmpty00001": 3, "CThrottle01": 10, "CTransient1": 17, "CGone000001": 22,
        "CExpired001": 29, "CDupPages01": 35, "CRepeat0001": 41, "CReelOnly01": 57,
        "CQuotaBuc01": 5, "CQuotaApp01": 8, "CQuota80002": 12}


def build_media():
    media = []
    by_slot = {v: k for k, v in SLOT.items()}
    for i in range(60):
        sc = by_slot.get(i, "C%010d" % i)
        m = {"id": str(17900000000000001 + 7 * i), "shortcode": sc,
             "permalink": "https://www.instagram.com/%s/%s/" % ("reel" if sc == "CReelOnly01" else "p", sc)}
        if sc == "CReelOnly01":
            del m["shortcode"]
        media.append(m)
    return media


MEDIA = build_media()
MEDIA_BY_ID = {m["id"]: (m.get("shortcode") or "CReelOnly01") for m in MEDIA}


def comments_of(sc):
    n = COUNTS.get(sc, 2)
    out = []
    for i in range(n):
        rng = seeded("ig", sc, i)
        cid = str(17873440459141021 + 13 * i + (0 if sc == "CNormal0001" else 1000000 * (SLOT.get(sc, 1) + 1)))
        out.append({"id": cid, "text": synth_text(rng), "username": "user_%d" % rng.randint(1, 999),
                    "like_count": rng.randint(0, 300), "timestamp": ts(i * 60),
                    "_replies": 5 if (sc == "CNormal0001" and i % 7 == 0) else 0, "_i": i})
    return out


def ts(sec):
    base = 1504202430  # 2017-08-31T18:00:30Z
    t = base + sec
    import time as _t
    return _t.strftime("%Y-%m-%dT%H:%M:%S+0000", _t.gmtime(t))


def replies_of(comment_id):
    for c in comments_of("CNormal0001"):
        if c["id"] == comment_id:
            i = c["_i"]
            return [{"id": str(17990000000000001 + 10 * i + j), "text": synth_text(seeded("igr", i, j)),
                     "username": "replier_%d" % j, "like_count": j, "timestamp": ts(i * 60 + 30 + j),
                     "parent_id": comment_id} for j in range(c["_replies"])]
    return []


def enc(n):
    return base64.b64encode(("off:%d" % n).encode()).decode()


def dec(s):
    try:
        return int(base64.b64decode(s.encode()).decode().split(":")[1])
    except Exception:  # noqa: BLE001 - any bad cursor is a client error
        return None


def project(item, fields):
    return {k: v for k, v in item.items() if k in fields and not k.startswith("_")}


def parse_fields(s):
    """'id,text,replies{id,text}' -> (['id','text'], ['id','text'] or None)."""
    m = re.search(r"replies\{([^}]*)\}", s)
    nested = m.group(1).split(",") if m else None
    top = re.sub(r"replies\{[^}]*\}", "replies", s).split(",")
    return [f for f in top if f], nested


class Instagram(Handler):
    def graph_error(self, status, code, message, etype="OAuthException", subcode=None, headers=None):
        err = {"message": message, "type": etype, "code": code, "fbtrace_id": "AfakeTrace"}
        if subcode is not None:
            err["error_subcode"] = subcode
        self.send_json(status, {"error": err}, headers)

    def page(self, items, q, cap, path, dup=False, repeat=False):
        """Returns (slice, paging) for an edge."""
        try:
            limit = int(q.get("limit", ["25"])[0])
        except ValueError:
            limit = 25
        limit = max(1, min(limit, cap))
        start = dec(q["after"][0]) if "after" in q else 0
        if start is None:
            return None, None
        chunk = items[start:start + limit]
        end = start + len(chunk)
        paging = {"cursors": {"before": enc(start), "after": enc(end)}}
        if repeat:
            paging["cursors"]["after"] = enc(start)
            end = start
        more = repeat or end < len(items)
        if dup and more:
            paging["cursors"]["after"] = enc(end - 1)
        if more:
            qs = dict((k, v[0]) for k, v in q.items())
            qs["after"] = paging["cursors"]["after"]
            paging["next"] = "%s%s?%s" % (self.base_url(), path, urllib.parse.urlencode(qs))
        return chunk, paging

    def do_GET(self):
        if self.maybe_stats():
            return
        srv = self.server
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        m = re.fullmatch(r"(?:/v\d+\.\d+)?/(\d+)/(media|comments|replies)", url.path)
        if q.get("access_token") != [srv.token]:
            return self.graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        node = re.fullmatch(r"(?:/v\d+\.\d+)?/(\d+)", url.path)
        if node and node.group(1) in MEDIA_BY_ID:
            sc = MEDIA_BY_ID[node.group(1)]
            srv.stats.hit("node", node.group(1))
            if sc in ("CGone000001",):
                return self.missing(node.group(1))
            total = sum(1 + c["_replies"] for c in comments_of(sc))
            return self.send_json(200, {"id": node.group(1), "comments_count": total})
        if not m:
            return self.graph_error(400, 100, "Unknown path components", "OAuthException")
        obj, edge = m.group(1), m.group(2)
        fields, nested = parse_fields(q.get("fields", ["id"])[0])
        if edge == "media":
            if obj != srv.account_id:
                return self.missing(obj)
            srv.stats.hit("media", "pages")
            chunk, paging = self.page(MEDIA, q, srv.media_page, url.path)
            if chunk is None:
                return self.graph_error(400, 100, "Invalid cursor", "GraphMethodException")
            return self.send_json(200, {"data": [project(x, fields) for x in chunk], "paging": paging})
        if edge == "replies":
            srv.stats.hit("replies", obj)
            reps = replies_of(obj)
            chunk, paging = self.page(reps, q, srv.page_cap, url.path)
            if chunk is None:
                return self.graph_error(400, 100, "Invalid cursor", "GraphMethodException")
            return self.send_json(200, {"data": [project(x, fields) for x in chunk], "paging": paging})
        sc = MEDIA_BY_ID.get(obj)
        if sc is None:
            return self.missing(obj)
        n = srv.stats.hit("comments", obj)
        if sc == "CThrottle01" and n == 1:
            return self.graph_error(400, 4, "Application request limit reached")
        if sc == "CQuotaBuc01":
            buc = {srv.account_id: [{"type": "instagram", "call_count": 100, "total_cputime": 12, "total_time": 30,
                                     "estimated_time_to_regain_access": 17}]}
            app = {"call_count": 100, "total_time": 20, "total_cputime": 5}
            return self.graph_error(400, 4, "Application request limit reached", headers={
                "X-Business-Use-Case-Usage": json.dumps(buc), "X-App-Usage": json.dumps(app)})
        if sc == "CQuotaApp01":
            app = {"call_count": 100, "total_time": 20, "total_cputime": 5, "estimated_time_to_regain_access": 5}
            return self.graph_error(400, 17, "User request limit reached", headers={"X-App-Usage": json.dumps(app)})
        if sc == "CQuota80002":
            return self.graph_error(400, 80002, "There have been too many calls to this Instagram account")
        if sc == "CTransient1" and n == 1:
            return self.graph_error(500, 1, "An unknown error occurred")
        if sc == "CTransient1" and n == 2:
            return self.graph_error(503, 2, "Service temporarily unavailable")
        if sc == "CGone000001":
            return self.missing(obj)
        if sc == "CExpired001":
            return self.graph_error(400, 190, "Error validating access token: Session has expired", subcode=463)
        chunk, paging = self.page(comments_of(sc), q, srv.page_cap, url.path, dup=sc == "CDupPages01",
                                  repeat=sc == "CRepeat0001")
        if chunk is None:
            return self.graph_error(400, 100, "Invalid cursor", "GraphMethodException")
        data = []
        for c in chunk:
            item = project(c, fields)
            if nested is not None and "replies" in fields and c["_replies"]:
                reps = replies_of(c["id"])
                first = reps[:srv.nested_replies]
                rp = {"cursors": {"before": enc(0), "after": enc(len(first))}}
                if len(first) < len(reps):
                    rp["next"] = "%s/v19.0/%s/replies?%s" % (self.base_url(), c["id"], urllib.parse.urlencode(
                        {"fields": ",".join(nested), "after": enc(len(first)), "access_token": srv.token}))
                item["replies"] = {"data": [project(r, nested) for r in first], "paging": rp}
            data.append(item)
        self.send_json(200, {"data": data, "paging": paging})

    def missing(self, obj):
        self.graph_error(400, 100, "Unsupported get request. Object with ID '%s' does not exist, cannot be loaded "
                         "due to missing permissions, or does not support this operation" % obj,
                         "GraphMethodException", 33)


def main():
    p = arg_parser(__doc__)
    p.add_argument("--token", default="test-ig-token")
    p.add_argument("--account-id", default="17841400000000001")
    p.add_argument("--media-page", type=int, default=25)
    p.add_argument("--page-cap", type=int, default=50)
    p.add_argument("--nested-replies", type=int, default=3)
    args = p.parse_args()
    serve(Instagram, args, token=args.token, account_id=args.account_id, media_page=args.media_page,
          page_cap=args.page_cap, nested_replies=args.nested_replies)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fake Apify API (async actor runs + datasets) for chatter's tests (stdlib only).

Shapes follow ../shared/docs/platform-apis.md section 5. Run: fake_apify.py --port 0 [--token T] [--polls N]
[--dataset-page N]; prints `READY <port>`. Token: `Authorization: Bearer T` or `?token=T`; otherwise
401 {"error":{"type":"user-or-token-not-found",...}}.

Endpoints
  POST /v2/acts/{owner~name}/runs            body = actor input -> 201 {"data": run}; unknown actor -> 404
                                             record-not-found; input without the post URL -> 400 invalid-input
  GET  /v2/actor-runs/{runId}?waitForFinish=S  {"data": run}; a run reaches its final status on the
                                             --polls-th (default 2) poll; each poll waits at most 0.05 s
  POST /v2/actor-runs/{runId}/abort          -> status ABORTED
  GET  /v2/datasets/{id}/items?offset=&limit=&clean=1   JSON array of at most min(limit, --dataset-page)
                                             items, with X-Apify-Pagination-Offset/-Limit/-Count/-Total
  GET  /_stats  {"runs": {actor: n}, "polls": {runId: n}, "items": {datasetId: pages}, "aborts": {runId: n},
                 "refused": {actor or, for 429s, post id: n}}

Actors and their items (synthetic, seeded by the post id; 130 top-level comments, capped by the input limit)
  clockworks~tiktok-comments-scraper  input {"postURLs": [url], "commentsPerPost": N, "maxRepliesPerComment": R}
        items: cid (string, ids above 2^53: "7390000000000000001" + 1000003*i), text, createTime,
        createTimeISO, diggCount, replyCommentTotal, repliesToId (null), uniqueId, videoWebUrl. With R > 0 each
        comment i with i % 10 == 0 is followed by min(R, 2) reply items (repliesToId = parent cid). The item
        of comment 5 is served twice (a duplicate in the dataset).
  apify~instagram-comment-scraper     input {"directUrls": [url], "resultsLimit": N}
        items: id, text, ownerUsername (every 4th item has owner.username instead), timestamp
        ("...T..:..:...000Z"), likesCount, repliesCount, replies[] (2 replies for i % 10 == 0).
  streamers~youtube-comments-scraper  input {"startUrls": [{"url": url}], "maxComments": N}
        items: cid, comment, author, voteCount (i % 3: 0 -> number i, 1 -> "1.2K", 2 -> "15"),
        replyCount, publishedTimeText ("3 years ago"), videoId, pageUrl, type "comment". No reply items.

Special post ids (the id inside the input URL) and the run they get
  7000000000000000021 / CApifyFail1 / apifyFail01   FAILED (statusMessage "Actor crashed")
  7000000000000000022 / CApifyTime1 / apifyTime01   TIMED-OUT
  7000000000000000023 / CApifyEmpt1 / apifyEmpty1   SUCCEEDED with an empty dataset
  7000000000000000024 / CApifyAbrt1 / apifyAbort1   ABORTED
  7000000000000000025 / CApifySlow1 / apifySlow01   RUNNING forever (until aborted)
  7000000000000000026 / CApifyErr01 / apifyErr001   SUCCEEDED; the dataset holds one item
                                                    {"error": "Post is private or unavailable", "url": ...}
  7000000000000000027 / CApifyQuot1 / apifyQuota1   the run is refused: 402 {"error": {"type":
                                                    "not-enough-usage-to-run-paid-actor", ...}} (usage quota)
  7000000000000000028 / CApifyFeat1 / apifyFeat01   the run is refused: 403 {"error": {"type":
                                                    "platform-feature-disabled", "message": "Monthly usage hard
                                                    limit exceeded"}}
  7000000000000000029 / CApifyRate1 / apifyRate01   the run is refused: 429 rate-limit-exceeded, every time, without
                                                    Retry-After
  7000000000000000030 / CApifyRtAf1 / apifyRetAf1   the same with Retry-After: 300
  7000000000000000031 / CApifyMem01 / apifyMem001   the run is refused: 402 actor-memory-limit-exceeded
"""
import itertools
import re
import time
import urllib.parse

from fakecommon import Handler, arg_parser, seeded, serve, synth_text

ACTORS = {"clockworks~tiktok-comments-scraper": "tiktok", "apify~instagram-comment-scraper": "instagram",
          "streamers~youtube-comments-scraper": "youtube"}
BEHAVIOUR = {}
for _names, _b in [(("7000000000000000021", "CApifyFail1", "apifyFail01"), "FAILED"),
                   (("7000000000000000022", "CApifyTime1", "apifyTime01"), "TIMED-OUT"),
                   (("7000000000000000023", "CApifyEmpt1", "apifyEmpty1"), "EMPTY"),
                   (("7000000000000000024", "CApifyAbrt1", "apifyAbort1"), "ABORTED"),
                   (("7000000000000000025", "CApifySlow1", "apifySlow01"), "SLOW"),
                   (("7000000000000000026", "CApifyErr01", "apifyErr001"), "ERRITEM"),
                   (("7000000000000000027", "CApifyQuot1", "apifyQuota1"), "QUOTA"),
                   (("7000000000000000028", "CApifyFeat1", "apifyFeat01"), "FEATURE"),
                   (("7000000000000000029", "CApifyRate1", "apifyRate01"), "RATE"),
                   (("7000000000000000030", "CApifyRtAf1", "apifyRetAf1"), "RATE_RA"),
                   (("7000000000000000031", "CApifyMem01", "apifyMem001"), "MEMORY")]:
    for _n in _names:
        BEHAVIOUR[_n] = _b
ID_RE = {"tiktok": r"/(?:video|photo)/(\d+)", "instagram": r"/(?:p|reel|reels|tv)/([^/?#]+)",
         "youtube": r"[?&]v=([\w-]{11})"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def tiktok_items(url, post, limit, replies):
    out = []
    for i in range(min(130, limit)):
        rng = seeded("apify-tt", post, i)
        cid = str(7390000000000000001 + 1000003 * i)
        t = 1719731524 + 60 * i
        item = {"cid": cid, "text": synth_text(rng), "createTime": t, "createTimeISO": iso(t),
                "diggCount": rng.randint(0, 900), "replyCommentTotal": 2 if i % 10 == 0 else 0,
                "repliesToId": None, "uniqueId": "tt_user_%d" % i, "likedByAuthor": False, "videoWebUrl": url}
        out.append(item)
        if i == 5:
            out.append(dict(item))
        if replies and i % 10 == 0:
            for j in range(min(replies, 2)):
                out.append({"cid": str(7391000000000000001 + 10 * i + j), "text": synth_text(seeded("r", i, j)),
                            "createTime": t + 5 + j, "createTimeISO": iso(t + 5 + j), "diggCount": j,
                            "replyCommentTotal": 0, "repliesToId": cid, "uniqueId": "tt_replier_%d" % j,
                            "videoWebUrl": url})
    return out


def instagram_items(url, post, limit):
    out = []
    for i in range(min(130, limit)):
        rng = seeded("apify-ig", post, i)
        t = 1704103200 + 60 * i
        item = {"id": str(17950000000000001 + 11 * i), "text": synth_text(rng), "timestamp": iso(t),
                "likesCount": rng.randint(0, 90), "repliesCount": 2 if i % 10 == 0 else 0, "postUrl": url}
        if i % 4 == 3:
            item["owner"] = {"username": "ig_owner_%d" % i}
        else:
            item["ownerUsername"] = "ig_user_%d" % i
        item["replies"] = [{"id": str(17960000000000001 + 10 * i + j), "text": synth_text(seeded("igr", i, j)),
                            "timestamp": iso(t + 10 + j), "likesCount": j, "ownerUsername": "ig_replier_%d" % j}
                           for j in range(item["repliesCount"])]
        out.append(item)
    return out


def youtube_items(url, post, limit):
    out = []
    for i in range(min(130, limit)):
        rng = seeded("apify-yt", post, i)
        votes = [i, "1.2K", "15"][i % 3]
        out.append({"cid": "Ugz%08dApifyFake" % i, "comment": synth_text(rng), "author": "@yt_user_%d" % i,
                    "voteCount": votes, "replyCount": 0, "publishedTimeText": "3 years ago", "videoId": post,
                    "pageUrl": url, "type": "comment", "hasCreatorHeart": False})
    return out


class Apify(Handler):
    def apify_error(self, status, etype, message):
        self.send_json(status, {"error": {"type": etype, "message": message}})

    def authorised(self, q):
        auth = self.headers.get("Authorization") or ""
        ok = auth == "Bearer " + self.server.token or q.get("token") == [self.server.token]
        if not ok:
            self.apify_error(401, "user-or-token-not-found", "User was not found or authentication token is not "
                             "valid")
        return ok

    def do_GET(self):
        if self.maybe_stats():
            return
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if not self.authorised(q):
            return
        m = re.fullmatch(r"/v2/actor-runs/(\w+)", url.path)
        if m:
            return self.poll(m.group(1), q)
        m = re.fullmatch(r"/v2/datasets/(\w+)/items", url.path)
        if m:
            return self.items(m.group(1), q)
        self.apify_error(404, "page-not-found", "no such endpoint")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        body = self.read_body()
        if not self.authorised(q):
            return
        m = re.fullmatch(r"/v2/acts/([\w.-]+~[\w.-]+)/runs", url.path)
        if m:
            return self.start(m.group(1), body)
        m = re.fullmatch(r"/v2/actor-runs/(\w+)/abort", url.path)
        if m:
            srv = self.server
            srv.stats.hit("aborts", m.group(1))
            with srv.lock:
                run = srv.runs.get(m.group(1))
                if run and run["status"] in ("READY", "RUNNING"):
                    run["status"] = "ABORTED"
            if not run:
                return self.apify_error(404, "record-not-found", "Actor run was not found")
            return self.send_json(200, {"data": self.public(run)})
        self.apify_error(404, "page-not-found", "no such endpoint")

    def start(self, actor, body):
        import json
        srv = self.server
        plat = ACTORS.get(actor)
        if not plat:
            return self.apify_error(404, "record-not-found", "Actor was not found")
        try:
            inp = json.loads(body or b"{}")
            if plat == "tiktok":
                url, limit = inp["postURLs"][0], inp.get("commentsPerPost", 100)
            elif plat == "instagram":
                url, limit = inp["directUrls"][0], inp.get("resultsLimit", 50)
            else:
                url, limit = inp["startUrls"][0]["url"], inp.get("maxComments", 100)
            m = re.search(ID_RE[plat], url)
            post = m.group(1) if m else ""
        except (ValueError, KeyError, IndexError, TypeError):
            return self.apify_error(400, "invalid-input", "Input is not valid for this actor")
        beh = BEHAVIOUR.get(post, "OK")
        if beh == "QUOTA":
            srv.stats.hit("refused", actor)
            return self.apify_error(402, "not-enough-usage-to-run-paid-actor", "You have exceeded your monthly "
                                    "usage limit. Upgrade your plan to continue.")
        if beh == "FEATURE":
            srv.stats.hit("refused", actor)
            return self.apify_error(403, "platform-feature-disabled", "Monthly usage hard limit exceeded")
        if beh in ("RATE", "RATE_RA"):
            srv.stats.hit("refused", post)
            body = {"error": {"type": "rate-limit-exceeded", "message": "You have exceeded the rate limit of 30 "
                              "requests per second"}}
            return self.send_json(429, body, {"Retry-After": "300"} if beh == "RATE_RA" else None)
        if beh == "MEMORY":
            srv.stats.hit("refused", actor)
            return self.apify_error(402, "actor-memory-limit-exceeded", "By launching this job you will exceed the "
                                    "memory limit of 8192MB for all your Actor runs and builds (currently used: "
                                    "8192MB, requested: 1024MB)")
        srv.stats.hit("runs", actor)
        if beh in ("EMPTY", "FAILED", "TIMED-OUT", "ABORTED", "SLOW"):
            items = []
        elif beh == "ERRITEM":
            items = [{"error": "Post is private or unavailable", "url": url}]
        elif plat == "tiktok":
            items = tiktok_items(url, post, limit, inp.get("maxRepliesPerComment", 0))
        elif plat == "instagram":
            items = instagram_items(url, post, limit)
        else:
            items = youtube_items(url, post, limit)
        final = {"FAILED": "FAILED", "TIMED-OUT": "TIMED-OUT", "ABORTED": "ABORTED", "SLOW": None}.get(beh,
                                                                                                     "SUCCEEDED")
        with srv.lock:
            n = next(srv.seq)
            run = {"id": "run%05d" % n, "actId": actor, "status": "READY", "final": final, "polls": 0,
                   "defaultDatasetId": "ds%05d" % n, "startedAt": iso(time.time())}
            srv.runs[run["id"]] = run
            srv.datasets[run["defaultDatasetId"]] = items
        self.send_json(201, {"data": self.public(run)})

    def public(self, run):
        out = {k: v for k, v in run.items() if k not in ("final", "polls")}
        if run["status"] == "FAILED":
            out["statusMessage"] = "Actor crashed"
        return out

    def poll(self, run_id, q):
        srv = self.server
        srv.stats.hit("polls", run_id)
        try:
            wait = float(q.get("waitForFinish", ["0"])[0])
        except ValueError:
            wait = 0
        with srv.lock:
            run = srv.runs.get(run_id)
            if run and run["status"] in ("READY", "RUNNING"):
                run["polls"] += 1
                run["status"] = "RUNNING"
                if run["final"] and run["polls"] >= srv.polls:
                    run["status"] = run["final"]
                    run["finishedAt"] = iso(time.time())
        if not run:
            return self.apify_error(404, "record-not-found", "Actor run was not found")
        if run["status"] == "RUNNING" and wait > 0:
            time.sleep(min(wait, 0.05))
        self.send_json(200, {"data": self.public(run)})

    def items(self, ds, q):
        srv = self.server
        with srv.lock:
            items = srv.datasets.get(ds)
        if items is None:
            return self.apify_error(404, "record-not-found", "Dataset was not found")
        srv.stats.hit("items", ds)
        try:
            off = int(q.get("offset", ["0"])[0])
            lim = int(q.get("limit", ["1000"])[0])
        except ValueError:
            return self.apify_error(400, "invalid-parameter", "offset/limit must be integers")
        lim = max(0, min(lim, srv.dataset_page))
        chunk = items[off:off + lim]
        self.send_json(200, chunk, {"X-Apify-Pagination-Offset": str(off), "X-Apify-Pagination-Limit": str(lim),
                                    "X-Apify-Pagination-Count": str(len(chunk)),
                                    "X-Apify-Pagination-Total": str(len(items))})


def main():
    p = arg_parser(__doc__)
    p.add_argument("--token", default="test-apify-token")
    p.add_argument("--polls", type=int, default=2)
    p.add_argument("--dataset-page", type=int, default=1000)
    args = p.parse_args()
    serve(Apify, args, token=args.token, polls=args.polls, dataset_page=args.dataset_page, runs={}, datasets={},
          seq=itertools.count(1))


if __name__ == "__main__":
    main()

"""Fake Azure AI Language: POST /language/:analyze-text (kind SentimentAnalysis) with keyword sentiment.

Shapes and limits follow docs/platform-apis.md section 7: at most 10 documents per request (else 400
InvalidDocumentBatch), at most 5,120 text elements per document (else a per-document error inside a 200),
unique ids, 401 for a wrong Ocp-Apim-Subscription-Key, 413 for a body over 1 MB.

Sentiment: words from POSITIVE and NEGATIVE are counted; both present -> "mixed", one -> that polarity,
none -> "neutral", with deterministic scores (see scores()). Special texts:
  a text containing __throttle_once__  the first request carrying it gets 429 with Retry-After: 1
  a text containing __fail_once__      the first request carrying it gets 503
  a text containing __reject__         that document gets a per-document InvalidDocument error
Text elements are counted by an approximation of grapheme clusters (combining marks, variation selectors,
ZWJ and what follows it, and skin-tone modifiers join the previous character), enough for the tests.

/_stats: requests{total, status codes}, documents{total, max_elements, max_bytes}, batches{max}.
"""
import json
import threading
import unicodedata
from urllib.parse import parse_qs, urlsplit

from fakecommon import Handler, arg_parser, serve

POSITIVE = {"love", "great", "amazing", "best", "happy", "brilliant", "nice", "good", "awesome", "wow"}
NEGATIVE = {"hate", "awful", "terrible", "worst", "sad", "boring", "bad", "cringe", "meh"}
MAX_DOCS = 10
MAX_ELEMENTS = 5120
MAX_BODY = 1000000
MODEL_VERSION = "2022-11-01"


def text_elements(s):
    n = 0
    join_next = False
    for ch in s:
        cp = ord(ch)
        extend = (unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me") or
                  0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or cp == 0x200D or join_next)
        join_next = cp == 0x200D
        if not extend or n == 0:
            n += 1
    return n


def words(text):
    return [w.strip(".,!?;:\"'()").lower() for w in text.split()]


def scores(text):
    ws = words(text)
    p = sum(w in POSITIVE for w in ws)
    n = sum(w in NEGATIVE for w in ws)
    if p and n:
        pos = round(0.96 * p / (p + n), 2)
        return "mixed", {"positive": pos, "neutral": 0.04, "negative": round(0.96 - pos, 2)}
    if p:
        pos = round(min(0.99, 0.69 + 0.1 * p), 2)
        return "positive", {"positive": pos, "neutral": round(0.99 - pos, 2), "negative": 0.01}
    if n:
        neg = round(min(0.99, 0.69 + 0.1 * n), 2)
        return "negative", {"positive": 0.01, "neutral": round(0.99 - neg, 2), "negative": neg}
    return "neutral", {"positive": 0.05, "neutral": 0.9, "negative": 0.05}


def doc_error(doc_id, inner_code, message):
    return {"id": doc_id, "error": {"code": "InvalidArgument", "message": "Invalid document in request.",
                                    "innererror": {"code": inner_code, "message": message}}}


def request_error(code, inner_code, message):
    return {"error": {"code": code, "message": "Invalid document in request.",
                      "innererror": {"code": inner_code, "message": message}}}


class Azure(Handler):
    def reply(self, status, obj, headers=None):
        self.server.stats.hit("requests", str(status))
        self.send_json(status, obj, headers)

    def do_GET(self):
        if not self.maybe_stats():
            self.reply(404, {"error": {"code": "404", "message": "Resource not found"}})

    def do_POST(self):
        srv = self.server
        url = urlsplit(self.path)
        body = self.read_body()
        srv.stats.hit("requests")
        if url.path != "/language/:analyze-text":
            return self.reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        if self.headers.get("Ocp-Apim-Subscription-Key") != srv.key:
            return self.reply(401, {"error": {"code": "401", "message":
                                              "Access denied due to invalid subscription key or wrong API endpoint. "
                                              "Make sure to provide a valid key for an active subscription and use "
                                              "a correct regional API endpoint for your resource."}})
        if parse_qs(url.query).get("api-version") != [srv.api_version]:
            return self.reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        if len(body) > MAX_BODY:
            return self.reply(413, request_error("InvalidRequest", "RequestTooLarge", "Request Payload sent is too large"))
        try:
            req = json.loads(body)
            docs = req["analysisInput"]["documents"]
            assert req["kind"] == "SentimentAnalysis" and isinstance(docs, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return self.reply(400, request_error("InvalidRequest", "InvalidRequestBodyFormat",
                                                 "Request body is not a SentimentAnalysis task."))
        if len(docs) > MAX_DOCS:
            return self.reply(400, request_error("InvalidRequest", "InvalidDocumentBatch",
                                                 "Batch request contains too many records. Max 10 records are permitted."))
        ids = [d.get("id") for d in docs]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            return self.reply(400, request_error("InvalidRequest", "InvalidDocument",
                                                 "Request contains duplicated Ids. Make sure each document has a unique Id."))
        texts = [str(d.get("text", "")) for d in docs]
        for marker, status, headers in (("__throttle_once__", 429, {"Retry-After": "1"}), ("__fail_once__", 503, {})):
            if any(marker in t for t in texts):
                with srv.lock:
                    first = marker not in srv.tripped
                    srv.tripped.add(marker)
                if first:
                    return self.reply(status, {"error": {"code": str(status), "message":
                                                         "Rate limit is exceeded. Try again in 1 seconds."
                                                         if status == 429 else "Service unavailable."}}, headers)
        with srv.stats.lock:
            srv.max_batch = max(srv.max_batch, len(docs))
            srv.stats.counts.setdefault("batches", {})["max"] = srv.max_batch
        out, errors = [], []
        for d, text in zip(docs, texts):
            srv.stats.hit("documents")
            n = text_elements(text)
            with srv.stats.lock:
                g = srv.stats.counts.setdefault("documents", {})
                g["max_elements"] = max(g.get("max_elements", 0), n)
                g["max_bytes"] = max(g.get("max_bytes", 0), len(text.encode("utf-8")))
                g["last_language_" + str(d.get("language"))] = 1
            if not text.strip():
                errors.append(doc_error(d["id"], "InvalidDocument", "Document text is empty."))
            elif n > MAX_ELEMENTS:
                errors.append(doc_error(d["id"], "InvalidDocument",
                                        "A document within the request was too large to be processed. Limit "
                                        "document size to: 5120 text elements."))
            elif "__reject__" in text:
                errors.append(doc_error(d["id"], "InvalidDocument", "Document is rejected by the fake."))
            else:
                label, sc = scores(text)
                out.append({"id": d["id"], "sentiment": label, "confidenceScores": sc,
                            "sentences": [{"sentiment": label, "confidenceScores": sc, "offset": 0,
                                           "length": len(text), "text": text}], "warnings": []})
        self.reply(200, {"kind": "SentimentAnalysisResults",
                         "results": {"documents": out, "errors": errors, "modelVersion": MODEL_VERSION}})


def main():
    p = arg_parser(__doc__)
    p.add_argument("--key", default="test-azure-key")
    p.add_argument("--api-version", default="2023-04-01")
    args = p.parse_args()
    serve(Azure, args, key=args.key, api_version=args.api_version, tripped=set(), max_batch=0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""fake_youtube_many.py - tests/fakes/fake_youtube.py plus many synthetic videos, for the pipeline benchmark.

  fake_youtube_many.py --videos N --comments C [--dump-texts FILE] [fake_youtube.py options, e.g. --delay-ms]

Videos BNCH0000000 .. BNCH{N-1} each serve C top-level comments (unique ids) whose texts are the real
comments of the YouTube Spam Collection taken in rotation, so the analyzer sees real text. --dump-texts writes
every synthetic comment's text, one per line, so that classification alone can be timed on the same texts.
Extra endpoints: GET /_bench -> {"requests": n, "busy_s": seconds spent answering comment requests, the
--delay-ms sleep included}; GET /_bench_reset zeroes both."""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fakes"))
import fake_youtube as fy  # noqa: E402


def video_id(k):
    return "BNCH%07d" % k


def main():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--comments", type=int, default=100)
    ap.add_argument("--dump-texts")
    mine, rest = ap.parse_known_args()
    sys.argv = [sys.argv[0]] + rest

    base_init = fy.State.__init__

    def init(self, args):
        base_init(self, args)
        pool = [c for v in fy.VIDEO_FILES for c in self.threads[v]]
        dump = open(mine.dump_texts, "w", encoding="utf-8") if mine.dump_texts else None
        k = 0
        for v in range(mine.videos):
            vid = video_id(v)
            items = []
            for j in range(mine.comments):
                src = pool[k % len(pool)]
                k += 1
                items.append(fy.make_comment(vid, "UgB%07dx%05d" % (v, j), src["author"], src["raw"],
                                             "2024-05-01T12:34:56"))
                if dump:
                    dump.write(" ".join(items[-1]["text"].splitlines()) + "\n")
            self.threads[vid], self.replies[vid] = items, {}
        if dump:
            dump.close()
        self.bench_lock = threading.Lock()
        self.bench = {"requests": 0, "busy_s": 0.0}

    fy.State.__init__ = init

    def timed(method):
        def wrapper(self, *a):
            t0 = time.monotonic()
            try:
                return method(self, *a)
            finally:
                st = self.state
                with st.bench_lock:
                    st.bench["requests"] += 1
                    st.bench["busy_s"] += time.monotonic() - t0
        return wrapper

    fy.Handler.threads_page = timed(fy.Handler.threads_page)
    fy.Handler.replies_page = timed(fy.Handler.replies_page)
    base_get = fy.Handler.do_GET

    def do_get(self):
        st = self.state
        if self.path == "/_bench":
            with st.bench_lock:
                return self.send_json(200, dict(st.bench))
        if self.path == "/_bench_reset":
            with st.bench_lock:
                st.bench = {"requests": 0, "busy_s": 0.0}
            return self.send_json(200, {"ok": True})
        return base_get(self)

    fy.Handler.do_GET = do_get
    return fy.main()


if __name__ == "__main__":
    sys.exit(main())

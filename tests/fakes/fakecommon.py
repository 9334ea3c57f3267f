"""Shared plumbing for the fake platform servers (stdlib only).

Every fake: `--port 0` binds 127.0.0.1 on a free port and prints `READY <port>` on stdout once it
accepts connections; `GET /_stats` answers a JSON object of request counters; `--delay-ms N` makes every
other answer slow; `--watch-stdin` exits when stdin closes.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("love great awful boring amazing fine okay terrible cute funny sad happy best worst song "
         "video dance lol wow nice meh hate brilliant cringe classic again first views who 2026 here "
         "watching still <3 \"quoted\" back\\slash").split()
EMOJI = ["\U0001F602", "\U0001F525", "\u2764\ufe0f", "\U0001F44D", "\ufeff", "\u00e9t\u00e9"]


def synth_text(rng):
    """A deterministic comment text; some carry emoji (surrogate pairs on the wire) and escapes."""
    n = rng.randint(1, 12)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        words.append(rng.choice(EMOJI))
    return " ".join(words)


def seeded(*parts):
    return random.Random("|".join(str(p) for p in parts))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def hit(self, group, key="total"):
        with self.lock:
            g = self.counts.setdefault(group, {})
            g[key] = g.get(key, 0) + 1
            return g[key]

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.counts))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake/1"

    def log_message(self, fmt, *args):  # keep test output quiet
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def slow(self):
        if self.server.delay_ms and self.path.split("?")[0] != "/_stats":
            time.sleep(self.server.delay_ms / 1000.0)

    def send_json(self, status, obj, headers=None):
        self.slow()
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_empty(self, status, headers=None):
        self.slow()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def base_url(self):
        return "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port)

    def maybe_stats(self):
        if self.path.split("?")[0] == "/_stats":
            self.send_json(200, self.server.stats.snapshot())
            return True
        return False


def arg_parser(doc):
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--delay-ms", type=int, default=0, help="answer every request (but /_stats) this much later")
    p.add_argument("--watch-stdin", action="store_true",
                   help="exit when stdin closes (tests pass a pipe, so a crashed test leaves no server)")
    return p


def serve(handler_cls, args, **attrs):
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), handler_cls)
    srv.daemon_threads = True
    srv.stats = Stats()
    srv.verbose = args.verbose
    srv.delay_ms = args.delay_ms
    srv.lock = threading.Lock()
    for k, v in attrs.items():
        setattr(srv, k, v)
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    print("READY %d" % srv.server_port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass

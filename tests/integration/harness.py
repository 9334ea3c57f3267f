"""Shared plumbing for integration tests: start fakes and `chatter serve`, talk HTTP, clean up.

Only the standard library: tests run under Debian's /usr/bin/python3 on a fresh machine."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("CHATTER_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHARED = os.environ.get("CHATTER_SHARED", os.path.join(SRC, "..", "shared"))
BIN = os.environ.get("CHATTER_BIN", os.path.join(SRC, "build", "chatter"))
FAKES = os.path.join(SRC, "tests", "fakes")
VADER_DIR = os.path.join(SHARED, "data", "vader")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process that is always killed at exit (also when the test fails)."""

    def __init__(self, argv, env=None, log_path=None):
        self.log_path = log_path
        self.log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE if not log_path else self.log,
                                  stderr=self.log if log_path else subprocess.DEVNULL, start_new_session=True)

    def kill(self, sig=signal.SIGKILL):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            return self.p.wait()


def start_fake(script, *args):
    """Starts tests/fakes/SCRIPT --port 0 ARGS and returns (proc, port) once it prints READY <port>."""
    proc = Proc([sys.executable, os.path.join(FAKES, script), "--port", "0", *args],
                env=dict(os.environ, CHATTER_SHARED=SHARED))
    line = proc.p.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"{script} did not start: {line!r}")
    return proc, int(line.split()[1])


class Server:
    """`chatter serve` on a free loopback port with its own SQLite file."""

    def __init__(self, workdir, env_extra=None, args=()):
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({"DATABASE_URL": "sqlite://" + os.path.join(workdir, "chatter.db"),
                         "CHATTER_ANALYZER": "vader", "CHATTER_LOG_LEVEL": "info"})
        self.env.update(env_extra or {})
        self.args = list(args)
        self.log = os.path.join(workdir, "serve.log")
        self.proc = None

    def start(self):
        argv = [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--model-dir", VADER_DIR, *self.args]
        self.proc = Proc(argv, env=self.env, log_path=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.p.poll() is not None:
                raise RuntimeError("chatter serve exited early:\n" + self.read_log())
            try:
                if request("GET", self.base + "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("chatter serve did not become healthy:\n" + self.read_log())

    def stop(self, sig=signal.SIGTERM):
        return self.proc.kill(sig) if self.proc else None

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def call(self, method, path, body=None, headers=None, raw=None):
        return request(method, self.base + path, body, headers, raw)

    def wait_job(self, job_id, timeout=120, statuses=("done", "partial", "failed")):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, job, _ = self.call("GET", f"/api/jobs/{job_id}")
            if st == 200 and job["status"] in statuses:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s: {job}\n{self.read_log()}")


def request(method, url, body=None, headers=None, raw=None):
    """Returns (status, parsed JSON or text, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            payload, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        payload, status, hdrs = e.read(), e.code, e.headers
    ctype = hdrs.get("Content-Type", "")
    if ctype.startswith("application/json"):
        return status, json.loads(payload), hdrs
    return status, payload.decode("utf-8"), hdrs


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="chatter-test-")
        return self.path

    def __exit__(self, *exc):
        if not exc[0]:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print(f"(test files kept in {self.path})", file=sys.stderr)
        return False


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)

"""Plumbing for the scale-out tests: PostgreSQL and Redis through tests/svc.sh, and `chatter worker`
processes. Standard library only."""
import os
import shutil
import subprocess

from harness import BIN, SRC, VADER_DIR, Proc, check

SVC = os.path.join(SRC, "tests", "svc.sh")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def have_redis():
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


def have_pg():
    return os.path.exists(os.path.join(PG_BIN, "initdb")) and shutil.which("psql") is not None


class Services:
    """PostgreSQL and/or Redis (appendonly) on loopback for one test; stop() ends them."""

    def __init__(self, wd):
        self.state = os.path.join(wd, "svc")

    def _svc(self, *args):
        out = subprocess.run(["bash", SVC, args[0], self.state, *args[1:]], capture_output=True, text=True,
                             timeout=120)
        check(out.returncode == 0, f"svc.sh {' '.join(args)}: {out.stderr}")
        return out.stdout.split()

    def start_all(self):
        return self._svc("start")  # [pg_url, redis_url]

    def start_redis(self):
        return self._svc("start-redis")[0]

    def restart_pg(self, down_s=1):
        self._svc("restart-pg", str(down_s))

    def restart_redis(self, down_s=1):
        self._svc("restart-redis", str(down_s))

    def stop(self):
        subprocess.run(["bash", SVC, "stop", self.state], capture_output=True, timeout=60)


def start_worker(wd, env, name, *args):
    """`chatter worker` logging to WD/NAME.log."""
    return Proc([BIN, "worker", "--model-dir", VADER_DIR, *args], env=env, log_path=os.path.join(wd, name + ".log"))


def read_log(wd, name):
    with open(os.path.join(wd, name + ".log"), errors="replace") as f:
        return f.read()


def sweep(env, *args):
    """Runs `chatter sweep ARGS`; returns (exit code, stdout, stderr)."""
    out = subprocess.run([BIN, "sweep", *args], env=env, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr

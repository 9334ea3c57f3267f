"""`chatter model fetch` and `chatter tokenize` through the real binary: install the shared VADER files with
--from (checksums verified, CHECKSUMS written, a second run is a no-op), refuse an unknown model, and
tokenize JSON lines against the shared roberta-base files."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, SHARED, VADER_DIR  # noqa: E402


def run(args, stdin=b""):
    return subprocess.run([BIN] + args, input=stdin, capture_output=True, timeout=60)


def main():
    with tempfile.TemporaryDirectory(prefix="chatter-fetch-") as dest:
        for _ in range(2):
            r = run(["model", "fetch", "vader", "--from", VADER_DIR, "--dir", dest])
            assert r.returncode == 0, r.stderr.decode()
        sums = open(os.path.join(dest, "vader", "CHECKSUMS")).read().split("\n")
        assert "ec636f884f36b5de6a4d681b2f61c08c2ec90eeb440472033f3307d0d6fa8bc9  vader_lexicon.txt" in sums, sums
        # CHATTER_MODEL_DIR is the default destination
        env_dest = os.path.join(dest, "env")
        r = subprocess.run([BIN, "model", "fetch", "vader", "--from", VADER_DIR], capture_output=True, timeout=60,
                           env=dict(os.environ, CHATTER_MODEL_DIR=env_dest))
        assert r.returncode == 0, r.stderr.decode()
        assert os.path.isfile(os.path.join(env_dest, "vader", "vader_lexicon.txt"))

        r = run(["model", "fetch", "nosuch", "--dir", dest])
        assert r.returncode == 2 and b"unknown model" in r.stderr, r
        r = run(["model", "fetch", "roberta", "--from", VADER_DIR, "--dir", dest])
        assert r.returncode == 1 and b"config.json: not found" in r.stderr, r

    model_dir = os.path.join(SHARED, "data", "roberta-base")
    r = run(["tokenize", "--model-dir", model_dir], b'{"text": "Hello world"}\n{"text": "@bob hi"}\n')
    assert r.returncode == 0, r.stderr.decode()
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert lines[0] == {"ids": [0, 31414, 232, 2]}, lines
    r2 = run(["tokenize", "--model-dir", model_dir, "--no-preprocess"], b'{"text": "@user hi"}\n')
    assert json.loads(r2.stdout) == lines[1], (r2.stdout, lines)
    r = run(["tokenize"])
    assert r.returncode == 2, r
    print("ok")


if __name__ == "__main__":
    main()

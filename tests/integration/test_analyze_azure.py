"""`chatter analyze --analyzer azure` against tests/fakes/fake_azure.py: lines become batches of at most 10,
labels and scores are the service's (mixed -> the larger polarity), blank lines stay local, long texts are
cut to 5,120 text elements and flagged, a throttled request is retried, a wrong key fails with a message
that does not contain it, missing settings are a usage error. Also checks the fake's own 10-document limit."""
import csv
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

from harness import BIN, check, start_fake

KEY = "integration-azure-key-7f3a"


def run(args, stdin, env):
    p = subprocess.run([BIN, "analyze", "--analyzer", "azure", *args], input=stdin, capture_output=True, env=env,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as r:
        return json.loads(r.read())


def main():
    fake, port = start_fake("fake_azure.py", "--key", KEY)
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_LANGUAGE_")}
        env = dict(base, AZURE_LANGUAGE_ENDPOINT=f"http://127.0.0.1:{port}", AZURE_LANGUAGE_KEY=KEY,
                   CHATTER_HTTP_RETRIES="3")

        # the fake enforces the limit the analyzer must respect
        body = json.dumps({"kind": "SentimentAnalysis", "analysisInput": {"documents": [
            {"id": str(i), "language": "en", "text": "hi"} for i in range(11)]}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/language/:analyze-text?api-version=2023-04-01",
                                     data=body, headers={"Ocp-Apim-Subscription-Key": KEY,
                                                         "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=5)
            check(False, "11 documents were accepted")
        except urllib.error.HTTPError as e:
            check(e.code == 400 and b"InvalidDocumentBatch" in e.read(), e.code)

        kinds = [("I love this", "positive"), ("I hate this", "negative"), ("a chair", "neutral"),
                 ("love it but bad", "negative"), ("great great love but sad", "positive")]
        lines = [f"{kinds[i % 5][0]} {i}" for i in range(22)]
        lines.insert(7, "")                        # blank: neutral, not sent
        lines.append("__throttle_once__ nice")     # first request carrying it gets 429 + Retry-After: 1
        lines.append("wow " + "x" * 6000)          # 6,004 text elements: cut to 5,120
        s0 = stats(port)
        rc, out, err = run(["--format", "jsonl"], ("\n".join(lines) + "\n").encode(), env)
        check(rc == 0, f"rc {rc}: {err}")
        got = [json.loads(l) for l in out.splitlines()]
        check(len(got) == len(lines), f"{len(got)} results for {len(lines)} lines")
        want = {t: lab for t, lab in kinds}
        for line, g in zip(lines, got):
            check(g["text"] == line, (g["text"][:40], line[:40]))
            sc = g["scores"]
            check(abs(sc["negative"] + sc["neutral"] + sc["positive"] - 1) < 0.02, sc)
            if line == "":
                check(g["label"] == "neutral" and sc["neutral"] == 1 and not g["truncated"], g)
            elif line.startswith("__throttle"):
                check(g["label"] == "positive", g)
            elif line.startswith("wow "):
                check(g["label"] == "positive" and g["truncated"], {k: g[k] for k in ("label", "truncated")})
            else:
                check(g["label"] == want[line.rsplit(" ", 1)[0]] and not g["truncated"], (line, g))
        s1 = stats(port)
        sent = len(lines) - 1                      # 25 non-blank lines, one classify call of --batch 32
        check(s1["documents"]["total"] - s0.get("documents", {}).get("total", 0) == sent, s1)
        check(s1["batches"]["max"] == 10, s1)
        check(s1["documents"]["max_elements"] == 5120, s1)
        check(s1["requests"]["429"] - s0.get("requests", {}).get("429", 0) == 1, s1)
        # 3 batches of 10/10/5, plus the one throttled attempt
        check(s1["requests"]["total"] - s0["requests"]["total"] == 4, s1)

        # CSV output and a small --batch: still correct, more requests
        rc, out, err = run(["--batch", "3"], b"love\nhate\nlove hate\n", env)
        check(rc == 0, err)
        rows = list(csv.reader(io.StringIO(out, newline="")))
        check([r[1] for r in rows[1:]] == ["positive", "negative", "negative"], rows)
        check(rows[3][2:5] == ["0.480000", "0.040000", "0.480000"], rows[3])

        # wrong key: runtime failure, clear message, the key never printed
        rc, out, err = run([], b"love\n", dict(env, AZURE_LANGUAGE_KEY="wrong-key-do-not-print"))
        check(rc == 1 and "rejected the key" in err and "wrong-key-do-not-print" not in err + out, (rc, err))

        # missing settings: usage error naming the variable
        rc, _, err = run([], b"love\n", dict(base, AZURE_LANGUAGE_KEY=KEY))
        check(rc == 2 and "AZURE_LANGUAGE_ENDPOINT" in err, (rc, err))
        rc, _, err = run([], b"love\n", dict(base, AZURE_LANGUAGE_ENDPOINT=f"http://127.0.0.1:{port}"))
        check(rc == 2 and "AZURE_LANGUAGE_KEY" in err, (rc, err))
    finally:
        fake.kill()
    print("analyze azure: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

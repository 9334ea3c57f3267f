"""`chatter analyze`: lines from stdin or a file, a CSV column by name or number, CSV or JSON-lines output
whose scores match the VADER reference vectors, atomic --output, and clear errors with non-zero exits."""
import csv
import io
import json
import os
import subprocess
import sys

from harness import BIN, SHARED, VADER_DIR, Workdir, check


def run(args, stdin=b"", env=None):
    p = subprocess.run([BIN, "analyze", "--analyzer", "vader", "--model-dir", VADER_DIR, *args], input=stdin,
                       capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main():
    vectors = [json.loads(l) for l in open(os.path.join(SHARED, "data", "vader", "vectors.jsonl"), encoding="utf-8")]
    vectors = [v for v in vectors if "\n" not in v["text"] and "\r" not in v["text"] and v["text"].strip()][:200]
    with Workdir() as wd:
        # stdin, JSON lines: every line's scores equal the reference's proportions
        rc, out, err = run(["--format", "jsonl"], "\n".join(v["text"] for v in vectors).encode() + b"\n")
        check(rc == 0, f"rc {rc}: {err}")
        got = [json.loads(l) for l in out.splitlines()]
        check(len(got) == len(vectors), f"{len(got)} results for {len(vectors)} lines")
        for v, g in zip(vectors, got):
            check(g["text"] == v["text"], (g["text"], v["text"]))
            s = g["scores"]
            if v["neg"] + v["neu"] + v["pos"] > 0:
                check(abs(s["negative"] - v["neg"]) < 2e-3 and abs(s["positive"] - v["pos"]) < 2e-3,
                      f"{v['text']!r}: {s} vs {v}")
            want = "positive" if v["compound"] >= 0.05 else "negative" if v["compound"] <= -0.05 else "neutral"
            check(g["label"] == want, f"{v['text']!r}: {g['label']} != {want}")

        # a CSV column by name and by number, CSV output, formula cells neutralised
        src = os.path.join(wd, "in.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "comment"])
            w.writerow(["1", "I love this song"])
            w.writerow(["2", "=HYPERLINK(\"x\") terrible, awful"])
            w.writerow(["3", "multi\nline, a chair"])
        for col in ("comment", "2"):
            rc, out, err = run(["--csv-column", col, src])
            check(rc == 0, err)
            rows = list(csv.reader(io.StringIO(out, newline="")))
            check(rows[0] == ["text", "label", "score_negative", "score_neutral", "score_positive", "truncated"],
                  rows[0])
            check([r[1] for r in rows[1:]] == ["positive", "negative", "neutral"], rows)
            check(rows[2][0].startswith("'="), f"formula kept: {rows[2][0]!r}")
            check(rows[3][0] == "multi\nline, a chair", rows[3])

        # --output is written whole or not at all
        dst = os.path.join(wd, "out.csv")
        rc, _, _ = run(["--output", dst, src])
        check(rc == 0 and os.path.exists(dst), "output missing")
        rc, _, err = run(["--output", os.path.join(wd, "bad.csv"), "--csv-column", "nope", src])
        check(rc == 2 and "no column named 'nope'" in err, (rc, err))
        check(not os.path.exists(os.path.join(wd, "bad.csv")), "a failed run left an output file")
        check(not [f for f in os.listdir(wd) if ".tmp." in f], "temporary file left behind")

        # errors: usage 2, runtime 1, with messages
        rc, _, err = run(["--format", "xml"])
        check(rc == 2 and "--format" in err, (rc, err))
        rc, _, err = run([os.path.join(wd, "missing.txt")])
        check(rc == 1 and "cannot open" in err, (rc, err))
        rc, _, err = run(["--csv-column", "9", src])
        check(rc == 2 and "columns" in err, (rc, err))
        p = subprocess.run([BIN, "analyze", "--analyzer", "vader", "--model-dir", os.path.join(wd, "none")],
                           input=b"x\n", capture_output=True)
        check(p.returncode != 0 and b"model fetch vader" in p.stderr, p.stderr)
        p = subprocess.run([BIN, "analyze", "--analyzer", "nosuch"], input=b"x\n", capture_output=True)
        check(p.returncode == 2 and b"nosuch" in p.stderr, p.stderr)
    print("analyze cli: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())

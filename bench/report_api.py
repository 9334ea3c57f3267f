#!/usr/bin/python3
"""results.jsonl of bench_api.sh -> markdown tables: per target and test the median over rounds (and the
range), then the ratios chatter / reference, each the median of the per-round ratios (both sides of a ratio
were measured in the same round, minutes apart)."""
import json
import statistics
import sys
from collections import defaultdict

TESTS = [("status", "GET /api/jobs/{id}"), ("create", "POST /api/jobs"), ("download", "CSV 10,000 rows"),
         ("download100k", "CSV 100,000 rows, 4 conns"), ("download_c4", "CSV 10,000 rows, 4 conns")]
# which reference test a chatter test is compared with
REF_TEST = {"download100k": "download_c4"}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def value(m):
    """req/s, or rows/s for a download."""
    rps = m["wrk"]["rps"] or 0.0
    return rps * m["rows"] if m["rows"] else rps


def fmt(x, unit=""):
    if x is None:
        return "-"
    if x >= 10000:
        return f"{x / 1000:.0f}k{unit}"
    if x >= 100:
        return f"{x:.0f}{unit}"
    return f"{x:.1f}{unit}"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    rows = load(sys.argv[1])
    by = defaultdict(list)          # (target, test) -> [measurement]
    per_round = defaultdict(dict)   # round -> {(target, test): value}
    targets = []
    for m in rows:
        by[(m["target"], m["test"])].append(m)
        per_round[m["round"]][(m["target"], m["test"])] = value(m)
        if m["target"] not in targets:
            targets.append(m["target"])
    rounds = sorted(per_round)
    print(f"Medians over {len(rounds)} round(s); wrk -t2 -c32, range of req/s or rows/s in brackets.\n")
    print("| target | test | req/s | rows/s | p50 ms | p99 ms | non-2xx | CPU ours / foreign % |")
    print("|---|---|---|---|---|---|---|---|")
    for t in targets:
        for test, label in TESTS:
            ms = by.get((t, test))
            if not ms:
                continue
            rps = [m["wrk"]["rps"] for m in ms]
            vals = [value(m) for m in ms]
            rng = f" [{fmt(min(rps))}–{fmt(max(rps))}]" if len(ms) > 1 else ""
            rows_s = f"{fmt(med(vals))}" + (f" [{fmt(min(vals))}–{fmt(max(vals))}]" if len(ms) > 1 else "") \
                if ms[0]["rows"] else "-"
            non2xx = sum(m["wrk"]["non2xx"] or 0 for m in ms)
            errs = "; ".join(sorted({m["wrk"]["socket_errors"] for m in ms if m["wrk"]["socket_errors"]}))
            cpu = f"{fmt(med([m['wrk'].get('ours_pct') for m in ms]))} / " \
                  f"{fmt(med([m['wrk'].get('foreign_pct') for m in ms]))}"
            print(f"| {t} | {label} | {fmt(med(rps))}{rng} | {rows_s} | {fmt(med([m['wrk']['p50_ms'] for m in ms]))}"
                  f" | {fmt(med([m['wrk']['p99_ms'] for m in ms]))} | {non2xx}{' (' + errs + ')' if errs else ''}"
                  f" | {cpu} |")
    chatters = [t for t in targets if t.startswith("chatter")]
    refs = [t for t in targets if t.startswith("ref")]
    print("\nRatios chatter / reference (median of per-round ratios; min–max in brackets). The 100,000-row CSV"
          " (4 connections) is compared with the reference's 10,000-row CSV at 4 connections, in rows/s.\n")
    cmp_tests = [(t, lab) for t, lab in TESTS if t != "download_c4"]
    print("| chatter | reference | " + " | ".join(label for _, label in cmp_tests) + " |")
    print("|---|---|" + "---|" * len(cmp_tests))
    for c in chatters:
        for r in refs:
            cells = []
            for test, _ in cmp_tests:
                rtest = REF_TEST.get(test, test)
                ratios = [per_round[n][(c, test)] / per_round[n][(r, rtest)] for n in rounds
                          if per_round[n].get((c, test)) and per_round[n].get((r, rtest))]
                if not ratios:
                    cells.append("-")
                    continue
                rng = f" [{min(ratios):.1f}–{max(ratios):.1f}]" if len(ratios) > 1 else ""
                cells.append(f"{statistics.median(ratios):.1f}×{rng}")
            print(f"| {c} | {r} | " + " | ".join(cells) + " |")
    for c in chatters:
        p99 = med([m["wrk"]["p99_ms"] for m in by.get((c, "status"), [])])
        if p99 is not None:
            print(f"\n{c}: GET /api/jobs/{{id}} p99 = {p99:.2f} ms (target ≤ 5 ms)", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Prints the CONTENT column of the YouTube Spam Collection CSVs, one comment per line (newlines -> spaces)."""
import csv, glob, os, sys
shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CHATTER_SHARED", "../shared")
for path in sorted(glob.glob(os.path.join(shared, "data/comments/youtube_spam_collection/*.csv"))):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            t = " ".join(row["CONTENT"].splitlines()).strip()
            if t:
                print(t)

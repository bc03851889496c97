# python3 workload of the dynamic corpus (issue 13): json, re, hashlib, a
# 100,000-entry dict, file writes and reads, a generator pipeline.  Run in
# an empty directory of its own; prints results only (no timings, no
# addresses), so its output is the same wherever it runs.  argv[1]: the
# number of entries (100,000; the sanitizer builds pass less).
import hashlib
import json
import re
import sys


def numbers(n):
    x = 12345
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2147483648
        yield x


def words(seq):
    for x in seq:
        yield "w%05d" % (x % 50000)


N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000

# A 100,000-entry dict, built, probed and summarised.
d = {}
for i, x in enumerate(numbers(N)):
    d["key%06d" % i] = x % 1000003
print("dict", len(d), sum(d.values()), d["key000000"], d["key%06d" % (N - 1)])
print("probe", sum(1 for i in range(0, 2 * N, 3) if "key%06d" % i in d))

# A generator pipeline: filter, map, group by a key.
counts = {}
for w in (w for w in words(numbers(N)) if not w.endswith("7")):
    counts[w[:3]] = counts.get(w[:3], 0) + 1
print("groups", len(counts), sorted(counts.items())[:5])

# json: dump to a file, read it back, compare.
doc = {"name": "guestmm", "values": [d["key%06d" % i] for i in range(0, N, 97)],
       "nested": {"pi": 3.25, "ok": True, "none": None, "text": "\u00e9t\u00e9 \u2603"}}
with open("doc.json", "w", encoding="utf-8") as f:
    json.dump(doc, f, sort_keys=True, indent=1)
with open("doc.json", encoding="utf-8") as f:
    back = json.load(f)
print("json", back == doc, len(back["values"]), back["nested"]["text"])

# Text lines written, read back, matched with re.
with open("lines.txt", "w") as f:
    for i, x in enumerate(numbers(N // 5)):
        f.write("%d: id=%d tag=%s\n" % (i, x, "abc"[x % 3] * (1 + x % 4)))
pat = re.compile(r"^(\d+): id=(\d+) tag=(a+|bb|ccc)$")
hits = 0
total = 0
with open("lines.txt") as f:
    for line in f:
        m = pat.match(line.rstrip("\n"))
        if m:
            hits += 1
            total += int(m.group(2)) % 997
print("re", hits, total, re.sub(r"[aeiou]", "_", "libguestmm under emulation"))

# hashlib over the files and a big buffer.
h = hashlib.sha256()
with open("lines.txt", "rb") as f:
    for chunk in iter(lambda: f.read(4096), b""):
        h.update(chunk)
print("sha256", h.hexdigest())
print("md5", hashlib.md5(open("doc.json", "rb").read()).hexdigest())
print("sha1", hashlib.sha1(bytes(range(256)) * 4096).hexdigest())
sys.exit(3)

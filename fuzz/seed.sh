#!/bin/sh
# Builds the seed corpora of the fuzz targets from the fixture vectors:
# each vector's "proof" written out as a proof file (or its "proof_text"
# as is), plus the example proof, and the .ots examples of ../shared for
# ots_parse. Run from anywhere; writes fuzz/corpus/{proof_parse,verify,ots_parse}.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$here" <<'PY'
import glob, json, os, sys

fuzz = sys.argv[1]
root = os.path.dirname(fuzz)
seeds = {}
for path in sorted(glob.glob(os.path.join(root, "fixtures", "vectors", "*.json"))):
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        vector = json.load(f)
    if isinstance(vector.get("proof"), dict):
        seeds[name] = json.dumps(vector["proof"], indent=2) + "\n"
    elif "proof_text" in vector:
        seeds[name] = vector["proof_text"]
example = os.path.join(root, "fixtures", "example", "record.txt.anchor.json")
if os.path.exists(example):
    with open(example, encoding="utf-8") as f:
        seeds["example"] = f.read()
for target in ("proof_parse", "verify"):
    out = os.path.join(fuzz, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name, text in seeds.items():
        with open(os.path.join(out, "seed-" + name), "w", encoding="utf-8") as f:
            f.write(text)
print(f"{len(seeds)} seeds written to {os.path.join(fuzz, 'corpus')}/{{proof_parse,verify}}")

# .ots seeds: the OpenTimestamps examples beside the project, if present.
import shutil
examples = os.path.join(os.path.dirname(root), "shared", "data", "ots-examples")
out = os.path.join(fuzz, "corpus", "ots_parse")
os.makedirs(out, exist_ok=True)
count = 0
for path in sorted(glob.glob(os.path.join(examples, "*.ots")) + glob.glob(os.path.join(examples, "invalid", "*.ots"))):
    shutil.copy(path, os.path.join(out, "seed-" + os.path.basename(path)))
    count += 1
print(f"{count} .ots seeds written to {out}" if count else "no ../shared/data/ots-examples: ots_parse starts unseeded")
PY

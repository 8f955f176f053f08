#!/usr/bin/env bash
# Scale: stamp, anchor and upgrade N records of 1 KiB on a private regtest
# stack, with the file-system references measured in the same run:
# creating the N files, and hashing them all with sha256sum on every core.
# Prints one table: wall time and peak memory (RSS) of each step, and each
# btc-anchor step's ratio to its reference.
#
# Usage: regtest/scale.sh [N]          (default 100000; builds the release binary)
#        BTC_ANCHOR_BIN=path regtest/scale.sh 1000000
#
# The binaries go to $CARGO_TARGET_DIR (default target/); the work folder
# is removed at the end unless BTC_ANCHOR_SCALE_KEEP=1.
set -euo pipefail
n=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=${BTC_ANCHOR_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p btc-anchor-cli
    bin="$target/release/btc-anchor"
fi
cargo build --quiet --manifest-path "$root/Cargo.toml" -p btc-anchor-testenv --bin btc-anchor-regtest
regtest="$target/debug/btc-anchor-regtest"
work=$(mktemp -d)
cleanup() {
    "$regtest" stop "$work/stack" >/dev/null 2>&1 || true
    if [ -n "${BTC_ANCHOR_SCALE_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# measure NAME COMMAND...: wall seconds and peak RSS (MB) into $work/NAME.
measure() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
        echo "$name failed:" >&2
        tail -5 "$work/$name.err" >&2
        exit 1
    }
}
seconds() { cut -d' ' -f1 "$work/$1.time"; }
megabytes() { awk '{printf "%.0f", $2 / 1024}' "$work/$1.time"; }

"$regtest" start "$work/stack" >/dev/null
ELECTRUM_URL=$(sed -n 's/^ELECTRUM_URL=//p' "$work/stack/env")
export BTC_ANCHOR_DATA_DIR="$work/data" BTC_ANCHOR_NETWORK=regtest BTC_ANCHOR_ELECTRUM="$ELECTRUM_URL"
"$bin" wallet create >/dev/null
"$regtest" fund "$work/stack" "$("$bin" wallet address)" 1 >/dev/null

# Reference 1: creating the N files of 1 KiB (in folders of 1,000).
measure create python3 -c '
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "%04d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "r%07d.txt" % i), "wb") as f:
        f.write((b"record %07d " % i).ljust(1024, b"."))
' "$work/records" "$n"
# Reference 2: hashing them all with sha256sum, on every core.
measure sha256sum sh -c "find '$work/records' -type f -print0 | xargs -0 -P $(nproc) -n 2000 sha256sum >/dev/null"

measure stamp "$bin" stamp --quiet "$work/records"
measure anchor "$bin" anchor
"$regtest" mine "$work/stack" 1 >/dev/null
# By the time a block confirms, stamp's queued proofs are long on disk. A
# proof replaced before its blocks were written back costs nothing to free,
# and on a file system that discards each freed block at once (ext4
# mounted with `discard` and no journal) the difference is most of the
# upgrade: flushed first, so that the figure does not depend on writeback
# timing.
sync
measure upgrade "$bin" upgrade
grep -q "complete" "$work/upgrade.out" || { cat "$work/upgrade.out"; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
hash_and_create=$(awk -v a="$(seconds create)" -v b="$(seconds sha256sum)" 'BEGIN { print a + b }')
printf '\n%s records of 1 KiB, %s cores\n\n' "$n" "$(nproc)"
printf '| step | time | peak RSS | ratio |\n|---|---|---|---|\n'
printf '| creating the files (reference) | %s s | %s MB | |\n' "$(seconds create)" "$(megabytes create)"
printf '| sha256sum on every core (reference) | %s s | %s MB | |\n' "$(seconds sha256sum)" "$(megabytes sha256sum)"
printf '| `stamp` | %s s | %s MB | %sx (hashing + creating) |\n' "$(seconds stamp)" "$(megabytes stamp)" "$(ratio "$(seconds stamp)" "$hash_and_create")"
printf '| `anchor` | %s s | %s MB | %sx creating |\n' "$(seconds anchor)" "$(megabytes anchor)" "$(ratio "$(seconds anchor)" "$(seconds create)")"
printf '| `upgrade` | %s s | %s MB | %sx creating |\n' "$(seconds upgrade)" "$(megabytes upgrade)" "$(ratio "$(seconds upgrade)" "$(seconds create)")"

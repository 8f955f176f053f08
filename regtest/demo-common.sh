# Sourced by the demos (demo.sh, demo-log.sh): builds or finds btc-anchor
# and btc-anchor-regtest, makes the work folder, and stops the chain at the
# end (removing the work folder with BTC_ANCHOR_DEMO_CLEAN=1).
# Before sourcing, set `kept` to what the work folder holds, for the last line.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=${BTC_ANCHOR_BIN:-}
if [ -z "$bin" ]; then
    echo "building btc-anchor (release)..."
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p btc-anchor-cli
    bin="$target/release/btc-anchor"
fi
# Absolute, so that steps run from other folders find it.
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
echo "building btc-anchor-regtest..."
cargo build --quiet --manifest-path "$root/Cargo.toml" -p btc-anchor-testenv --bin btc-anchor-regtest
regtest="$target/debug/btc-anchor-regtest"
work=$(mktemp -d)
echo "work folder: $work"
cleanup() {
    "$regtest" stop "$work/stack" >/dev/null 2>&1 || true
    if [ -n "${BTC_ANCHOR_DEMO_CLEAN:-}" ]; then
        rm -rf "$work"
    else
        printf '\n%s are in %s\n' "$kept" "$work"
    fi
}
trap cleanup EXIT
start=$(date +%s)
step() { printf '\n== %s\n' "$*"; }
run() { printf '$ btc-anchor %s\n' "$*"; "$bin" "$@"; }

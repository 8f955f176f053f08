#!/usr/bin/env bash
# Usage: regtest/install.sh
#
# Installs the regtest stack used by the integration tests:
#   - bcoin 1.0.2 (npm) as the regtest full node
#   - ElectrumX (PyPI "e-x" 1.18.0 + plyvel) in a Python venv as the Electrum server
#
# Everything goes into a cache directory OUTSIDE the repository clone:
#   ${BTC_ANCHOR_REGTEST_CACHE:-$HOME/.cache/btc-anchor-regtest}
#     node/            package.json + node_modules (bcoin)
#     venv/            Python virtualenv with ElectrumX
#     stamp            versions of the last successful install
#
# Idempotent: when the stamp matches the wanted versions and the installed
# files are present, nothing is done (well under a second). Safe to run
# concurrently: a lock serialises installers sharing the same cache.
# Prints the locations of the installed tools as shell-sourceable lines.
# BTC_ANCHOR_REGTEST_QUIET=1 silences the "up to date" note on stderr.
set -euo pipefail

BCOIN_VERSION="1.0.2"
LEVELDOWN_VERSION="6.1.1"
EX_VERSION="1.18.0"

CACHE="${BTC_ANCHOR_REGTEST_CACHE:-$HOME/.cache/btc-anchor-regtest}"
NODE_DIR="$CACHE/node"
VENV="$CACHE/venv"
STAMP="$CACHE/stamp"

log() { printf 'regtest install: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v node >/dev/null 2>&1 || die "node is required (Node.js 16+)"
command -v npm >/dev/null 2>&1 || die "npm is required"
command -v python3 >/dev/null 2>&1 || die "python3 is required"

mkdir -p "$CACHE"

# The stamp records what makes a cached install (in)valid. The venv is checked
# by running its interpreter (it breaks if the base Python is removed).
node_major="$(node -p 'process.versions.node.split(".")[0]')"
want_stamp="bcoin=$BCOIN_VERSION leveldown=$LEVELDOWN_VERSION e-x=$EX_VERSION node=$node_major"

installed_ok() {
    [[ -f "$STAMP" ]] &&
        [[ "$(cat "$STAMP")" == "$want_stamp" ]] &&
        [[ -f "$NODE_DIR/node_modules/bcoin/bin/node" ]] &&
        [[ -x "$VENV/bin/electrumx_server" ]] &&
        "$VENV/bin/python" -S -c '' 2>/dev/null
}

print_locations() {
    printf 'REGTEST_CACHE=%s\n' "$CACHE"
    printf 'BCOIN_BIN=%s\n' "$NODE_DIR/node_modules/bcoin/bin/node"
    printf 'ELECTRUMX_PYTHON=%s\n' "$VENV/bin/python"
}

if installed_ok; then
    [[ -n "${BTC_ANCHOR_REGTEST_QUIET:-}" ]] || log "up to date in $CACHE"
    print_locations
    exit 0
fi

# Serialise concurrent installers (parallel test runs share the cache).
exec 9>"$CACHE/.lock"
flock 9
if installed_ok; then
    log "up to date in $CACHE (installed by a concurrent run)"
    print_locations
    exit 0
fi
rm -f "$STAMP"

# --- bcoin -----------------------------------------------------------------
log "installing bcoin $BCOIN_VERSION into $NODE_DIR"
mkdir -p "$NODE_DIR"
cat >"$NODE_DIR/package.json" <<EOF
{
  "name": "btc-anchor-regtest-node",
  "version": "0.0.0",
  "private": true,
  "description": "bcoin regtest node for btc-anchor integration tests",
  "dependencies": {
    "bcoin": "$BCOIN_VERSION"
  },
  "overrides": {
    "leveldown": "$LEVELDOWN_VERSION"
  }
}
EOF
(
    cd "$NODE_DIR"
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2
)
[[ -f "$NODE_DIR/node_modules/bcoin/bin/node" ]] || die "bcoin was not installed"
# Native add-ons are not built (--ignore-scripts): bcoin runs with NODE_BACKEND=js.
NODE_BACKEND=js node -e 'const p = process.argv[1];
    require(p); require(p + "/lib/node/fullnode"); require(p + "/lib/net/hostlist");' \
    "$NODE_DIR/node_modules/bcoin" ||
    die "bcoin does not load under node $(node --version)"

# --- ElectrumX -------------------------------------------------------------
log "installing ElectrumX (e-x $EX_VERSION) into $VENV"
if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -S -c '' 2>/dev/null; then
    log "the venv's Python no longer runs, recreating the venv"
    rm -rf "$VENV"
fi
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "e-x==$EX_VERSION" plyvel >&2
"$VENV/bin/python" -c 'import electrumx, plyvel' || die "ElectrumX does not import"

printf '%s\n' "$want_stamp" >"$STAMP"
log "done"
print_locations

#!/usr/bin/env bash
# Installs the OpenTimestamps reference implementation (PyPI `opentimestamps`
# and `opentimestamps-client`) into a cached venv, idempotently, for the
# interoperability tests. Prints OTS_PYTHON= and OTS_BIN= lines.
set -euo pipefail
cache="${BTC_ANCHOR_REGTEST_CACHE:-$HOME/.cache/btc-anchor-regtest}"
venv="$cache/ots-venv"
want="opentimestamps==0.4.5 opentimestamps-client==0.7.2"
mkdir -p "$cache"
exec 9>"$cache/ots-venv.lock"
flock 9
if [ "$(cat "$venv/stamp" 2>/dev/null || true)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want
    echo "$want" > "$venv/stamp"
fi
echo "OTS_PYTHON=$venv/bin/python"
echo "OTS_BIN=$venv/bin/ots"

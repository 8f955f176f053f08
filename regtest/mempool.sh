#!/usr/bin/env bash
# Usage: regtest/mempool.sh DIR TXID [TIMEOUT_S]
#
# Waits until TXID is in the mempool of the bcoin node of the stack in DIR
# (default timeout 10 s) and prints it. bcoin's sendrawtransaction (and so an
# Electrum blockchain.transaction.broadcast) returns the txid even when the
# node rejects the transaction, so call this after broadcasting and before
# mining. On timeout, prints bcoin's rejection reason for TXID when its log has
# one (e.g. "Verification failure: absurdly-high-fee (code=highfee ...)") and
# exits 1.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 || $# -eq 3 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
TXID="$2"
TIMEOUT="${3:-10}"
[[ "$TXID" =~ ^[0-9a-fA-F]{64}$ ]] || regtest_die "TXID must be 64 hex digits, got '$TXID'"
regtest_is_uint "$TIMEOUT" || regtest_die "TIMEOUT_S must be a whole number of seconds"
regtest_load_env "$DIR"

deadline=$((SECONDS + TIMEOUT))
while :; do
    pool="$(regtest_rpc getrawmempool)"
    if grep -qi "\"$TXID\"" <<<"$pool"; then
        echo "$TXID"
        exit 0
    fi
    ((SECONDS < deadline)) || break
    sleep 0.1
done
reason="$(grep -i "hash=$TXID" "$DIR/bcoin.log" | tail -n 1 || true)"
regtest_die "$TXID is not in the mempool after ${TIMEOUT}s${reason:+: $reason}"

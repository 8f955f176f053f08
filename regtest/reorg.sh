#!/usr/bin/env bash
# Usage: regtest/reorg.sh DIR DEPTH [remine|mempool|drop]
#
# Replaces the top DEPTH blocks of the stack in DIR with a longer branch:
# invalidates the block at height tip-DEPTH+1 (bcoin RPC invalidateblock), then
# mines DEPTH+1 new blocks to a fresh random address, so the old blocks are
# orphaned and the tip ends one block higher than before. Waits until ElectrumX
# follows (same height and block hash as bcoin's getbestblockhash).
#
# bcoin's invalidateblock drops the transactions of the disconnected blocks and
# clears the whole mempool, unlike Bitcoin Core. This script saves them first
# and, depending on the mode, puts them back:
#   remine  (default) resubmitted before mining: they confirm again in the
#           first replacement block (what a Bitcoin Core node would do)
#   mempool resubmitted after mining: they are unconfirmed, in the mempool
#   drop    the orphaned blocks' transactions are discarded (only the
#           previous mempool is restored): they vanish from the chain
# A transaction that cannot be resubmitted (e.g. it spends an orphaned coinbase)
# is reported on stderr.
#
# Prints shell-sourceable lines: OLD_TIP_HASH, NEW_TIP_HASH, HEIGHT,
# ORPHANED (space-separated hashes of the orphaned blocks, lowest first) and
# ORPHANED_TXIDS (their non-coinbase transactions).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 || $# -eq 3 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
DEPTH="$2"
MODE="${3:-remine}"
if ! regtest_is_uint "$DEPTH" || [[ "$DEPTH" -lt 1 ]]; then
    regtest_die "DEPTH must be a positive integer, got '$DEPTH'"
fi
case "$MODE" in
    remine | mempool | drop) ;;
    *) regtest_die "mode must be remine, mempool or drop, got '$MODE'" ;;
esac
regtest_load_env "$DIR"

tip="$(regtest_rpc getblockcount)"
[[ "$DEPTH" -le "$tip" ]] || regtest_die "cannot reorg $DEPTH blocks at height $tip"
old_tip_hash="$(regtest_rpc -r getbestblockhash)"

orphaned=()
for ((h = tip - DEPTH + 1; h <= tip; h++)); do
    orphaned+=("$(regtest_rpc -r getblockhash "$h")")
done

saved="$DIR/reorg-saved.json"
"$REGTEST_PY" "$REGTEST_HERE/reorg_txs.py" save "$saved" "${orphaned[@]}"
orphaned_txids="$("$REGTEST_PY" -c 'import json, sys
print(" ".join(t["txid"] for t in json.load(open(sys.argv[1]))["blocks"]))' "$saved")"

regtest_rpc invalidateblock "\"${orphaned[0]}\"" >/dev/null
now="$(regtest_rpc getblockcount)"
[[ "$now" -eq $((tip - DEPTH)) ]] ||
    regtest_die "after invalidateblock the height is $now, expected $((tip - DEPTH))"

restore() {
    local out lost
    out="$("$REGTEST_PY" "$REGTEST_HERE/reorg_txs.py" restore "$saved" "$1")"
    lost="$(sed -n 's/^NOT_RESTORED=//p' <<<"$out")"
    [[ -z "$lost" ]] || regtest_log "could not resubmit: $lost"
}

# A fresh address each time: the new blocks must differ from any invalidated one.
reorg_address="$("$REGTEST_PY" "$REGTEST_HERE/addr.py" random)"
case "$MODE" in
    remine)
        restore all
        regtest_rpc generatetoaddress "$((DEPTH + 1))" "\"$reorg_address\"" >/dev/null
        ;;
    mempool)
        regtest_rpc generatetoaddress "$((DEPTH + 1))" "\"$reorg_address\"" >/dev/null
        restore all
        ;;
    drop)
        regtest_rpc generatetoaddress "$((DEPTH + 1))" "\"$reorg_address\"" >/dev/null
        restore mempool
        ;;
esac
rm -f "$saved"
regtest_wait_electrum_synced

echo "OLD_TIP_HASH=$old_tip_hash"
echo "NEW_TIP_HASH=$(regtest_rpc -r getbestblockhash)"
echo "HEIGHT=$(regtest_rpc getblockcount)"
echo "ORPHANED=\"${orphaned[*]}\""
echo "ORPHANED_TXIDS=\"$orphaned_txids\""

#!/usr/bin/env bash
# Usage: regtest/reorg.sh DIR DEPTH
#
# Replaces the top DEPTH blocks of the stack in DIR with a longer branch:
# invalidates the block at height tip-DEPTH+1 (bcoin RPC invalidateblock), then
# mines DEPTH+1 new blocks to a fresh random address, so the old blocks are
# orphaned and the tip ends one block higher than before. Waits until ElectrumX
# follows (same height and block hash as bcoin's getbestblockhash).
#
# Like Bitcoin Core, bcoin returns the transactions of the disconnected blocks
# to its mempool, and the replacement blocks include them again: a transaction
# confirmed in an orphaned block ends up confirmed in a different block.
#
# Prints shell-sourceable lines: OLD_TIP_HASH, NEW_TIP_HASH, HEIGHT, and
# ORPHANED (space-separated hashes of the orphaned blocks, lowest first).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
DEPTH="$2"
if ! regtest_is_uint "$DEPTH" || [[ "$DEPTH" -lt 1 ]]; then
    regtest_die "DEPTH must be a positive integer, got '$DEPTH'"
fi
regtest_load_env "$DIR"

tip="$(regtest_rpc getblockcount)"
[[ "$DEPTH" -le "$tip" ]] || regtest_die "cannot reorg $DEPTH blocks at height $tip"
old_tip_hash="$(regtest_rpc -r getbestblockhash)"

orphaned=()
for ((h = tip - DEPTH + 1; h <= tip; h++)); do
    orphaned+=("$(regtest_rpc -r getblockhash "$h")")
done

regtest_rpc invalidateblock "\"${orphaned[0]}\"" >/dev/null
now="$(regtest_rpc getblockcount)"
[[ "$now" -eq $((tip - DEPTH)) ]] ||
    regtest_die "after invalidateblock the height is $now, expected $((tip - DEPTH))"

# A fresh address each time: the new blocks must differ from any invalidated one.
reorg_address="$("$REGTEST_PY" "$REGTEST_HERE/addr.py" random)"
regtest_rpc generatetoaddress "$((DEPTH + 1))" "\"$reorg_address\"" >/dev/null
regtest_wait_electrum_synced

echo "OLD_TIP_HASH=$old_tip_hash"
echo "NEW_TIP_HASH=$(regtest_rpc -r getbestblockhash)"
echo "HEIGHT=$(regtest_rpc getblockcount)"
echo "ORPHANED=\"${orphaned[*]}\""

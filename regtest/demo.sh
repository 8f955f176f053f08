#!/usr/bin/env bash
# The whole story on a private regtest chain, each step printed: start the
# stack, create and fund a wallet, stamp a sample folder, anchor it, mine a
# block, upgrade the proofs and verify them offline and online.
#
# The chain is run by btc-anchor-regtest (crates/btc-anchor-testenv), built
# here with cargo; both binaries go to $CARGO_TARGET_DIR (default target/).
#
# Usage: regtest/demo.sh            (builds the release binary first)
#        BTC_ANCHOR_BIN=path regtest/demo.sh
#        BTC_ANCHOR_DEMO_CLEAN=1 regtest/demo.sh  (removes the work folder at the end)
#
# The work folder (records, proofs, data directory) is kept so that it can
# be looked at; the chain is stopped either way.
kept="the records, their proofs and the data directory"
source "$(dirname "$0")/demo-common.sh"

step "starting a private regtest chain (bcoin + ElectrumX) in $work/stack"
"$regtest" start "$work/stack" >/dev/null
ELECTRUM_URL=$(sed -n 's/^ELECTRUM_URL=//p' "$work/stack/env")
export BTC_ANCHOR_DATA_DIR="$work/data" BTC_ANCHOR_NETWORK=regtest BTC_ANCHOR_ELECTRUM="$ELECTRUM_URL"

step "creating a wallet"
run wallet create
addr=$("$bin" wallet address)

step "funding it by mining coinbases to $addr"
"$regtest" fund "$work/stack" "$addr" 1 >/dev/null
run wallet balance

step "stamping a sample folder"
mkdir -p "$work/records/2026-11"
for i in 1 2 3 4 5; do
    printf 'Discharge summary %s, example clinic\n' "$i" > "$work/records/2026-11/summary-$i.txt"
done
printf 'Referral letter, example clinic\n' > "$work/records/referral.txt"
run stamp "$work/records"

step "anchoring the batch in one transaction"
run anchor

step "mining a block"
echo "block $("$regtest" mine "$work/stack" 1) mined"

step "upgrading the proofs"
run upgrade
run status

step "verifying every record offline, from its proof file alone"
for f in "$work/records/2026-11/"*.txt "$work/records/referral.txt"; do
    "$bin" verify "$f" --network regtest | head -1
done

step "verifying one online, against the Electrum server's best chain"
run verify "$work/records/referral.txt" --network regtest --electrum "$ELECTRUM_URL"

step "exporting it as an OpenTimestamps file"
run export --ots "$work/records/referral.txt.anchor.json"

printf '\ndone in %s s\n' "$(( $(date +%s) - start ))"

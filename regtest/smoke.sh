#!/usr/bin/env bash
# Usage: regtest/smoke.sh
#
# End-to-end self-check of the regtest tooling: installs (or reuses) bcoin and
# ElectrumX, starts two stacks side by side in temporary directories, and on
# one of them: mines, funds an address (given in bcrt1 form), checks what
# ElectrumX reports (tip height and hash, the address's balance), broadcasts a
# transaction with an OP_RETURN output through ElectrumX (and an invalid one,
# which bcoin must keep out of its mempool), confirms it, runs a depth-2 reorg
# and checks ElectrumX follows it. Finally stops both stacks and checks their
# processes are gone. Prints the time of each step and, on success,
# "regtest smoke: ok" as the last line.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R="$REGTEST_HERE"

fail() {
    echo "regtest smoke: FAILED: $*" >&2
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
step() { printf 'regtest smoke: %-40s %s\n' "$1" "$2"; }
# json EXPR JSON: evaluates a Python expression on the parsed JSON value `j`.
json() { "$REGTEST_PY" -c 'import json, sys; j = json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$2"; }
# header_hash HEX: block hash of a serialized header.
header_hash() {
    "$REGTEST_PY" -c 'import hashlib, sys
print(hashlib.sha256(hashlib.sha256(bytes.fromhex(sys.argv[1])).digest()).digest()[::-1].hex())' "$1"
}

t_all="$(now)"
t="$(now)"
"$R/install.sh" >/dev/null
step "install" "$(elapsed "$t")"
REGTEST_PY="$REGTEST_VENV_PY"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/btc-anchor-regtest-smoke.XXXXXX")"
A="$WORK/a"
B="$WORK/b"
cleanup() {
    "$R/stop.sh" "$A" >/dev/null 2>&1 || true
    "$R/stop.sh" "$B" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# Two stacks started concurrently must get distinct ports and stay independent.
t="$(now)"
"$R/start.sh" "$A" >"$WORK/start-a.out" 2>&1 &
pid_a=$!
"$R/start.sh" "$B" >"$WORK/start-b.out" 2>&1 &
pid_b=$!
wait "$pid_a" || { cat "$WORK/start-a.out" >&2; fail "start.sh $A"; }
wait "$pid_b" || { cat "$WORK/start-b.out" >&2; fail "start.sh $B"; }
step "start two stacks in parallel" "$(elapsed "$t")"

ports_a="$(grep -E '_PORT=' "$A/env" | cut -d= -f2 | sort)"
ports_b="$(grep -E '_PORT=' "$B/env" | cut -d= -f2 | sort)"
[[ -z "$(comm -12 <(echo "$ports_a") <(echo "$ports_b"))" ]] || fail "stacks share ports"

regtest_load_env "$A"
[[ "$("$R/tip.sh" "$A")" == 0 ]] || fail "fresh chain is not at height 0"

t="$(now)"
"$R/mine.sh" "$A" 1 >/dev/null
step "mine 1 block + electrum catch-up" "$(elapsed "$t")"
height="$(json 'j["height"]' "$(regtest_electrum blockchain.headers.subscribe)")"
[[ "$height" == 1 ]] || fail "electrum height $height after mining 1 block, expected 1"
[[ "$("$R/tip.sh" "$B")" == 0 ]] || fail "mining on stack A changed stack B"

# --- funding -----------------------------------------------------------------
# Coins at this address can be spent without a key (witness script OP_TRUE).
FUND_ADDRESS="$("$REGTEST_PY" "$R/optrue_tx.py" address)"
[[ "$FUND_ADDRESS" == bcrt1* ]] || fail "unexpected address $FUND_ADDRESS"
FUNDED_SAT="" FIRST_FUNDED_HEIGHT="" HEIGHT="" # set by the evals below
NEW_TIP_HASH="" OLD_TIP_HASH="" ORPHANED=""
t="$(now)"
fund_out="$("$R/fund.sh" "$A" "$FUND_ADDRESS" 1.5)"
step "fund (coinbase + maturity + segwit)" "$(elapsed "$t")"
eval "$fund_out"
[[ "$HEIGHT" -ge 432 ]] || fail "height $HEIGHT after funding, expected >= 432"
[[ "$FUNDED_SAT" -ge 150000000 ]] || fail "funded only $FUNDED_SAT sat"

tip_json="$(regtest_electrum blockchain.headers.subscribe)"
e_height="$(json 'j["height"]' "$tip_json")"
e_hash="$(header_hash "$(json 'j["hex"]' "$tip_json")")"
[[ "$e_height" == "$HEIGHT" ]] || fail "electrum tip $e_height, bcoin tip $HEIGHT"
[[ "$e_hash" == "$("$R/cli.sh" -r "$A" getbestblockhash)" ]] || fail "electrum tip hash differs from bcoin's"

scripthash="$("$REGTEST_PY" "$R/addr.py" scripthash "$FUND_ADDRESS")"
balance="$(regtest_electrum blockchain.scripthash.get_balance "\"$scripthash\"")"
confirmed="$(json 'j["confirmed"]' "$balance")"
[[ "$confirmed" -ge "$FUNDED_SAT" && "$confirmed" -gt 0 ]] ||
    fail "electrum balance of $FUND_ADDRESS is $balance, expected >= $FUNDED_SAT sat"
step "electrum balance of funded address" "$confirmed sat"

# --- a transaction with an OP_RETURN output, through ElectrumX -----------------
# A few blocks of headroom: bcoin accepts witness transactions into its mempool
# only while its tip is at height >= 432, so reorgs must not go below that.
"$R/mine.sh" "$A" 3 >/dev/null
coinbase_txid="$(json 'j["tx"][0]' "$("$R/cli.sh" "$A" getblock "\"$("$R/cli.sh" -r "$A" getblockhash "$FIRST_FUNDED_HEIGHT")\"")")"
value_sat="$(json 'round(j["value"] * 100_000_000)' "$("$R/cli.sh" "$A" gettxout "\"$coinbase_txid\"" 0)")"
data="$(printf 'btc-anchor regtest smoke' | sha256sum | cut -c1-64)"

t="$(now)"
read -r bad_txid bad_raw <<<"$("$REGTEST_PY" "$R/optrue_tx.py" spend "$coinbase_txid" 0 "$value_sat" 20000 "$data" --bad-witness)"
regtest_electrum blockchain.transaction.broadcast "\"$bad_raw\"" >/dev/null ||
    true # bcoin may or may not report the rejection: the mempool is what counts
if "$R/mempool.sh" "$A" "$bad_txid" 1 >/dev/null 2>"$WORK/bad.err"; then
    fail "an invalid transaction was accepted into the mempool"
fi
grep -q "Verification failure" "$WORK/bad.err" || fail "no rejection reason for the invalid transaction: $(cat "$WORK/bad.err")"

read -r txid raw <<<"$("$REGTEST_PY" "$R/optrue_tx.py" spend "$coinbase_txid" 0 "$value_sat" 20000 "$data")"
sent="$(json 'j' "$(regtest_electrum blockchain.transaction.broadcast "\"$raw\"")")"
[[ "$sent" == "$txid" ]] || fail "broadcast returned $sent, expected $txid"
"$R/mempool.sh" "$A" "$txid" >/dev/null
step "broadcast via electrum, tx in mempool" "$(elapsed "$t")"

mined="$(json 'j[0]' "$("$R/mine.sh" "$A" 1)")"
block="$("$R/cli.sh" "$A" getblock "\"$mined\"")"
[[ "$(json "'$txid' in j['tx']" "$block")" == True ]] || fail "transaction $txid not in mined block $mined"
tx_height="$(json 'j["height"]' "$block")"
history="$(regtest_electrum blockchain.scripthash.get_history "\"$scripthash\"")"
[[ "$(json "[h['height'] for h in j if h['tx_hash'] == '$txid']" "$history")" == "[$tx_height]" ]] ||
    fail "electrum history does not show $txid at height $tx_height: $history"
merkle="$(regtest_electrum blockchain.transaction.get_merkle "\"$txid\"" "$tx_height")"
[[ "$(json 'j["block_height"]' "$merkle")" == "$tx_height" ]] || fail "bad merkle proof: $merkle"
step "tx confirmed at height" "$tx_height"

# --- reorg ---------------------------------------------------------------------
tip_before="$("$R/tip.sh" "$A")"
t="$(now)"
reorg_out="$("$R/reorg.sh" "$A" 2)"
step "reorg depth 2 + electrum follows" "$(elapsed "$t")"
eval "$reorg_out"
[[ "$HEIGHT" -eq $((tip_before + 1)) ]] || fail "height $HEIGHT after reorg, expected $((tip_before + 1))"
[[ "$NEW_TIP_HASH" != "$OLD_TIP_HASH" ]] || fail "tip unchanged by reorg"
tip_hash="$(header_hash "$(json 'j["hex"]' "$(regtest_electrum blockchain.headers.subscribe)")")"
[[ "$tip_hash" == "$NEW_TIP_HASH" ]] || fail "electrum tip $tip_hash is not bcoin's new tip $NEW_TIP_HASH"
# The header ElectrumX serves at the first orphaned height must be the new one.
first_orphan="${ORPHANED%% *}"
hdr_hash="$(header_hash "$(json 'j' "$(regtest_electrum blockchain.block.header $((tip_before - 1)))")")"
[[ "$hdr_hash" != "$first_orphan" ]] || fail "electrum still serves orphaned block $first_orphan"
[[ "$hdr_hash" == "$("$R/cli.sh" -r "$A" getblockhash $((tip_before - 1)))" ]] ||
    fail "electrum header at $((tip_before - 1)) differs from bcoin's"
# The transaction's block was orphaned: bcoin put it back in its mempool and the
# replacement blocks confirmed it again, in the first of them.
history="$(regtest_electrum blockchain.scripthash.get_history "\"$scripthash\"")"
new_tx_height="$(json "[h['height'] for h in j if h['tx_hash'] == '$txid']" "$history")"
[[ "$new_tx_height" == "[$((tip_before - 1))]" ]] ||
    fail "after the reorg electrum shows $txid at $new_tx_height, expected [$((tip_before - 1))]"
step "tx re-confirmed after reorg at height" "$((tip_before - 1))"

# tx_heights: the heights ElectrumX's history of the funded address shows for
# $txid, e.g. "[433]", "[0]" (mempool) or "[]" (absent).
tx_heights() {
    json "[h['height'] for h in j if h['tx_hash'] == '$txid']" \
        "$(regtest_electrum blockchain.scripthash.get_history "\"$scripthash\"")"
}
# wait_tx_heights WANT: ElectrumX's mempool view lags bcoin's a little: poll.
wait_tx_heights() {
    local i got=""
    for ((i = 0; i < 100; i++)); do
        got="$(tx_heights)"
        [[ "$got" == "$1" ]] && return 0
        sleep 0.1
    done
    fail "electrum shows $txid at $got, expected $1"
}

t="$(now)"
tx_block_height=$((tip_before - 1))
reorg_depth=$(("$("$R/tip.sh" "$A")" - tx_block_height + 1))
"$R/reorg.sh" "$A" "$reorg_depth" mempool >/dev/null
"$R/mempool.sh" "$A" "$txid" >/dev/null
wait_tx_heights "[0]"
step "reorg (mempool mode): tx unconfirmed" "$(elapsed "$t")"

t="$(now)"
"$R/mine.sh" "$A" 1 >/dev/null
wait_tx_heights "[$("$R/tip.sh" "$A")]"
"$R/reorg.sh" "$A" 1 drop >/dev/null
if "$R/mempool.sh" "$A" "$txid" 0 >/dev/null 2>&1; then
    fail "reorg in drop mode left $txid in the mempool"
fi
wait_tx_heights "[]"
step "mine, reorg (drop mode): tx gone" "$(elapsed "$t")"

# --- stop ------------------------------------------------------------------------
pids="$BCOIN_PID $ELECTRUMX_PID"
# shellcheck source=/dev/null
pids="$pids $(source "$B/env" && echo "$BCOIN_PID $ELECTRUMX_PID")"
t="$(now)"
"$R/stop.sh" "$A" >/dev/null
"$R/stop.sh" "$B" >/dev/null
"$R/stop.sh" "$A" >/dev/null # idempotent
step "stop both stacks" "$(elapsed "$t")"
for pid in $pids; do
    if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
        grep -qx "BTC_ANCHOR_REGTEST_DIR=$WORK/[ab]"; then
        fail "process $pid still running after stop.sh"
    fi
done
[[ ! -e "$A/env" && ! -e "$B/env" ]] || fail "env files left behind"

step "total" "$(elapsed "$t_all")"
echo "regtest smoke: ok"

#!/usr/bin/env bash
# Usage: regtest/smoke.sh
#
# End-to-end self-check of the regtest tooling: installs (or reuses) bcoin and
# ElectrumX, starts two stacks side by side in temporary directories, mines,
# funds an address, checks what ElectrumX reports (tip height and hash, the
# funded address's balance), runs a depth-2 reorg and checks ElectrumX follows
# it, stops both stacks and checks their processes are gone. Prints the time of
# each step and, on success, "regtest smoke: ok" as the last line.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R="$REGTEST_HERE"
# A regtest P2WPKH address in Bitcoin Core/BDK form: exercises the bcrt -> rb conversion.
FUND_ADDRESS="bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

fail() {
    echo "regtest smoke: FAILED: $*" >&2
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
step() { printf 'regtest smoke: %-44s %s\n' "$1" "$2"; }

t_all="$(now)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/btc-anchor-regtest-smoke.XXXXXX")"
A="$WORK/a"
B="$WORK/b"
cleanup() {
    "$R/stop.sh" "$A" >/dev/null 2>&1 || true
    "$R/stop.sh" "$B" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

t="$(now)"
"$R/install.sh" >/dev/null
step "install" "$(elapsed "$t")"

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
height="$(regtest_electrum blockchain.headers.subscribe | "$REGTEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["height"])')"
[[ "$height" == 1 ]] || fail "electrum height $height after mining 1 block, expected 1"
[[ "$("$R/tip.sh" "$B")" == 0 ]] || fail "mining on stack A changed stack B"

t="$(now)"
FUNDED_SAT="" HEIGHT="" NEW_TIP_HASH="" OLD_TIP_HASH="" ORPHANED="" # set by eval below
fund_out="$("$R/fund.sh" "$A" "$FUND_ADDRESS" 1.5)"
step "fund (coinbase + maturity + segwit)" "$(elapsed "$t")"
eval "$fund_out"
[[ "$HEIGHT" -ge 432 ]] || fail "height $HEIGHT after funding, expected >= 432"
[[ "$FUNDED_SAT" -ge 150000000 ]] || fail "funded only $FUNDED_SAT sat"

tip_json="$(regtest_electrum blockchain.headers.subscribe)"
read -r e_height e_hash <<<"$("$REGTEST_PY" -c '
import hashlib, json, sys
t = json.loads(sys.argv[1])
h = hashlib.sha256(hashlib.sha256(bytes.fromhex(t["hex"])).digest()).digest()[::-1].hex()
print(t["height"], h)' "$tip_json")"
[[ "$e_height" == "$HEIGHT" ]] || fail "electrum tip $e_height, bcoin tip $HEIGHT"
[[ "$e_hash" == "$("$R/cli.sh" -r "$A" getbestblockhash)" ]] || fail "electrum tip hash differs from bcoin's"

scripthash="$("$REGTEST_PY" "$R/addr.py" scripthash "$FUND_ADDRESS")"
balance="$(regtest_electrum blockchain.scripthash.get_balance "\"$scripthash\"")"
confirmed="$("$REGTEST_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["confirmed"])' "$balance")"
[[ "$confirmed" -ge "$FUNDED_SAT" && "$confirmed" -gt 0 ]] ||
    fail "electrum balance of $FUND_ADDRESS is $balance, expected >= $FUNDED_SAT sat"
step "electrum balance of funded address" "$confirmed sat"

t="$(now)"
reorg_out="$("$R/reorg.sh" "$A" 2)"
step "reorg depth 2 + electrum follows" "$(elapsed "$t")"
eval "$reorg_out"
[[ "$HEIGHT" -eq $((e_height + 1)) ]] || fail "height $HEIGHT after reorg, expected $((e_height + 1))"
[[ "$NEW_TIP_HASH" != "$OLD_TIP_HASH" ]] || fail "tip unchanged by reorg"
tip_hex="$(regtest_electrum blockchain.headers.subscribe | "$REGTEST_PY" -c 'import json,sys; print(json.load(sys.stdin)["hex"])')"
tip_hash="$("$REGTEST_PY" -c '
import hashlib, sys
print(hashlib.sha256(hashlib.sha256(bytes.fromhex(sys.argv[1])).digest()).digest()[::-1].hex())' "$tip_hex")"
[[ "$tip_hash" == "$NEW_TIP_HASH" ]] || fail "electrum tip $tip_hash is not bcoin's new tip $NEW_TIP_HASH"
# The header ElectrumX serves at the first orphaned height must be the new one.
first_orphan="${ORPHANED%% *}"
hdr="$(regtest_electrum blockchain.block.header $((e_height - 1)))"
hdr_hash="$("$REGTEST_PY" -c '
import hashlib, json, sys
print(hashlib.sha256(hashlib.sha256(bytes.fromhex(json.loads(sys.argv[1]))).digest()).digest()[::-1].hex())' "$hdr")"
[[ "$hdr_hash" != "$first_orphan" ]] || fail "electrum still serves orphaned block $first_orphan"
[[ "$hdr_hash" == "$("$R/cli.sh" -r "$A" getblockhash $((e_height - 1)))" ]] ||
    fail "electrum header at $((e_height - 1)) differs from bcoin's"
balance="$(regtest_electrum blockchain.scripthash.get_balance "\"$scripthash\"")"
step "electrum balance after reorg" "$balance"

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

#!/usr/bin/env bash
# Usage: regtest/fund.sh DIR ADDRESS AMOUNT_BTC
#
# Funds ADDRESS on the stack in DIR with AT LEAST AMOUNT_BTC of spendable,
# confirmed coins, and leaves the chain at height >= 432 so that segwit is
# active (bcoin's regtest activates it only at height 432).
#
# bcoin runs without a wallet, so there is nothing to send from: instead the
# coinbases of as many blocks as needed are paid straight to ADDRESS (50 BTC
# each on a fresh chain; regtest halves the subsidy every 150 blocks), then at
# least 100 more blocks are mined to a throwaway address so those coinbases are
# mature (spendable), continuing up to height 432 if needed. ADDRESS therefore
# receives one or more coinbase outputs whose sum is >= AMOUNT_BTC (e.g. 50 BTC
# for any AMOUNT up to 50 on a fresh chain). Pending mempool transactions get
# mined too. Waits until ElectrumX has caught up.
#
# ADDRESS may be given as bcrt1... (Bitcoin Core/BDK form) or rb1... (bcoin).
# Prints shell-sourceable lines:
#   FUNDED_SAT=<sum of the coinbase subsidies paid to ADDRESS, in satoshis>
#   FUNDED_BLOCKS=<number of coinbases paid to ADDRESS>
#   FIRST_FUNDED_HEIGHT=<height of the first of them>
#   HEIGHT=<final tip height>
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 3 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
ADDRESS="$(regtest_to_rb "$2")"
AMOUNT="$3"
regtest_load_env "$DIR"

SEGWIT_HEIGHT=432
MATURITY=100

start_height="$(regtest_rpc getblockcount)"

# How many blocks from start_height+1 on must pay ADDRESS to reach AMOUNT
# (regtest subsidy: 50 BTC halved every 150 blocks).
read -r nblocks funded_sat <<<"$("$REGTEST_PY" - "$start_height" "$AMOUNT" <<'PY'
import sys
from decimal import Decimal, InvalidOperation

start, amount = int(sys.argv[1]), sys.argv[2]
try:
    want = int(Decimal(amount) * 100_000_000)
except InvalidOperation:
    sys.exit("fund.sh: AMOUNT_BTC must be a number, got %r" % amount)
if want <= 0:
    sys.exit("fund.sh: AMOUNT_BTC must be positive")
n, total, height = 0, 0, start
while total < want:
    height += 1
    n += 1
    subsidy = (50 * 100_000_000) >> (height // 150) if height // 150 < 64 else 0
    if subsidy == 0 or n > 1000:
        sys.exit("fund.sh: cannot reach %s BTC with coinbases from height %d" % (amount, start + 1))
    total += subsidy
print(n, total)
PY
)"
[[ -n "${nblocks:-}" ]] || regtest_die "could not plan the funding"

regtest_rpc generatetoaddress "$nblocks" "\"$ADDRESS\"" >/dev/null
funded_height=$((start_height + nblocks))

# Mature the coinbases, and reach segwit activation.
mature=$((funded_height + MATURITY))
target=$((mature > SEGWIT_HEIGHT ? mature : SEGWIT_HEIGHT))
regtest_rpc generatetoaddress "$((target - funded_height))" "\"$REGTEST_BURN_ADDRESS\"" >/dev/null
regtest_wait_electrum_synced

echo "FUNDED_SAT=$funded_sat"
echo "FUNDED_BLOCKS=$nblocks"
echo "FIRST_FUNDED_HEIGHT=$((start_height + 1))"
echo "HEIGHT=$(regtest_rpc getblockcount)"

#!/usr/bin/env bash
# Usage: regtest/mine.sh DIR N [ADDRESS]
#
# Mines N blocks on the stack in DIR (generatetoaddress), paying the coinbases to
# ADDRESS, or to a fixed throwaway address when ADDRESS is omitted. ADDRESS may
# be in Bitcoin Core/BDK form (bcrt1...) or bcoin form (rb1...): it is converted
# to bcoin's "rb" prefix. Pending mempool transactions are included in the
# blocks. Returns once ElectrumX reports the new tip (same height and hash as
# bcoin), so callers can rely on Electrum being caught up. Prints the new block
# hashes as a JSON array.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 || $# -eq 3 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
N="$2"
regtest_is_uint "$N" || regtest_die "N must be a non-negative integer, got '$N'"
ADDRESS="$(regtest_to_rb "${3:-$REGTEST_BURN_ADDRESS}")"
regtest_load_env "$DIR"

if [[ "$N" -gt 0 ]]; then
    regtest_rpc generatetoaddress "$N" "\"$ADDRESS\""
else
    echo "[]"
fi
regtest_wait_electrum_synced

#!/usr/bin/env bash
# Usage: regtest/tip.sh DIR
#
# Prints the current block height of the bcoin node of the stack in DIR.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
regtest_load_env "$DIR"
regtest_rpc getblockcount

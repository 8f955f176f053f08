#!/usr/bin/env bash
# Usage: regtest/cli.sh [-r] DIR METHOD [PARAMS...]
#
# JSON-RPC call to the bcoin node of the stack in DIR (see start.sh). Each
# parameter is a JSON literal: 10, true, '"a string"', '["a", 1]'. A word that
# is not valid JSON is sent as a string, so block hashes and addresses can be
# given bare (quote them as JSON when they could parse as a number).
# Prints the result as JSON (with -r, a string result is printed without
# quotes). On an RPC error prints the error message to stderr and exits 1.
#
# Examples:
#   regtest/cli.sh "$DIR" getblockcount
#   regtest/cli.sh -r "$DIR" getblockhash 0
#   regtest/cli.sh "$DIR" getrawmempool
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

raw=()
if [[ "${1:-}" == "-r" ]]; then
    raw=(-r)
    shift
fi
[[ $# -ge 2 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
shift
regtest_load_env "$DIR"
regtest_rpc "${raw[@]}" "$@"

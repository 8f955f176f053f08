# shellcheck shell=bash
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   (from the other regtest/ scripts)
#
# Shared helpers for the regtest scripts: paths, error reporting, loading a
# stack's env file, bcoin RPC and Electrum calls.

REGTEST_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REGTEST_CACHE="${BTC_ANCHOR_REGTEST_CACHE:-$HOME/.cache/btc-anchor-regtest}"
# shellcheck disable=SC2034 # used by the scripts that source this file
REGTEST_BCOIN_BIN="$REGTEST_CACHE/node/node_modules/bcoin/bin/node"
REGTEST_VENV_PY="$REGTEST_CACHE/venv/bin/python"

# Python for the small helpers (standard library only). The venv's interpreter
# is preferred once installed: it starts much faster than a version-manager shim.
if [[ -x "$REGTEST_VENV_PY" ]]; then
    REGTEST_PY="$REGTEST_VENV_PY"
else
    REGTEST_PY="python3"
fi

# Seconds to wait for ElectrumX to catch up with bcoin after mining.
REGTEST_SYNC_TIMEOUT="${BTC_ANCHOR_REGTEST_SYNC_TIMEOUT:-60}"

# Throwaway regtest address (bcoin "rb" form) that receives blocks mined when no
# address is given. Nobody is meant to spend from it.
# shellcheck disable=SC2034 # used by the scripts that source this file
REGTEST_BURN_ADDRESS="rb1qacrlt9fekjypfk7waj5s0dmvda4xxdxpm3sqan"

regtest_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
regtest_die() {
    regtest_log "error: $*"
    exit 1
}

# regtest_abs_dir DIR: prints DIR as an absolute path (DIR need not exist).
regtest_abs_dir() {
    local d="$1"
    [[ -n "$d" ]] || regtest_die "empty stack directory"
    case "$d" in
        /*) ;;
        *) d="$PWD/$d" ;;
    esac
    printf '%s\n' "${d%/}"
}

# regtest_pid_in_stack PID DIR: true when PID is alive (not a zombie) and was
# started by start.sh for DIR: its environment holds BTC_ANCHOR_REGTEST_DIR=DIR.
# (bcoin rewrites its command line, so the environment is what identifies it.)
regtest_pid_in_stack() {
    local pid="$1" dir="$2" var state
    regtest_is_uint "$pid" || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != "Z" ]] || return 1
    {
        while IFS= read -r -d '' var; do
            if [[ "$var" == "BTC_ANCHOR_REGTEST_DIR=$dir" ]]; then
                return 0
            fi
        done <"/proc/$pid/environ"
    } 2>/dev/null
    return 1
}

# regtest_load_env DIR: sources DIR/env (written by start.sh) into the shell.
regtest_load_env() {
    local dir="$1"
    [[ -f "$dir/env" ]] || regtest_die "no stack in $dir (missing $dir/env; run regtest/start.sh $dir)"
    # shellcheck source=/dev/null
    source "$dir/env"
    export BCOIN_RPC_URL BCOIN_API_KEY
}

# regtest_rpc [-r] METHOD [PARAMS...]: bcoin JSON-RPC call (needs a loaded env).
regtest_rpc() {
    "$REGTEST_PY" "$REGTEST_HERE/bcoin_rpc.py" "$@"
}

# regtest_electrum METHOD [PARAMS...]: Electrum call to the stack's ElectrumX.
regtest_electrum() {
    "$REGTEST_PY" "$REGTEST_HERE/electrum_call.py" 127.0.0.1 "$ELECTRUM_PORT" "$@"
}

# regtest_wait_electrum_synced: waits until ElectrumX's tip equals bcoin's
# (same height and block hash). Prints nothing; fails after REGTEST_SYNC_TIMEOUT.
regtest_wait_electrum_synced() {
    local height hash
    height="$(regtest_rpc getblockcount)"
    hash="$(regtest_rpc -r getbestblockhash)"
    "$REGTEST_PY" "$REGTEST_HERE/electrum_call.py" --wait-tip 127.0.0.1 "$ELECTRUM_PORT" \
        "$height" "$hash" "$REGTEST_SYNC_TIMEOUT" >/dev/null
}

# regtest_to_rb ADDRESS: bcoin form of a regtest address (bcrt1... -> rb1...).
regtest_to_rb() {
    "$REGTEST_PY" "$REGTEST_HERE/addr.py" rb "$1"
}

# regtest_is_uint VALUE: true when VALUE is a non-negative decimal integer.
regtest_is_uint() {
    [[ "$1" =~ ^[0-9]+$ ]]
}

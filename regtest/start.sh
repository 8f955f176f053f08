#!/usr/bin/env bash
# Usage: regtest/start.sh DIR
#
# Starts one independent regtest stack: a bcoin node (in memory) and an
# ElectrumX server indexing it. Everything belonging to the stack lives in DIR
# (created if missing):
#   DIR/env             shell-sourceable settings (see below), written once ready
#   DIR/bcoin.log       bcoin stdout/stderr
#   DIR/electrumx.log   ElectrumX stdout/stderr
#   DIR/*.pid           process ids (used by stop.sh)
#   DIR/electrumx/      ElectrumX database
#
# Free loopback ports are picked automatically, so several stacks can run at the
# same time in different DIRs. The processes are detached (own session) and keep
# running after this script exits; stop them with regtest/stop.sh DIR.
#
# DIR/env (also printed on stdout):
#   BCOIN_RPC_URL=http://127.0.0.1:PORT/   BCOIN_API_KEY=...   BCOIN_RPC_PORT=...
#   BCOIN_P2P_PORT=...   ELECTRUM_URL=tcp://127.0.0.1:PORT   ELECTRUM_PORT=...
#   ELECTRUMX_RPC_PORT=... (ElectrumX admin RPC)   BCOIN_PID=...   ELECTRUMX_PID=...
#
# Environment:
#   BTC_ANCHOR_REGTEST_CACHE          install cache (default ~/.cache/btc-anchor-regtest)
#   BTC_ANCHOR_REGTEST_START_TIMEOUT  seconds to wait for each service (default 60)
#   BTC_ANCHOR_REGTEST_WATCH_PID      if set, a watchdog stops the stack once that
#                                     process (e.g. a test runner) has exited
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"
TIMEOUT="${BTC_ANCHOR_REGTEST_START_TIMEOUT:-60}"
WATCH_PID="${BTC_ANCHOR_REGTEST_WATCH_PID:-}"

mkdir -p "$DIR"

# Refuse to start twice in the same DIR; clear leftovers of a dead stack.
if [[ -f "$DIR/bcoin.pid" || -f "$DIR/electrumx.pid" || -f "$DIR/env" ]]; then
    for f in bcoin.pid electrumx.pid; do
        if [[ -f "$DIR/$f" ]] && regtest_pid_in_stack "$(cat "$DIR/$f")" "$DIR"; then
            regtest_die "a stack is already running in $DIR (run regtest/stop.sh $DIR first)"
        fi
    done
    "$REGTEST_HERE/stop.sh" "$DIR" >/dev/null
fi

BTC_ANCHOR_REGTEST_QUIET=1 "$REGTEST_HERE/install.sh" >/dev/null
REGTEST_PY="$REGTEST_VENV_PY"

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ "$state" != "Z" ]]
}

# wait_until NAME PID LOG FATAL_REGEX CMD...: retries CMD (quietly) until it
# succeeds. Returns 1 on timeout, 2 if PID exited first or LOG matches
# FATAL_REGEX (ElectrumX keeps running when it cannot bind a port).
wait_until() {
    local name="$1" pid="$2" log="$3" fatal="$4" deadline
    shift 4
    deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ! pid_alive "$pid"; then
            regtest_log "$name (pid $pid) exited during start-up; last lines of $log:"
            tail -n 30 "$log" >&2 || true
            return 2
        fi
        if grep -qE "$fatal" "$log" 2>/dev/null; then
            regtest_log "$name (pid $pid) failed during start-up; last lines of $log:"
            tail -n 30 "$log" >&2 || true
            return 2
        fi
        sleep 0.1
    done
    regtest_log "$name did not become ready within ${TIMEOUT}s; last lines of $log:"
    tail -n 30 "$log" >&2 || true
    return 1
}

# Picks N distinct free TCP ports on 127.0.0.1 (bound together, then released).
free_ports() {
    "$REGTEST_PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

started_ok=0
cleanup() {
    if [[ "$started_ok" != 1 ]]; then
        "$REGTEST_HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# Minimal, explicit environment for the services: bcoin reads BCOIN_* variables
# as configuration, and ElectrumX is configured only through the environment.
# BTC_ANCHOR_REGTEST_DIR marks the processes as this stack's (checked by stop.sh;
# bcoin rewrites its command line through process.title).
BASE_ENV=(env -i "PATH=$PATH" "HOME=$HOME" "LANG=C.UTF-8" "BTC_ANCHOR_REGTEST_DIR=$DIR")

start_stack() {
    local p2p rpc eport aport key rc
    read -r p2p rpc eport aport <<<"$(free_ports 4)"
    key="$("$REGTEST_PY" -c 'import secrets; print(secrets.token_hex(16))')"

    rm -rf "$DIR/bcoin" "$DIR/electrumx"
    mkdir -p "$DIR/bcoin" "$DIR/electrumx"

    # --- bcoin ---------------------------------------------------------------
    # NODE_BACKEND=js: use the pure JavaScript crypto/hash backends, since the
    # native add-ons are not compiled (npm install --ignore-scripts).
    setsid nohup "${BASE_ENV[@]}" NODE_BACKEND=js node "$REGTEST_BCOIN_BIN" \
        --network=regtest --memory=true --prefix="$DIR/bcoin" \
        --host=127.0.0.1 --port="$p2p" --listen=true --max-inbound=8 \
        --http-host=127.0.0.1 --http-port="$rpc" --api-key="$key" \
        --no-wallet=true --log-file=false --log-level=info --workers=false \
        --index-tx=true --seeds=, \
        >"$DIR/bcoin.log" 2>&1 </dev/null &
    BCOIN_PID=$!
    echo "$BCOIN_PID" >"$DIR/bcoin.pid"

    BCOIN_RPC_URL="http://127.0.0.1:$rpc/"
    BCOIN_API_KEY="$key"
    export BCOIN_RPC_URL BCOIN_API_KEY
    rc=0
    wait_until bcoin "$BCOIN_PID" "$DIR/bcoin.log" 'EADDRINUSE' \
        regtest_rpc getblockcount || rc=$?
    [[ $rc -eq 0 ]] || return "$rc"

    # --- ElectrumX -------------------------------------------------------------
    setsid nohup "${BASE_ENV[@]}" \
        COIN=Bitcoin NET=regtest DB_ENGINE=leveldb DB_DIRECTORY="$DIR/electrumx" \
        DAEMON_URL="http://regtest:$key@127.0.0.1:$rpc/" \
        SERVICES="tcp://127.0.0.1:$eport,rpc://127.0.0.1:$aport" \
        PEER_DISCOVERY=off PEER_ANNOUNCE= ALLOW_ROOT=1 \
        DAEMON_POLL_INTERVAL_BLOCKS=200 DAEMON_POLL_INTERVAL_MEMPOOL=200 \
        CACHE_MB=64 COST_SOFT_LIMIT=0 COST_HARD_LIMIT=0 \
        LOG_LEVEL=info PYTHONUNBUFFERED=1 \
        "$REGTEST_VENV_PY" "$REGTEST_HERE/electrumx_launch.py" "$DIR" \
        >"$DIR/electrumx.log" 2>&1 </dev/null &
    ELECTRUMX_PID=$!
    echo "$ELECTRUMX_PID" >"$DIR/electrumx.pid"

    ELECTRUM_PORT="$eport"
    wait_until electrumx "$ELECTRUMX_PID" "$DIR/electrumx.log" \
        'failed to listen|terminated abnormally' regtest_electrum server.version '"btc-anchor-regtest"' '"1.4"' || rc=$?
    [[ $rc -eq 0 ]] || return "$rc"

    BCOIN_P2P_PORT="$p2p"
    BCOIN_RPC_PORT="$rpc"
    ELECTRUMX_RPC_PORT="$aport"
}

# A port picked as free can be taken by another process before the service
# binds it (parallel stacks): retry with fresh ports when a service dies early.
attempt=1
while :; do
    rc=0
    start_stack || rc=$?
    [[ $rc -eq 0 ]] && break
    "$REGTEST_HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    if [[ $rc -eq 2 && $attempt -lt 3 ]] &&
        grep -qiE 'EADDRINUSE|address already in use' "$DIR/bcoin.log" "$DIR/electrumx.log" 2>/dev/null; then
        attempt=$((attempt + 1))
        regtest_log "port clash, retrying with new ports (attempt $attempt)"
        continue
    fi
    regtest_die "could not start the regtest stack in $DIR"
done

WATCHDOG_LINE=""
if [[ -n "$WATCH_PID" ]]; then
    regtest_is_uint "$WATCH_PID" || regtest_die "BTC_ANCHOR_REGTEST_WATCH_PID must be a pid"
    # Polls the watched process; when it is gone, stops this stack.
    # shellcheck disable=SC2016
    setsid nohup "${BASE_ENV[@]}" bash -c \
        'while kill -0 "$1" 2>/dev/null && [[ -f "$2/bcoin.pid" ]]; do sleep 1; done
         [[ -f "$2/bcoin.pid" ]] && exec bash "$3" "$2"' \
        regtest-watchdog "$WATCH_PID" "$DIR" "$REGTEST_HERE/stop.sh" \
        >>"$DIR/watchdog.log" 2>&1 </dev/null &
    echo "$!" >"$DIR/watchdog.pid"
    WATCHDOG_LINE="REGTEST_WATCHDOG_PID=$!"
fi

{
    echo "BCOIN_RPC_URL=$BCOIN_RPC_URL"
    echo "BCOIN_API_KEY=$BCOIN_API_KEY"
    echo "BCOIN_RPC_PORT=$BCOIN_RPC_PORT"
    echo "BCOIN_P2P_PORT=$BCOIN_P2P_PORT"
    echo "ELECTRUM_URL=tcp://127.0.0.1:$ELECTRUM_PORT"
    echo "ELECTRUM_PORT=$ELECTRUM_PORT"
    echo "ELECTRUMX_RPC_PORT=$ELECTRUMX_RPC_PORT"
    echo "BCOIN_PID=$BCOIN_PID"
    echo "ELECTRUMX_PID=$ELECTRUMX_PID"
    [[ -z "$WATCHDOG_LINE" ]] || echo "$WATCHDOG_LINE"
} >"$DIR/env.tmp"
mv "$DIR/env.tmp" "$DIR/env"
started_ok=1
cat "$DIR/env"

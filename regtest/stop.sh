#!/usr/bin/env bash
# Usage: regtest/stop.sh DIR
#
# Stops the regtest stack started by regtest/start.sh DIR: sends TERM to each of
# its processes (ElectrumX, then bcoin, then the optional watchdog), waits up to
# 10 s, then KILLs what is left. Only PIDs recorded in DIR/*.pid whose command
# environment names DIR are signalled, so a recycled PID is never hit. Idempotent:
# stopping a stopped (or never started) stack succeeds. Logs stay in DIR; the
# env and PID files are removed.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || {
    sed -n '2,3p' "$0" >&2
    exit 2
}
DIR="$(regtest_abs_dir "$1")"

belongs_to_stack() { regtest_pid_in_stack "$1" "$DIR"; }

stop_pid() {
    local name="$1" pid="$2" i
    if ! regtest_is_uint "$pid" || [[ "$pid" -le 1 ]] || [[ "$pid" -eq $$ ]]; then
        return 0
    fi
    belongs_to_stack "$pid" || return 0
    if [[ "$name" == watchdog ]]; then
        # The watchdog leads its own process group (setsid): end its sleep too.
        kill -TERM -- "-$pid" 2>/dev/null || true
    fi
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        belongs_to_stack "$pid" || {
            echo "stopped $name (pid $pid)"
            return 0
        }
        sleep 0.1
    done
    regtest_log "$name (pid $pid) ignored TERM for 10 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        belongs_to_stack "$pid" || break
        sleep 0.1
    done
    echo "killed $name (pid $pid)"
}

[[ -d "$DIR" ]] || exit 0
for name in electrumx bcoin watchdog; do
    pidfile="$DIR/$name.pid"
    [[ -f "$pidfile" ]] || continue
    stop_pid "$name" "$(cat "$pidfile")"
    rm -f "$pidfile"
done
rm -f "$DIR/env" "$DIR/env.tmp"

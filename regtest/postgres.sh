#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for trying the calendar server on several
# instances (docs/server-api.md §12), on 127.0.0.1 only, trust
# authentication, in its own folder. Needs Debian's postgresql package.
#
# Usage: regtest/postgres.sh start DIR [PORT]   start a cluster in DIR, print BTC_ANCHOR_POSTGRES=...
#        regtest/postgres.sh stop DIR           stop it (the folder stays; remove it yourself)
#
# As root, the cluster runs as the postgres user (initdb refuses root).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n 5,6p "$0" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries: apt-get install postgresql" >&2; exit 1; }
as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
    port=${3:-55432}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as test -w "$dir" || {
        echo "the postgres user cannot reach $dir: choose a folder whose parents it may enter (e.g. under /tmp)" >&2
        exit 1
    }
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as "$bin/initdb" -D "$dir/data" --auth=trust --username=postgres --encoding=UTF8 --no-instructions >/dev/null
    fi
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/data" start >/dev/null
    echo "BTC_ANCHOR_POSTGRES='host=127.0.0.1 port=$port user=postgres dbname=postgres'"
    ;;
stop)
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    echo "stopped"
    ;;
*)
    sed -n 5,6p "$0" >&2
    exit 2
    ;;
esac

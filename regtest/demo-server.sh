#!/usr/bin/env bash
# The calendar server's story on a private regtest chain, each step printed:
# one server with one wallet; two clinics stamping through it, one with the
# stock OpenTimestamps client, one with `btc-anchor stamp --server` (no
# wallet, no data directory); one anchoring transaction for both; both
# proofs completed and verified offline against a validated headers file.
#
# Usage: regtest/demo-server.sh            (builds the release binary first)
#        BTC_ANCHOR_BIN=path regtest/demo-server.sh
#        BTC_ANCHOR_DEMO_CLEAN=1 regtest/demo-server.sh  (removes the work folder at the end)
#
# Everything listens on 127.0.0.1 only. The stock client comes from
# regtest/ots-venv.sh (installed on first use). Binaries go to
# $CARGO_TARGET_DIR (default target/).
kept="the server's data directory and both clinics' folders"
source "$(dirname "$0")/demo-common.sh"
eval "$(bash "$root/regtest/ots-venv.sh")"
server_pid=
stop_server() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; }
trap 'stop_server; cleanup' EXIT

step "starting a private regtest chain (bcoin + ElectrumX) in $work/stack"
"$regtest" start "$work/stack" >/dev/null
ELECTRUM_URL=$(sed -n 's/^ELECTRUM_URL=//p' "$work/stack/env")

step "the calendar's data directory: a funded wallet, a batch every 5 s"
export BTC_ANCHOR_NETWORK=regtest
data="$work/calendar"
mkdir -p "$data" && chmod 700 "$data"
printf 'anchor_interval_secs = 5\npoll_interval_secs = 1\n' > "$data/server.toml"
BTC_ANCHOR_DATA_DIR="$data" run wallet create >/dev/null
"$regtest" fund "$work/stack" "$(BTC_ANCHOR_DATA_DIR="$data" "$bin" wallet address)" 1 >/dev/null
BTC_ANCHOR_DATA_DIR="$data" BTC_ANCHOR_ELECTRUM="$ELECTRUM_URL" run wallet balance

step "btc-anchor serve (127.0.0.1, a free port)"
printf '$ btc-anchor serve --listen 127.0.0.1:0\n'
BTC_ANCHOR_DATA_DIR="$data" BTC_ANCHOR_ELECTRUM="$ELECTRUM_URL" \
    "$bin" serve --listen 127.0.0.1:0 --log-level warn > "$work/serve.out" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "listening on $url"
status() { curl -s -H 'Accept: application/json' "$url/"; echo; }
for _ in $(seq 100); do status | grep -q '"accepting":true' && break; sleep 0.2; done
status

step "clinic A stamps a lab report with the stock OpenTimestamps client"
mkdir -p "$work/clinic-a" && cd "$work/clinic-a"
echo "lab report 2026-12-03, sample 4411" > report.txt
printf '$ ots stamp -c %s -m 1 report.txt\n' "$url"
"$OTS_BIN" --no-cache stamp -c "$url" -m 1 report.txt
"$OTS_BIN" info report.txt.ots | sed 's/^/  /'

step "clinic B stamps a folder through the server: no wallet, no data directory"
mkdir -p "$work/clinic-b/records" && cd "$work/clinic-b"
for i in 1 2 3; do echo "discharge summary $i" > "records/summary-$i.txt"; done
export BTC_ANCHOR_SERVER="$url"
BTC_ANCHOR_DATA_DIR="$work/clinic-b/no-data-dir" run stamp records
test ! -e "$work/clinic-b/no-data-dir"

step "waiting for the server's batch: one transaction for both clinics"
for _ in $(seq 150); do status | grep -q '"txs_waiting_for_confirmation":1' && break; sleep 0.2; done
status
printf '$ ots upgrade report.txt.ots   (still pending: fails)\n'
(cd "$work/clinic-a" && "$OTS_BIN" --no-cache -l "$url" upgrade report.txt.ots) || echo "  (exit $?: pending, as expected)"

step "one block mined"
echo "block $("$regtest" mine "$work/stack" 1) mined"
for _ in $(seq 150); do status | grep -q '"txs_waiting_for_confirmation":0' && break; sleep 0.2; done

step "both clinics complete their proofs from the server"
(cd "$work/clinic-a" && printf '$ ots upgrade report.txt.ots\n' && "$OTS_BIN" --no-cache -l "$url" upgrade report.txt.ots)
BTC_ANCHOR_DATA_DIR="$work/clinic-b/no-data-dir" run upgrade --server "$url" records

step "verified offline against a validated headers file"
stop_server
run headers sync --electrum "$ELECTRUM_URL" --out "$work/regtest.headers" >/dev/null
run verify "$work/clinic-a/report.txt" --proof "$work/clinic-a/report.txt.ots" --headers "$work/regtest.headers"
run verify "$work/clinic-b/records/summary-1.txt" --headers "$work/regtest.headers"
run verify "$work/clinic-b/records" --headers "$work/regtest.headers"

printf '\ndone in %s s\n' $(($(date +%s) - start))

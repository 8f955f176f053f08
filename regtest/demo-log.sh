#!/usr/bin/env bash
# The audit log's whole story on a private regtest chain, each step printed:
# a log of 10,000 record events (some from FHIR AuditEvent resources), a
# beacon, checkpoints anchored twice on a seal chain, the proof of one
# event, and the offline audit, which then catches a tampered tile.
#
# Usage: regtest/demo-log.sh            (builds the release binary first)
#        BTC_ANCHOR_BIN=path regtest/demo-log.sh
#        BTC_ANCHOR_DEMO_CLEAN=1 regtest/demo-log.sh  (removes the work folder at the end)
#
# Binaries go to $CARGO_TARGET_DIR (default target/). The work folder (the
# log, its data directory) is kept so that it can be looked at; the chain
# is stopped either way.
kept="the log and its data directory"
source "$(dirname "$0")/demo-common.sh"
log="$work/audit"

step "starting a private regtest chain (bcoin + ElectrumX) in $work/stack"
"$regtest" start "$work/stack" >/dev/null
ELECTRUM_URL=$(sed -n 's/^ELECTRUM_URL=//p' "$work/stack/env")
export BTC_ANCHOR_DATA_DIR="$work/data" BTC_ANCHOR_NETWORK=regtest BTC_ANCHOR_ELECTRUM="$ELECTRUM_URL"

step "a data directory that chains its anchors on a seal, with a funded wallet"
mkdir -p "$work/data" && chmod 700 "$work/data"
printf 'seal_chain = true\n' > "$work/data/config.toml"
run wallet create >/dev/null
"$regtest" fund "$work/stack" "$("$bin" wallet address)" 1 >/dev/null
run wallet balance

step "creating the log"
run log init "$log" --origin clinic.example/audit
vkey=$("$bin" log vkey "$log")

step "a beacon: the tip of a validated headers file (later events come after that block)"
run headers sync --electrum "$ELECTRUM_URL" --out "$work/regtest.headers" >/dev/null
run log beacon "$log" --headers "$work/regtest.headers"

step "appending 9,990 events as JSON lines, and 10 FHIR AuditEvents"
kinds=(create read read amend export read consent-grant read amend read)
for i in $(seq 0 9989); do
    printf '{"kind":"%s","record":"MRN %05d","actor":"staff-%02d"}\n' "${kinds[$((i % 10))]}" $((i % 700)) $((i % 23))
done > "$work/events.jsonl"
run log append "$log" --events "$work/events.jsonl"
fhir=()
for f in r4-read r4-export r4-create-identifiers r4-no-action r5-update r5-delete-patient-only r4-read r5-update r4-export r4-read; do
    fhir+=(--fhir-audit-event "$root/fixtures/fhir/$f.json")
done
run log append "$log" "${fhir[@]}"

step "checkpoint, and its first anchor: the genesis of the seal chain"
run log checkpoint "$log"
run stamp "$log/public/checkpoints" --quiet
run anchor
echo "block $("$regtest" mine "$work/stack" 1) mined"
run upgrade

step "more events, a second checkpoint and anchor, spending the first one's seal"
for i in $(seq 0 99); do
    printf '{"kind":"read","record":"MRN %05d","actor":"staff-07"}\n' "$i"
done > "$work/more.jsonl"
run log append "$log" --events "$work/more.jsonl"
run log checkpoint "$log"
run stamp "$log/public/checkpoints" --quiet
run anchor
echo "block $("$regtest" mine "$work/stack" 1) mined"
run upgrade

first=$(ls "$log/public/checkpoints" | grep -v anchor | sort -n | head -1)
# The genesis: the first anchor's txid (its transaction, stored without
# witness, hashed twice) and output 1.
genesis=$(python3 -c "import hashlib,json,sys; t=bytes.fromhex(json.load(open(sys.argv[1]))['anchor']['tx']); print(hashlib.sha256(hashlib.sha256(t).digest()).digest()[::-1].hex() + ':1')" "$log/public/checkpoints/$first.anchor.json")

step "the proof of event 42, disclosed (the record and actor stay salted)"
run log prove "$log" 42 --disclose --out "$work/event-42.tlog-proof"
head -3 "$work/event-42.tlog-proof"

step "the offline audit of the published folder"
run log audit "$log/public" --vkey "$vkey" --network regtest --seal-genesis "$genesis"

step "one byte of a tile changed: the audit names it"
cp -r "$log/public" "$work/tampered"
tile=$(ls "$work/tampered/tile/0/" | head -1)
printf '\x00' | dd of="$work/tampered/tile/0/$tile" bs=1 seek=7 conv=notrunc status=none
if "$bin" log audit "$work/tampered" --vkey "$vkey" --network regtest; then
    echo "the tampered log passed the audit" >&2
    exit 1
fi

printf '\ndone in %s s\n' "$(( $(date +%s) - start ))"

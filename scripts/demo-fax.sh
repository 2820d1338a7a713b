#!/usr/bin/env bash
# Shows the WaveFax driver without hardware: a local mosquitto (if none listens on
# 127.0.0.1:1883), `telbridge-sim fax` on 127.0.0.1:8082, and the agent with one [[wavefax]]
# server pointing at it. Sends a two-document fax from the "cloud" (one document by URL from
# the simulator's document host, one inline), a fax to a busy number, receives a fax (metadata
# and file chunks on the broker), acknowledges it, and prints what reaches the broker.
# Set DEMO_ONCE=1 to exit after the scripted part instead of waiting for Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_mosquitto
SITE=demo-fax
demo_init

demo_broker

demo_sim fax 8082 --step-ms 700

cat > "$work/telbridge.toml" <<TOML
[agent]
id = "$SITE"
[store]
path = "$work/telbridge.db"
[http]
listen = "127.0.0.1:8080"
[[wavefax]]
name = "fax1"
url = "http://127.0.0.1:8082"
user = "ops"
password = "ops"
area_code = "20"
utc_offset_minutes = 0
poll_out_secs = 1
poll_in_secs = 2
delete_after_ack = true
chunk_bytes = 4096
TOML

# Chunk payloads are long: show their first 160 characters only.
echo "== subscriber: mosquitto_sub -v -t 'telbridge/v1/$SITE/#' (fax.file chunks cut at 160 characters)"
mosquitto_sub -h 127.0.0.1 -p 1883 -v -q 1 -t "telbridge/v1/$SITE/#" \
    > >(tee "$work/broker.log" | sed -u -E '/fax\.file /s/^(.{160}).+/\1…/; s/^/  [broker] /') &
pids+=($!)
sleep 0.5
demo_agent "$work/telbridge.toml"
sleep 1

cmd() { demo_cmd wavefax/fax1 "$@"; }
echo "== the cloud's document store gets quote.pdf"
printf '%%PDF-1.4 a quote for Li Lei\n' | curl -s --data-binary @- http://127.0.0.1:8082/sim/docs/quote.pdf >/dev/null
note=$(printf 'Please sign and fax back.' | base64 -w0)
cmd '{"id":"demo-fax-1","cmd":"fax.send","args":{"to":"87057352","subject":"Quote","recipient":"Li Lei","documents":[{"url":"http://127.0.0.1:8082/docs/quote.pdf"},{"data":"'"$note"'","filename":"note.txt"}]}}' 6
cmd '{"id":"demo-fax-2","cmd":"fax.send","args":{"to":"+852 2222 2444","documents":[{"data":"'"$note"'","filename":"note.txt"}]}}' 6
echo "== a fax arrives at the server"
file=$(head -c 10000 /dev/zero | tr '\0' 'F' | base64 -w0)
curl -s -d '{"from":"+85222222222","pages":1,"data":"'"$file"'"}' http://127.0.0.1:8082/sim/infax >/dev/null
sleep 4
# The cloud takes the file id from fax.received, reassembles the chunks, then acknowledges.
file_id=$(grep '/fax.received ' "$work/broker.log" | grep -o '"file_id":"[^"]*"' | head -1 | cut -d'"' -f4 || true)
if [ -n "$file_id" ]; then
    cmd '{"id":"demo-ack-1","cmd":"fax.file.ack","args":{"file_id":"'"$file_id"'"}}' 2
else
    echo "== no fax.received seen yet; the fax stays on the server until it is acknowledged"
fi

demo_finish "curl -d '{\"from\":\"+862087000000\",\"data\":\"aGVsbG8=\"}' http://127.0.0.1:8082/sim/infax"

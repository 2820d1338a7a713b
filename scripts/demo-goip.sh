#!/usr/bin/env bash
# Shows the GoIP driver without hardware: a local mosquitto (if none listens on
# 127.0.0.1:1883), `telbridge-sim goip` on 127.0.0.1:8081 (secure session, AES-ECB bodies),
# and the agent with one [[goip]] device pointing at it. Sends an SMS from the "cloud",
# delivers an SMS to a SIM, switches a SIM slot, and prints what reaches the broker.
# Set DEMO_ONCE=1 to exit after the scripted part instead of waiting for Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_mosquitto
SITE=demo-goip
demo_init

demo_broker

demo_sim goip 8081 --session-only --send-interval-ms 300

cat > "$work/telbridge.toml" <<TOML
[agent]
id = "$SITE"
[store]
path = "$work/telbridge.db"
[http]
listen = "127.0.0.1:8080"
[[goip]]
name = "gw1"
url = "http://127.0.0.1:8081"
username = "admin"
password = "admin"
auth = "session"
cipher = "aes-ecb"
sr_cnt = 1
TOML

demo_subscribe "telbridge/v1/$SITE/#"
demo_agent "$work/telbridge.toml"
sleep 1

cmd() { demo_cmd goip/gw1 "$@"; }
cmd '{"id":"demo-send-1","cmd":"sms.send","args":{"to":["13800000001","13800000666"],"text":"hello from telbridge"}}' 2
echo "== a message arrives at SIM 1A"
curl -s -d '{"port":"1A","from":"10010","text":"你好, telbridge"}' http://127.0.0.1:8081/sim/sms >/dev/null
sleep 1
cmd '{"id":"demo-switch-1","cmd":"device.command","args":{"op":"switch","ports":"2B"}}'
cmd '{"id":"demo-stats-1","cmd":"device.stats","args":{"kind":"sms","ports":"1-2"}}'

demo_finish "curl -d '{\"port\":\"3C\",\"from\":\"10086\",\"text\":\"hi\"}' http://127.0.0.1:8081/sim/sms"

#!/usr/bin/env bash
# Shows telbridge doing its main job on this machine, with nothing else installed:
# starts a local mosquitto broker (if none listens on 127.0.0.1:1883), runs the agent with
# config/telbridge.example.toml (store in ./data), subscribes to the agent's topics and
# prints what arrives, posts events through the local ingress, sends a command, and
# stops the broker for a moment to show store-and-forward.
# Set DEMO_ONCE=1 to exit after the scripted part instead of waiting for Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_mosquitto
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
CONFIG=config/telbridge.example.toml
TOPICS="telbridge/v1/demo-site/#"
TOKEN="change-me"
demo_init

start_broker() {
    printf 'user root\nlistener 1883 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n' "$work" > "$work/mosquitto.conf"
    "$MOSQUITTO" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
    broker_pid=$!
    pids+=("$broker_pid")
    for _ in $(seq 50); do port_open 1883 && return 0; sleep 0.1; done
    echo "mosquitto did not start; see $work/mosquitto.log" >&2
    exit 1
}

own_broker=0
if port_open 1883; then
    echo "== using the MQTT broker already listening on 127.0.0.1:1883"
else
    echo "== starting mosquitto on 127.0.0.1:1883"
    start_broker
    own_broker=1
fi

demo_build
"$bin/telbridge" check-config -c "$CONFIG"

demo_subscribe "$TOPICS" -c -i telbridge-demo-sub
demo_agent "$CONFIG"

post() {
    echo "== POST /v1/events $1"
    curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "$1" http://127.0.0.1:8080/v1/events | sed 's/^/  [reply]  /'
    echo
}
post '{"source":"pbx/main","type":"cdr.new","data":{"caller":"+8613800000000","secs":42}}'
post '[{"source":"app/meter","type":"reading","data":{"kwh":1.5},"class":"telemetry"},{"source":"app/meter","type":"reading","data":{"kwh":1.6},"class":"telemetry"}]'
sleep 0.5

echo "== command: agent.ping via telbridge/v1/demo-site/cmd/agent"
mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t telbridge/v1/demo-site/cmd/agent -m '{"id":"demo-1","cmd":"agent.ping"}'
sleep 1

if [ "$own_broker" = 1 ]; then
    echo "== stopping the broker: the agent keeps accepting and buffers in ./data"
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true
    post '{"source":"pbx/main","type":"cdr.new","data":{"caller":"+8613900000000","secs":7,"note":"sent while the uplink was down"}}'
    echo "  store depth: $(curl -s http://127.0.0.1:8080/metrics | grep '^telbridge_store_rows')"
    echo "== starting the broker again: the buffered event is forwarded"
    start_broker
    sleep 3
fi

echo "== /metrics (excerpt)"
curl -s http://127.0.0.1:8080/metrics | grep -E '^telbridge_(events_in|events_out|store_rows|mqtt_connected)' | sed 's/^/  /'
if [ "${DEMO_ONCE:-0}" != 1 ]; then
    echo "== running; post your own events with:"
    echo "   curl -H 'Authorization: Bearer $TOKEN' -d '{\"source\":\"app/x\",\"type\":\"hello\"}' http://127.0.0.1:8080/v1/events"
    echo "   Ctrl-C stops everything."
    wait "$agent_pid"
fi
echo "== stopping the agent (SIGTERM): it flushes, publishes offline and exits"
kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
sleep 0.5

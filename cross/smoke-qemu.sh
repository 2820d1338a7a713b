#!/usr/bin/env bash
# cross/smoke-qemu.sh TARGET... — runs the cross-built release binary (cross/build.sh) under
# qemu-user: --version, check-config on the example, and one end-to-end relay of an event
# from the HTTP ingress to a mosquitto broker on loopback, seen by a subscriber.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. cross/env.sh
ensure_mosquitto
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ $# -gt 0 ] || set -- "${CROSS_TARGETS[@]}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for target in "$@"; do
    qemu=$(qemu_for "$target")
    bin="$CARGO_TARGET_DIR/$target/release/telbridge"
    [ -x "$bin" ] || { echo "$bin missing: run cross/build.sh $target" >&2; exit 1; }
    work=$(mktemp -d)
    mqtt=$(free_port); http=$(free_port)
    echo "== $target under $qemu"
    "$qemu" "$bin" --version
    "$qemu" "$bin" check-config -c config/telbridge.example.toml
    printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt" > "$work/m.conf"
    "$MOSQUITTO" -c "$work/m.conf" >"$work/m.log" 2>&1 &
    broker=$!
    sed -e "s/^port = 1883/port = $mqtt/" -e "s/127.0.0.1:8080/127.0.0.1:$http/" \
        -e "s|data/telbridge.db|$work/store.db|" -e 's/^id = "demo-site"/id = "smoke"/' \
        config/telbridge.example.toml > "$work/t.toml"
    sleep 0.5
    timeout 30 mosquitto_sub -p "$mqtt" -t 'telbridge/v1/smoke/evt/app/smoke/#' -C 1 >"$work/sub.out" &
    sub=$!
    "$qemu" "$bin" run -c "$work/t.toml" >"$work/agent.log" 2>&1 &
    agent=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break; sleep 0.2; done
    curl -sf -H 'Authorization: Bearer change-me' -d '{"source":"app/smoke","type":"hello","data":{"target":"'"$target"'"}}' \
        "http://127.0.0.1:$http/v1/events" >/dev/null
    if wait "$sub" && grep -q "\"target\":\"$target\"" "$work/sub.out"; then
        echo "relayed: $(cat "$work/sub.out")"
        ok=1
    else
        echo "NOT relayed; agent log:"; cat "$work/agent.log"; ok=0
    fi
    kill -TERM "$agent"; wait "$agent" || true
    kill "$broker"; wait "$broker" 2>/dev/null || true
    rm -rf "$work"
    [ "$ok" = 1 ] || exit 1
done

#!/usr/bin/env bash
# Measures the WaveFax inbound path with the release binaries: N faxes of SIZE bytes are
# delivered to `telbridge-sim fax`, the agent polls them, spools them and relays metadata +
# chunks to a private mosquitto; the script waits until every chunk reached a subscriber and
# prints the time, the rate, and the agent's RSS (idle, and peak from /proc). Loopback only.
# Usage: benches/fax.sh [N=20] [SIZE=200000]; BENCH_AGENT=<another agent binary, e.g. the
# static musl one cross/build.sh makes> measures that one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_mosquitto
N=${1:-20}
SIZE=${2:-200000}
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
demo_init
cargo build --quiet --release --bins

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT=$(free_port); HTTP=$(free_port); SIM=$(free_port)
printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' "$MQTT" > "$work/m.conf"
"$MOSQUITTO" -c "$work/m.conf" >"$work/m.log" 2>&1 & pids+=($!)
./target/release/telbridge-sim fax --listen "127.0.0.1:$SIM" >"$work/sim.log" 2>&1 & pids+=($!)
wait_port "$MQTT"; wait_port "$SIM"
mosquitto_sub -h 127.0.0.1 -p "$MQTT" -q 1 -t 'telbridge/v1/bench-fax/evt/wavefax/fax1/fax.file' >"$work/chunks.log" & pids+=($!)
cat > "$work/t.toml" <<TOML
[agent]
id = "bench-fax"
log_level = "warn"
[mqtt]
port = $MQTT
[store]
path = "$work/t.db"
[http]
listen = "127.0.0.1:$HTTP"
[[wavefax]]
name = "fax1"
url = "http://127.0.0.1:$SIM"
user = "ops"
password = "ops"
utc_offset_minutes = 0
poll_in_secs = 1
TOML
"${BENCH_AGENT:-./target/release/telbridge}" run -c "$work/t.toml" >"$work/agent.log" 2>&1 & agent=$!; pids+=($agent)
wait_port "$HTTP"; sleep 1.5
rss() { awk '/VmRSS/ {print $2}' "/proc/$agent/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$agent/status"; }
idle=$(rss)
chunk=98304
per=$(( (SIZE + chunk - 1) / chunk ))
payload=$(head -c "$SIZE" /dev/urandom | base64 -w0)
start=$(date +%s.%N)
for _ in $(seq "$N"); do
    printf '{"data":"%s"}' "$payload" | curl -sf -X POST --data-binary @- "http://127.0.0.1:$SIM/sim/infax" >/dev/null
done
want=$((N * per))
while [ "$(wc -l < "$work/chunks.log")" -lt "$want" ]; do sleep 0.05; done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$N" -v size="$SIZE" -v per="$per" 'BEGIN {
    t = e - s
    printf "faxes: %d x %d bytes (%d chunks each), all chunks on the broker in %.2f s\n", n, size, per, t
    printf "rate: %.1f faxes/s, %.2f MB/s of fax data (includes up to 1 s of poll interval)\n", n / t, n * size / t / 1e6
}'
printf 'agent RSS: idle %d KB, now %d KB, peak %d KB\n' "$idle" "$(rss)" "$(hwm)"

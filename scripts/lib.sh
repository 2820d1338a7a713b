# Shared helpers for the scripts in this folder (sourced, not run).

# apt-get install with retries: this machine kind's apt may delete downloaded .deb files
# between dpkg runs ("failed to read archive"); `dpkg --configure -a` and a retry mend it.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    for attempt in 1 2 3; do
        if $sudo apt-get install -y -qq --no-install-recommends "$@"; then
            return 0
        fi
        echo "apt-get install failed (attempt $attempt); retrying" >&2
        $sudo dpkg --configure -a || true
        $sudo apt-get update -qq || true
        sleep 2
    done
    return 1
}

# What the tests need beside cargo: mosquitto and its clients (tests, demo), openssl (the
# TLS tests' certificates), systemd-analyze (the unit's verification), curl (demo, smoke).
ensure_mosquitto() {
    if { command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; } \
        && command -v mosquitto_sub >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 \
        && command -v systemd-analyze >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    apt_install mosquitto mosquitto-clients openssl systemd curl
}

# For tests/silent_link.rs: nft drops a namespace's packets silently (a link that dies
# without a reset). The test skips itself when nft is missing.
ensure_nftables() {
    if command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ]; then
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    apt_install nftables
}

# For tests of SSH tunnels (tests/common/sshd.rs): a real OpenSSH server, which each test
# starts itself on a port of its own, and the client with ssh-keygen. The system service is
# not wanted: Debian's package enables and starts it, so it is disabled and stopped again
# (with systemd, or through the init script without it). The tests skip without sshd.
ensure_sshd() {
    if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    apt_install openssh-server openssh-client
    if command -v systemctl >/dev/null 2>&1; then
        $sudo systemctl disable --now ssh 2>/dev/null || true
        $sudo systemctl disable --now ssh.socket 2>/dev/null || true
    fi
    if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/ssh ]; then
        $sudo /etc/init.d/ssh stop >/dev/null 2>&1 || true
    fi
}

# For the demos: a scratch dir in $work, background pids in $pids (killed on exit), and
# port helpers.
demo_init() {
    work=$(mktemp -d)
    pids=()
    trap demo_cleanup EXIT
}
demo_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
# Starts a private mosquitto on 127.0.0.1:1883 unless one listens there already.
demo_broker() {
    port_open 1883 && return 0
    echo "== starting mosquitto on 127.0.0.1:1883"
    printf 'user root\nlistener 1883 127.0.0.1\nallow_anonymous true\n' > "$work/mosquitto.conf"
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
    pids+=($!)
    wait_port 1883
}
# Builds the debug binaries (the agent and telbridge-sim) into $bin, unless
# TELBRIDGE_BIN_DIR names a folder that holds them built already (tests/demos.rs passes the
# ones `cargo test` built: a `cargo build` there would build the dependencies again without
# the dev-dependencies' features, minutes on a busy machine).
demo_build() {
    if [ -n "${TELBRIDGE_BIN_DIR:-}" ]; then
        bin=$TELBRIDGE_BIN_DIR
        echo "== using the binaries in $bin"
    else
        bin=./target/debug
        echo "== building telbridge and telbridge-sim"
        cargo build --quiet --bins
    fi
}
# Builds both binaries and starts `telbridge-sim KIND` on 127.0.0.1:PORT with the rest of the
# arguments (log in $work/sim.log): demo_sim KIND PORT [OPTIONS…]
demo_sim() {
    local kind=$1 port=$2
    shift 2
    demo_build
    echo "== simulator: telbridge-sim $kind --listen 127.0.0.1:$port $*"
    "$bin/telbridge-sim" "$kind" --listen "127.0.0.1:$port" "$@" >"$work/sim.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 100); do port_open "$1" && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }
# Prints what reaches the broker under the topic filter $1, prefixed, in the background;
# further arguments go to mosquitto_sub.
demo_subscribe() {
    echo "== subscriber: mosquitto_sub -v -t '$1'"
    # The subscriber itself is the background job (its output goes through sed in a process
    # substitution), so the clean-up kills it, not only a pipeline's last command.
    mosquitto_sub -h 127.0.0.1 -p 1883 -v -q 1 "${@:2}" -t "$1" > >(sed -u 's/^/  [broker] /') &
    pids+=($!)
    sleep 0.5
}
# Runs the agent built by demo_build with config $1 in the background (log in $work/agent.log), sets
# $agent_pid, and waits until its ingress answers.
demo_agent() {
    echo "== agent: telbridge run -c $1 (log in $work/agent.log)"
    "$bin/telbridge" run -c "$1" >"$work/agent.log" 2>&1 &
    agent_pid=$!
    pids+=("$agent_pid")
    for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
}

# Publishes command $2 to target $1 of the demo site ($SITE), then waits ${3:-1} s.
demo_cmd() {
    echo "== command $2"
    mosquitto_pub -h 127.0.0.1 -p 1883 -q 1 -t "telbridge/v1/$SITE/cmd/$1" -m "$2"
    sleep "${3:-1}"
}

# Ends a demo: with DEMO_ONCE=1 at once, else after Ctrl-C (printing the hint lines $@
# first); the agent gets SIGTERM and is waited for.
demo_finish() {
    if [ "${DEMO_ONCE:-0}" != 1 ]; then
        echo "== running; Ctrl-C stops everything. Try:"
        printf '   %s\n' "$@"
        wait "$agent_pid"
    fi
    kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
}

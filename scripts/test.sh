#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and end-to-end tests against real brokers
# (mosquitto as a child process, rumqttd in-process) and the real agent binary.
# Installs mosquitto from Debian's packages if it is missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_mosquitto
cargo test --locked "$@"

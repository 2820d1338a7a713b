#!/usr/bin/env bash
# cross/test-qemu.sh TARGET... — builds the crate's whole test suite for each target and
# runs it under qemu-user: unit tests, and the end-to-end tests, whose agent processes
# are started through qemu too (TELBRIDGE_TEST_EXEC_WRAPPER). Brokers (mosquitto,
# rumqttd in the test process) and openssl are the host's / the target's as built.
# Run cross/setup-debian.sh once first; mosquitto must be installed (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. cross/env.sh
ensure_mosquitto
[ $# -gt 0 ] || set -- "${CROSS_TARGETS[@]}"
for target in "$@"; do
    echo "== $target: tests under $(qemu_for "$target")"
    TELBRIDGE_TEST_EXEC_WRAPPER="$(qemu_for "$target")" \
        cargo-zigbuild test --locked --config cross/musl.toml --target "$target" -Zbuild-std
done

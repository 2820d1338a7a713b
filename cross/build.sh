#!/usr/bin/env bash
# cross/build.sh TARGET... — stripped, static release builds of the agent (and the
# simulators), e.g. for armv7-unknown-linux-musleabihf, aarch64-unknown-linux-musl,
# mipsel-unknown-linux-musl. Prints each agent binary's size and checks the budget.
# TELBRIDGE_FEATURES="wavefax" (or "goip", or "") builds only those drivers: a smaller binary
# for a site that uses only them. TELBRIDGE_OPT_LEVEL=3 builds for speed instead of size
# (~40 % fewer instructions per event, ~40 % more bytes: README, "Measured"); the size budgets
# are then only reported, not enforced. Run cross/setup-debian.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
[ $# -gt 0 ] || set -- "${CROSS_TARGETS[@]}"
status=0
opt_level="${TELBRIDGE_OPT_LEVEL:-z}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt_level"
features=()
[ -z "${TELBRIDGE_FEATURES+set}" ] || features=(--no-default-features --features "$TELBRIDGE_FEATURES")
for target in "$@"; do
    cargo-zigbuild zigbuild --locked --config cross/musl.toml --release --target "$target" \
        -Zbuild-std=std,panic_abort -p telbridge --bin telbridge "${features[@]}"
    bin="$CARGO_TARGET_DIR/$target/release/telbridge"
    size=$(stat -c %s "$bin")
    case "$target" in
        # 5.5 MB and 8.5 MB since the built-in SSH tunnel (README, "Sizes"); MIPS code is
        # ~50 % larger than ARM.
        armv7-*) budget=5500000 ;;
        mipsel-*|mips-*) budget=8500000 ;;
        # x86-64 boxes, and the static build the benches measure natively (README, "Measured").
        x86_64-*) budget=7000000 ;;
        *) budget=5000000 ;;
    esac
    verdict="within budget ($budget)"
    if [ "$opt_level" != z ]; then
        verdict="opt-level $opt_level: the size budget ($budget) is not applied"
    elif [ "$size" -gt "$budget" ]; then
        verdict="OVER budget ($budget)"
        status=1
    fi
    printf '%-36s %10d bytes  %s  %s\n' "$target" "$size" "$verdict" "$(file -b "$bin" | cut -d, -f1-2)"
done
exit $status

#!/usr/bin/env bash
# Installs the cross-build toolchain on a Debian/Ubuntu machine, without Docker:
#   - Debian's rustc-web/cargo-web 1.96 with rust-web-src, so std can be rebuilt for
#     tier-3 targets (MIPS) with -Zbuild-std;
#   - zig (PyPI package `ziglang`, pinned) as the C compiler and linker for static musl
#     binaries, driven by cargo-zigbuild (crates.io, pinned);
#   - qemu-user to run the results.
# Idempotent: re-running it checks and skips what is there. Tools go to cross/.tools.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. cross/env.sh

ZIGLANG_VERSION=0.14.1
CARGO_ZIGBUILD_VERSION=0.24.1

need_apt=()
for pkg in rustc-web cargo-web rust-web-src qemu-user python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    apt_install "${need_apt[@]}"
fi

if [ ! -x "$CROSS_TOOLS/venv/bin/python3" ]; then
    python3 -m venv "$CROSS_TOOLS/venv"
fi
if ! "$CROSS_TOOLS/venv/bin/python3" -m ziglang version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
    "$CROSS_TOOLS/venv/bin/pip" install --quiet "ziglang==$ZIGLANG_VERSION"
fi

if ! "$CROSS_TOOLS/bin/cargo-zigbuild" --version 2>/dev/null | grep -q "$CARGO_ZIGBUILD_VERSION"; then
    # Built with the host toolchain (rustup's cargo), into cross/.tools/bin.
    env -u RUSTC -u RUSTDOC -u CARGO -u RUSTC_BOOTSTRAP PATH="$HOST_PATH" \
        cargo install --quiet --locked "cargo-zigbuild@$CARGO_ZIGBUILD_VERSION" --root "$CROSS_TOOLS"
fi

echo "rustc: $(rustc --version)"
echo "zig:   $("$CROSS_TOOLS/venv/bin/python3" -m ziglang version)"
echo "cargo-zigbuild: $(cargo-zigbuild --version)"
echo "qemu:  $(qemu-mipsel --version | head -1)"

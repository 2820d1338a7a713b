# Sourced by the cross scripts: the environment for building with Debian's rustc-web
# (-Zbuild-std) and zig, kept apart from the host build (own target dir).
CROSS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CROSS_TOOLS="$CROSS_ROOT/.tools"
HOST_PATH="$PATH"
export PATH="$CROSS_TOOLS/venv/bin:$CROSS_TOOLS/bin:/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CROSS_TARGET_DIR:-$CROSS_ROOT/../target/cross}"
export CROSS_TOOLS HOST_PATH
# The musl targets this project ships.
CROSS_TARGETS=(armv7-unknown-linux-musleabihf aarch64-unknown-linux-musl mipsel-unknown-linux-musl)
# Also works: mips-unknown-linux-musl (big-endian MIPS routers).

# The qemu-user binary for a target triple.
qemu_for() {
    case "$1" in
        armv7-*) echo qemu-arm ;;
        aarch64-*) echo qemu-aarch64 ;;
        mipsel-*) echo qemu-mipsel ;;
        mips-*) echo qemu-mips ;;
        *) echo "no qemu for $1" >&2; return 1 ;;
    esac
}

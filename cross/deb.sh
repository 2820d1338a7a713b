#!/usr/bin/env bash
# cross/deb.sh TARGET — a .deb (Raspberry Pi OS / Debian) around the static binary built
# by cross/build.sh TARGET: /usr/bin/telbridge, /etc/telbridge/telbridge.toml (a conffile),
# the systemd unit, the docs; postinst creates the `telbridge` user. Needs cargo-deb
# (`cargo install --locked cargo-deb --root cross/.tools`).
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
target=${1:?usage: cross/deb.sh TARGET}
case "$target" in
    armv7-*) arch=armhf ;;
    aarch64-*) arch=arm64 ;;
    mipsel-*) arch=mipsel ;;
    x86_64-*) arch=amd64 ;;
    *) echo "no Debian architecture for $target" >&2; exit 1 ;;
esac
[ -x "$CARGO_TARGET_DIR/$target/release/telbridge" ] || bash cross/build.sh "$target"
env -u RUSTC -u RUSTDOC -u CARGO -u RUSTC_BOOTSTRAP PATH="$CROSS_TOOLS/bin:$HOST_PATH" \
    cargo deb --no-build --no-strip --target "$target" --output "$CARGO_TARGET_DIR/deb/"
ls -l "$CARGO_TARGET_DIR"/deb/*"$arch".deb

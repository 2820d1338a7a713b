#!/usr/bin/env bash
# cross/sign.sh KEY BINARY VERSION [TARGET] — the signed manifest of a release binary for
# agent.update (docs/update.md). Prints JSON {"manifest","signature"}; with the URL where the
# binary is served, that is the command's args. TARGET defaults to the one the binary was
# built for (read from its ELF header: mipsel-linux-musl, arm-linux-musl, …).
# Keys: `telbridge keygen --key signing.pk8` (keep it off the build machine; the public key
# printed goes into [update] public_keys). Any telbridge of this version can sign: it runs
# the host's build (target/release/telbridge, or $TELBRIDGE).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: cross/sign.sh KEY BINARY VERSION [TARGET]" >&2; exit 2; }
key=$1 bin=$2 version=$3 target=${4:-}
tool=${TELBRIDGE:-target/release/telbridge}
[ -x "$tool" ] || cargo build --release -p telbridge --bin telbridge >&2
if [ -z "$target" ]; then
    # e_ident[EI_CLASS, EI_DATA] and e_machine, as the agent checks them.
    head=$(od -An -tu1 -j4 -N2 "$bin" | tr -s ' ')
    mach=$(od -An -tu1 -j18 -N2 "$bin" | tr -s ' ')
    case "$head|$mach" in
        " 2 1| 62 0") target=x86_64-linux-musl ;;
        " 1 1| 40 0") target=arm-linux-musl ;;
        " 2 1| 183 0") target=aarch64-linux-musl ;;
        " 1 1| 8 0") target=mipsel-linux-musl ;;
        " 1 2| 0 8") target=mips-linux-musl ;;
        *) echo "cross/sign.sh: cannot tell the target of $bin ($head|$mach): pass it" >&2; exit 2 ;;
    esac
fi
exec "$tool" sign --key "$key" --file "$bin" --version "$version" --target "$target"

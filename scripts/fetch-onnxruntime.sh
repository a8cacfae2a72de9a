#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that src/inference loads at run time into
# .cache/onnxruntime/$VERSION/. It comes from the onnxruntime wheel on PyPI, the one registry
# reachable here that ships it. Idempotent: does nothing when the library is present with the
# recorded checksum. Atomic: unpacks into a temporary folder beside the target, then renames.
set -euo pipefail

VERSION=1.31.1
LIB="libonnxruntime.so.$VERSION"
# sha256 of $LIB inside the wheel for the platform below; change it together with VERSION.
SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/onnxruntime"
dest="$cache/$VERSION/$LIB"

if [[ -f "$dest" ]] && echo "$SHA256  $dest" | sha256sum --check --status; then
    exit 0
fi

# The wheel's library does not depend on the Python version; pinning the wheel's tags (rather
# than taking whatever matches the local python3) keeps the checksum stable on every machine.
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=manylinux_2_28_x86_64 ;;
    *) echo "fetch-onnxruntime: no recorded ONNX Runtime build for $(uname -s)-$(uname -m); set ORT_DYLIB_PATH instead" >&2
       exit 1 ;;
esac

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-onnxruntime: downloading onnxruntime==$VERSION ($platform) from PyPI" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$platform" \
    --implementation cp --python-version 3.11 "onnxruntime==$VERSION" -d "$tmp"
# python3's zipfile rather than unzip, which is not on every machine.
python3 - "$tmp"/onnxruntime-"$VERSION"-*.whl "onnxruntime/capi/$LIB" "$tmp/$LIB" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF

if ! echo "$SHA256  $tmp/$LIB" | sha256sum --check --status; then
    echo "fetch-onnxruntime: $LIB from the wheel does not have the recorded sha256 $SHA256" >&2
    exit 1
fi
mkdir -p "$(dirname "$dest")"
mv -f "$tmp/$LIB" "$dest"
echo "fetch-onnxruntime: installed $dest" >&2

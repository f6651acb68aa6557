#!/usr/bin/env bash
# Fetches Debian's unmodified i386 Linux (the newest linux-image-6.1.*-686-unsigned the registry
# has) and a static busybox from Debian's package registry, and unpacks them into DIR (default
# tests/linux/debian, which git ignores). Nothing is committed: tests that need these files look
# for DIR/versions.txt and skip with a reason when it is missing.
#
#   tests/linux/fetch-debian.sh [DIR]
set -euo pipefail
dir=${1:-$(dirname "$0")/debian}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  dpkg --add-architecture i386
fi
apt-get update -qq

# The newest ABI of the 6.1 686 (non-PAE) flavour, pinned by writing what was found.
kernel=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-686-unsigned$' | awk '{print $1}' | sort -V | tail -1)
[ -n "$kernel" ] || { echo "fetch-debian: no linux-image-6.1.0-*-686-unsigned in the registry" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$kernel:i386" "busybox-static:i386" >/dev/null 2>&1) \
  || { echo "fetch-debian: apt-get download $kernel:i386 busybox-static:i386 failed" >&2; exit 1; }
rm -rf "$dir/root"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$dir/root"
done
vmlinuz=$(ls "$dir"/root/boot/vmlinuz-* | head -1)
cp "$vmlinuz" "$dir/vmlinuz"
cp "$dir/root/bin/busybox" "$dir/busybox"
rm -rf "$dir/root"
{
  echo "kernel $kernel $(dpkg-deb -f "$work"/linux-image-*.deb Version)"
  echo "busybox busybox-static $(dpkg-deb -f "$work"/busybox-static*.deb Version)"
} > "$dir/versions.txt"
cat "$dir/versions.txt"

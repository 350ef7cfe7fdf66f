#!/usr/bin/env bash
# Builds a minimal Debian trixie chroot holding erofs-utils 1.8 and e2fsprogs 1.47, the newer
# oracles the tests run beside bookworm's tools. Needs root and debootstrap. Idempotent.
# Usage: tools/setup-trixie-chroot.sh [DIR]   (default: $TRIXIE_ROOT or /var/cache/fstools/trixie)
set -euo pipefail
dir=${1:-${TRIXIE_ROOT:-/var/cache/fstools/trixie}}
if [ -x "$dir/usr/bin/fsck.erofs" ] && [ -x "$dir/usr/bin/mkfs.erofs" ]; then
  echo "trixie chroot ready at $dir"; exit 0
fi
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
tmp="$dir.tmp.$$"
rm -rf "$tmp"; mkdir -p "$(dirname "$dir")"
debootstrap --variant=minbase --include=erofs-utils,e2fsprogs trixie "$tmp" "$mirror" >&2
rm -rf "$dir"; mv "$tmp" "$dir"
echo "trixie chroot ready at $dir"

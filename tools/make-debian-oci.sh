#!/usr/bin/env bash
# Builds a real Debian image of a few hundred MB for fsmerge's CI test and benchmark, cached
# outside the repository (never commit it). Needs root, debootstrap, the Debian mirror, and the
# built workspace (npx tsc -b) for tools/oci-fixture.mjs. Idempotent: exits at once when built.
#
# Layers, each the upper dir of a kernel overlayfs mount, turned into OCI form the way image
# builders do (char 0:0 -> .wh.NAME, trusted.overlay.opaque=y -> .wh..wh..opq):
#   L0  debootstrap --variant=minbase bookworm
#   L1  apt-get install of a compiler, python3, perl, git, curl (hundreds of MB)
#   L2  deletes docs and a package, replaces a directory (opaque), rewrites files, hard links
# Output (default $FSTOOLS_CACHE or /var/cache/fstools, then debian-oci/):
#   L0.tar L1.tar L2.tar  uncompressed layer tars
#   oci-plain/            OCI layout, uncompressed layers
#   oci-gzip/             OCI layout, gzip layers
#   docker-save.tar       Docker 25-style save of the gzip image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FSTOOLS_CACHE:-/var/cache/fstools}
out=${1:-$cache/debian-oci}
if [ -f "$out/.complete" ]; then echo "debian image ready at $out"; exit 0; fi
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
work="$out.tmp.$$"
mounts=()
cleanup() {
  for ((i=${#mounts[@]}-1; i>=0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"
export SOURCE_DATE_EPOCH=1700000000

debootstrap --variant=minbase bookworm "$work/l0" "$mirror" >&2

# An overlay over the given lower dirs (top first) with a fresh upper; chroot-ready.
stack() { # name lower
  mkdir -p "$work/$1.up" "$work/$1.work" "$work/$1.root"
  mount -t overlay overlay -o "lowerdir=$2,upperdir=$work/$1.up,workdir=$work/$1.work" "$work/$1.root"; mounts+=("$work/$1.root")
  mount --bind /proc "$work/$1.root/proc"; mounts+=("$work/$1.root/proc")
  mount --bind /dev "$work/$1.root/dev"; mounts+=("$work/$1.root/dev")
}
unstack() { # name
  umount "$work/$1.root/dev" "$work/$1.root/proc" "$work/$1.root"
}

# An overlayfs upper dir as an OCI layer tar.
layer_tar() { # upperdir out.tar
  local up=$1
  find "$up" -type c | while read -r f; do
    if [ "$(stat -c '%t:%T' "$f")" = "0:0" ]; then rm "$f"; : > "$(dirname "$f")/.wh.$(basename "$f")"; fi
  done
  # "y" marks an opaque directory; since Linux 6.7 "x" only says "may hold whiteouts".
  { getfattr -R -P --absolute-names -e text -n trusted.overlay.opaque "$up" 2>/dev/null || true; } | awk '/^# file: /{f=substr($0, 9)} /^trusted.overlay.opaque="y"/{print f}' | while read -r d; do
    : > "$d/.wh..wh..opq"
  done
  for a in trusted.overlay.opaque trusted.overlay.origin trusted.overlay.impure trusted.overlay.redirect; do
    { getfattr -R -P --absolute-names -n $a "$up" 2>/dev/null || true; } | awk '/^# file: /{print substr($0, 9)}' | while read -r f; do setfattr -x $a "$f" 2>/dev/null || true; done
  done
  tar --format=pax --numeric-owner --xattrs --xattrs-include='security.*' --xattrs-include='user.*' --sort=name -C "$up" -cf "$2" .
}

layer_tar "$work/l0" "$work/L0.tar"

stack l1 "$work/l0"
cp /etc/resolv.conf "$work/l1.root/etc/resolv.conf"
chroot "$work/l1.root" apt-get update >&2
DEBIAN_FRONTEND=noninteractive chroot "$work/l1.root" apt-get install -y --no-install-recommends gcc libc6-dev python3 perl git curl ca-certificates iputils-ping >&2
chroot "$work/l1.root" apt-get clean
rm -rf "$work/l1.root/var/lib/apt/lists/"* "$work/l1.root/etc/resolv.conf"
unstack l1
layer_tar "$work/l1.up" "$work/L1.tar"

stack l2 "$work/l1.up:$work/l0"
r="$work/l2.root"
rm -rf "$r/usr/share/doc/"*                                   # whiteouts
rm -rf "$r/usr/share/locale" && mkdir -p "$r/usr/share/locale/C" && echo C > "$r/usr/share/locale/C/README"   # opaque dir
DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get purge -y curl >&2 || true
echo "fsmerge test image" > "$r/etc/motd"                    # replaced file
ln -f "$r/usr/bin/perl" "$r/usr/local/bin/perl-link"           # hard link to a lower file
rm -f "$r/usr/bin/git-shell" && ln -s git "$r/usr/bin/git-shell"   # file replaced by symlink
unstack l2
layer_tar "$work/l2.up" "$work/L2.tar"

for c in none gzip; do
  cat > "$work/spec-$c.json" <<JSON
{ "ref": "debian-fsmerge:latest", "platform": "linux/amd64",
  "layers": [ { "tar": "L0.tar", "compression": "$c" }, { "tar": "L1.tar", "compression": "$c" }, { "tar": "L2.tar", "compression": "$c" } ] }
JSON
done
node "$here/oci-fixture.mjs" "$work/spec-none.json" "$work/oci-plain" --format oci >&2
node "$here/oci-fixture.mjs" "$work/spec-gzip.json" "$work/oci-gzip" --format oci "$work/docker-save.tar" --format docker25 >&2   # layers gzipped once

rm -rf "$out"; mkdir -p "$out"
mv "$work/L0.tar" "$work/L1.tar" "$work/L2.tar" "$work/oci-plain" "$work/oci-gzip" "$work/docker-save.tar" "$out/"
du -sh "$out"/* >&2
touch "$out/.complete"
echo "debian image ready at $out"

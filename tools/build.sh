#!/usr/bin/env bash
# Builds (or locates) the real binaries the integration tests drive: terraform,
# a consul agent, and the two Terraform providers, laid out as a provider
# filesystem mirror so `terraform init` never needs the network.
#
# Usage: bash tools/build.sh [--print-env]
#   --print-env  progress goes to stderr; stdout is the env.sh content, so
#                `eval "$(bash tools/build.sh --print-env)"` works.
#
# Idempotent: everything is cached under $CDKTF_CONSUL_MESH_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/cdktf-consul-mesh) and keyed by version plus the
# wrapper module's go.sum/go.mod, so a bump rebuilds and a repeat run is instant.
set -euo pipefail

print_env=false
case "${1:-}" in
  "") ;;
  --print-env) print_env=true ;;
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "usage: bash tools/build.sh [--print-env]" >&2; exit 2 ;;
esac
exec 3>&1
if $print_env; then exec 1>&2; fi

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
terraform_fallback=1.5.7
refusal_ttl_min=60
# terraform and consul phone home for update checks unless told not to.
export CHECKPOINT_DISABLE=1

mkdir -p "$cache/bin" "$cache/keys" "$cache/mirror" "$cache/plugin-cache" "$cache/refused" "$cache/path"
# Parallel jest workers may all call this at once; serialise them.
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock"
  flock 9
fi

started=$EPOCHREALTIME
step_t=$started
step() { step_t=$EPOCHREALTIME; step_name=$1; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
done_step() { echo "tools: $step_name ... $1 ($(since "$step_t"))"; }
note() { echo "tools: $step_name ... $1"; }

# Missing files (a wrapper without go.sum) simply hash as absent.
sha() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -c1-16; }
# Go's errors quote the proxy URL; keep hosts out of anything we print or store.
redact() { sed -E 's#[a-z]+://[^/ ]+#<GOPROXY>#g'; }
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
# Module version required by a wrapper go.mod, without the leading "v".
required_version() { awk -v m="$2" '$1 == m || ($1 == "require" && $2 == m) { v = ($1 == m) ? $2 : $3 } END { sub(/^v/, "", v); print v }' "$1/go.mod"; }
need_go() { command -v go >/dev/null || { echo "go toolchain not found on PATH"; return 1; }; }

case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;;
esac
platform="$(uname -s | tr '[:upper:]' '[:lower:]')_$arch"

# No `direct` block: providers come from the mirror or not at all.
cat >"$cache/terraformrc" <<EOF
plugin_cache_dir = "$cache/plugin-cache"
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path = "$cache/mirror"
  }
}
EOF
# Also for our own `terraform version`, which warns about an unreadable config.
export TF_CLI_CONFIG_FILE="$cache/terraformrc"

# --- terraform ---------------------------------------------------------------
tf_json= tf_path=
# Prefer a terraform on PATH, ignoring our own $cache/path symlink so a
# terraform installed later is picked up instead of a stale cached build.
for candidate in $(type -ap terraform); do
  [[ $candidate == "$cache"/* ]] && continue
  tf_path=$candidate; break
done
if [[ -n $tf_path ]]; then
  step "terraform (PATH)"
  tf_version=$("$tf_path" version | awk 'NR == 1 { sub(/^v/, "", $2); print $2 }')
  done_step "found $tf_path v$tf_version"
else
  tf_version=$terraform_fallback
  tf_path="$cache/bin/terraform-$tf_version"
  step "terraform $tf_version"
  if [[ -x $tf_path ]]; then
    done_step cached
  else
    note "building (go install, a few minutes cold)"
    gobin=$(mktemp -d "$cache/bin/.gobin.XXXXXX")
    if need_go && GOBIN=$gobin go install -trimpath "github.com/hashicorp/terraform@v$tf_version"; then
      mv "$gobin/terraform" "$tf_path"
      done_step built
    else
      tf_path=
      done_step FAILED
    fi
    rm -rf "$gobin"
  fi
fi
if [[ -n $tf_path ]]; then
  tf_json="{\"path\": $(json_str "$tf_path"), \"version\": $(json_str "$tf_version")}"
else
  tf_json="{\"missing\": $(json_str "go install github.com/hashicorp/terraform@v$tf_version failed; rerun bash tools/build.sh for the error")}"
fi

# --- consul ------------------------------------------------------------------
consul_version=$(required_version "$tools_dir/consul" github.com/hashicorp/consul)
consul_path="$cache/bin/consul-$consul_version"
# Static (CGO off): the same binary serves the host tests and a FROM-scratch image.
consul_key="static-$(sha "$tools_dir/consul/go.sum")"
consul_keyfile="$cache/keys/consul-$consul_version"
step "consul $consul_version"
if [[ -x $consul_path && $(cat "$consul_keyfile" 2>/dev/null) == "$consul_key" ]]; then
  done_step cached
else
  note "building (several minutes cold)"
  if need_go && (cd "$tools_dir/consul" && CGO_ENABLED=0 go build -trimpath -o "$consul_path.tmp" github.com/hashicorp/consul); then
    mv "$consul_path.tmp" "$consul_path"
    echo "$consul_key" >"$consul_keyfile"
    done_step built
  else
    rm -f "$consul_path.tmp"
    consul_path=
    done_step FAILED
  fi
fi
if [[ -n $consul_path ]]; then
  consul_json="{\"path\": $(json_str "$consul_path"), \"version\": $(json_str "$consul_version")}"
else
  consul_json="{\"missing\": $(json_str "building github.com/hashicorp/consul v$consul_version from tools/consul failed; rerun bash tools/build.sh for the error")}"
fi

# --- providers -----------------------------------------------------------------
# provider address, version, wrapper dir, Go package path
providers=(
  "hashicorp/consul 2.22.1 provider-consul github.com/hashicorp/terraform-provider-consul"
  "kreuzwerker/docker 3.6.2 provider-docker github.com/terraform-providers/terraform-provider-docker"
)
provider_json=()
for spec in "${providers[@]}"; do
  read -r addr version dir pkg <<<"$spec"
  type=${addr#*/}
  dest="$cache/mirror/registry.terraform.io/$addr/$version/$platform/terraform-provider-${type}_v$version"
  key=$(sha "$tools_dir/$dir/go.mod" "$tools_dir/$dir/go.sum")
  # Keys live outside the mirror: terraform treats every file in a provider's
  # mirror directory as part of the package.
  keyfile="$cache/keys/${addr//\//_}-$version"
  refusal="$cache/refused/${addr//\//_}-$key"
  missing=
  step "provider $addr $version"
  if [[ -x $dest && $(cat "$keyfile" 2>/dev/null) == "$key" ]]; then
    done_step cached
  elif [[ -n $(find "$refusal" -mmin -"$refusal_ttl_min" 2>/dev/null) ]]; then
    missing=$(<"$refusal")
    done_step "unavailable (refusal cached for ${refusal_ttl_min}m): $missing"
  else
    rm -f "$refusal"
    note building
    build_dir=$(mktemp -d "$cache/bin/.provider.XXXXXX")
    # Wrappers carry no go.sum (the proxy has never served them), so let go
    # resolve and record requirements: -mod=mod.
    if out=$(need_go && cd "$tools_dir/$dir" && go build -mod=mod -trimpath -o "$build_dir/provider" "$pkg" 2>&1); then
      mkdir -p "$(dirname "$dest")"
      # Copied, not linked: the mirror must outlive build_dir and stand alone.
      cp "$build_dir/provider" "$dest"
      # -mod=mod may have just written go.mod/go.sum, so key on the result.
      sha "$tools_dir/$dir/go.mod" "$tools_dir/$dir/go.sum" >"$keyfile"
      done_step built
    else
      answer=$(grep -m1 -E '403|not available' <<<"$out" | redact || true)
      if [[ -n $answer ]]; then
        # go prints the proxy's reason on the following line; keep it.
        reason=$(grep -m1 -o 'server response: .*' <<<"$out" | redact || true)
        missing="module proxy refused: $answer${reason:+ ($reason)}"
        echo "$missing" >"$refusal"
        done_step "unavailable: $missing"
      else
        # A real build failure: show it all, but don't cache it.
        redact <<<"$out" >&2
        missing="building $pkg from tools/$dir failed: $(tail -n1 <<<"$out" | redact)"
        done_step FAILED
      fi
    fi
    rm -rf "$build_dir"
  fi
  if [[ -z $missing ]]; then
    provider_json+=("$(json_str "$addr"): {\"path\": $(json_str "$dest"), \"version\": $(json_str "$version")}")
  else
    provider_json+=("$(json_str "$addr"): {\"missing\": $(json_str "$missing")}")
  fi
done

# --- status.json and env.sh ------------------------------------------------------
{
  echo "{"
  echo "  \"terraform\": $tf_json,"
  echo "  \"consul\": $consul_json,"
  echo "  \"providers\": {"
  for i in "${!provider_json[@]}"; do
    sep=,; (( i == ${#provider_json[@]} - 1 )) && sep=
    echo "    ${provider_json[$i]}$sep"
  done
  echo "  }"
  echo "}"
} >"$cache/status.json.tmp"
mv "$cache/status.json.tmp" "$cache/status.json"

# Stable names on PATH for humans and for cdktf-cli, which runs `terraform`.
rm -f "$cache/path/terraform" "$cache/path/consul"
[[ -n $tf_path ]] && ln -s "$tf_path" "$cache/path/terraform"
[[ -n $consul_path ]] && ln -s "$consul_path" "$cache/path/consul"
{
  echo "# generated by tools/build.sh"
  printf 'export TF_CLI_CONFIG_FILE=%q\n' "$cache/terraformrc"
  printf 'export TF_PLUGIN_CACHE_DIR=%q\n' "$cache/plugin-cache"
  echo "export CHECKPOINT_DISABLE=1"
  [[ -n $tf_path ]] && printf 'export TERRAFORM_BINARY_NAME=%q\n' "$tf_path"
  [[ -n $consul_path ]] && printf 'export CONSUL_BIN=%q\n' "$consul_path"
  printf 'export PATH=%q:"$PATH"\n' "$cache/path"
} >"$cache/env.sh"

echo "tools: status in $cache/status.json; source $cache/env.sh"
echo "tools: total ($(since "$started"))"
if $print_env; then cat "$cache/env.sh" >&3; fi
# Terraform and consul are required by every integration test; providers are not.
[[ -n $tf_path && -n $consul_path ]]

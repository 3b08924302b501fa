#!/usr/bin/env bash
# Runs a command with the environment tools/build.sh wrote (our own Terraform
# CLI config and provider mirror, checkpoint calls off), if it has run.
set -euo pipefail
cache="${CDKTF_CONSUL_MESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-consul-mesh}"
export CHECKPOINT_DISABLE=1
# shellcheck source=/dev/null
[[ -f $cache/env.sh ]] && source "$cache/env.sh"
exec "$@"

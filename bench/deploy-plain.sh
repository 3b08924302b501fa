#!/usr/bin/env bash
# The federated pair (examples/federated-pair, startEnvoy false) deployed by
# hand with the docker CLI: the baseline bench/deploy.ts times the library's
# stack against. Same image, networks, volumes, server containers (addresses,
# ports, health checks, restart policy), same agent configs (uploaded with
# docker cp), same ACL policies and tokens, config entries, agent tokens and
# gateway registrations; the Consul API calls go through the consul CLI inside
# the dc1 server (`docker exec`), the one-shots run as containers as the
# library's do. The one shortcut a hand-written script takes: token secrets are
# chosen up front (`-secret`) instead of being read back after creation.
#
# Usage: deploy-plain.sh up|down
# Environment (set by bench/deploy.ts): DOCKER_HOST, IMAGE, CONFIG_DIR (from
# the synthesized stack: dc1.json, dc2.json with @@REPLICATION_SECRET@@,
# rules-*.hcl, entry-*.json), MGMT_TOKEN.
set -euo pipefail

WAN=consul-mesh-wan
DC1=consul-dc1-server-0
DC2=consul-dc2-server-0
CONTAINERS=(consul-dc1-mesh-gateway-0-register consul-dc2-mesh-gateway-0-register
  consul-dc1-server-0-set-agent-token consul-dc2-server-0-set-agent-token "$DC1" "$DC2")
NETWORKS=("$WAN" consul-dc1 consul-dc2)
VOLUMES=(consul-dc1-server-0-data consul-dc2-server-0-data
  consul-dc1-mesh-gateway-0-bootstrap consul-dc2-mesh-gateway-0-bootstrap)

uuid() { cat /proc/sys/kernel/random/uuid; }

# Polls docker's health status every 0.5 s, as the stand-in does; gives up at unhealthy/stopped or 180 s.
wait_healthy() {
  local deadline=$((SECONDS + 180)) status
  while :; do
    status=$(docker inspect -f '{{.State.Health.Status}} {{.State.Running}}' "$1")
    case "$status" in
      "healthy true") return 0 ;;
      unhealthy*|*false) echo "$1: $status" >&2; docker logs --tail 30 "$1" >&2; return 1 ;;
    esac
    ((SECONDS < deadline)) || { echo "$1: not healthy after 180s" >&2; return 1; }
    sleep 0.5
  done
}

# server <dc> <lan ip> <wan ip> <host port> <health cmd> <config file>
server() {
  local dc=$1 name=consul-$1-server-0
  docker create --name "$name" --hostname "$dc-server-0" --entrypoint consul \
    --volume "$name-data:/consul/data" --publish "127.0.0.1:$4:8500/tcp" \
    --health-cmd "$5" --health-interval 2s --health-timeout 2s --health-start-period 2s --health-retries 90 \
    --restart unless-stopped --network "consul-$dc" --ip "$2" --network-alias "$dc-server-0" \
    "$IMAGE" agent -config-dir=/consul/config >/dev/null
  docker network connect --ip "$3" "$WAN" "$name"
  docker cp "$6" "$name:/consul/config/server.json"
  docker start "$name" >/dev/null
  wait_healthy "$name"
}

# oneshot <name> <dc> <command> [docker run args...]: runs to completion, fails unless it exits 0.
oneshot() {
  local name=$1 dc=$2 cmd=$3
  shift 3
  docker run --name "$name" --network "consul-$dc" --entrypoint /bin/sh "$@" "$IMAGE" -c "$cmd" >/dev/null
}

in_dc1() { docker exec -i -e CONSUL_HTTP_TOKEN="$MGMT_TOKEN" "$DC1" consul "$@" >/dev/null; }

register_gateway() { # <dc> <lan ip prefix> <wan ip> <token>
  oneshot "consul-$1-mesh-gateway-0-register" "$1" \
    "consul connect envoy -gateway=mesh -register -service mesh-gateway -proxy-id mesh-gateway-0 -address $2.11:8443 -wan-address $3:8443 -bind-address default=0.0.0.0:8443 -admin-bind 127.0.0.1:19000 -bootstrap > /bootstrap/envoy.json.tmp && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json" \
    -e "CONSUL_HTTP_ADDR=http://$2.10:8500" -e "CONSUL_GRPC_ADDR=http://$2.10:8502" -e "CONSUL_HTTP_TOKEN=$4" \
    --volume "consul-$1-mesh-gateway-0-bootstrap:/bootstrap"
}

set_agent_token() { # <dc> <lan ip> <token>
  oneshot "consul-$1-server-0-set-agent-token" "$1" 'consul acl set-agent-token agent "$AGENT_TOKEN"' \
    -e "CONSUL_HTTP_ADDR=http://$2:8500" -e "CONSUL_HTTP_TOKEN=$MGMT_TOKEN" -e "AGENT_TOKEN=$3"
}

up() {
  docker network create --driver bridge --subnet 10.249.0.0/24 "$WAN" >/dev/null
  docker network create --driver bridge --subnet 10.249.1.0/24 consul-dc1 >/dev/null
  docker network create --driver bridge --subnet 10.249.2.0/24 consul-dc2 >/dev/null
  for v in "${VOLUMES[@]}"; do docker volume create "$v" >/dev/null; done

  server dc1 10.249.1.10 10.249.0.128 8500 "wget -qO- http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'" "$CONFIG_DIR/dc1.json"

  local repl=$(uuid) agent1=$(uuid) agent2=$(uuid) gw1=$(uuid) gw2=$(uuid)
  in_dc1 acl policy create -name consul-acl-replication -description 'ACL and config entry replication for secondary datacenters' -rules - <"$CONFIG_DIR/rules-replication.hcl"
  in_dc1 acl token create -description 'ACL replication for secondary datacenters' -policy-name consul-acl-replication -secret "$repl"

  # dc2's server waits for nothing else of dc1's; the rest of dc1 goes alongside.
  sed "s/@@REPLICATION_SECRET@@/$repl/" "$CONFIG_DIR/dc2.json" >"$CONFIG_DIR/dc2.rendered.json"
  server dc2 10.249.2.10 10.249.0.135 8501 "wget -qO- http://127.0.0.1:8500/v1/status/leader | grep -q ':8300' && wget -qO- http://127.0.0.1:8500/v1/acl/replication | grep '\"ReplicatedIndex\":[1-9]' | grep -q '\"ReplicatedTokenIndex\":[1-9]'" "$CONFIG_DIR/dc2.rendered.json" &
  local dc2_pid=$!

  (
    in_dc1 acl token create -description 'Agent token of dc1-server-0' -node-identity dc1-server-0:dc1 -secret "$agent1"
    set_agent_token dc1 10.249.1.10 "$agent1"
  ) &
  local dc1_agent=$!
  (
    in_dc1 acl policy create -name mesh-gateway-dc1 -description 'Mesh gateway mesh-gateway in dc1' -valid-datacenter dc1 -rules - <"$CONFIG_DIR/rules-gateway-dc1.hcl"
    in_dc1 acl token create -description 'Mesh gateway mesh-gateway in dc1' -policy-name mesh-gateway-dc1 -secret "$gw1"
    register_gateway dc1 10.249.1 10.249.0.10 "$gw1"
  ) &
  local dc1_gw=$!
  ( in_dc1 config write - <"$CONFIG_DIR/entry-proxy-defaults.json"; in_dc1 config write - <"$CONFIG_DIR/entry-api.json" ) &
  local entries=$!
  # dc2's tokens are global: created in the primary, they replicate to dc2.
  (
    in_dc1 acl policy create -name mesh-gateway-dc2 -description 'Mesh gateway mesh-gateway in dc2' -valid-datacenter dc2 -rules - <"$CONFIG_DIR/rules-gateway-dc2.hcl"
    in_dc1 acl token create -description 'Mesh gateway mesh-gateway in dc2' -policy-name mesh-gateway-dc2 -secret "$gw2"
    in_dc1 acl token create -description 'Agent token of dc2-server-0' -node-identity dc2-server-0:dc2 -secret "$agent2"
  ) &
  local dc2_tokens=$!

  wait "$dc2_pid"
  wait "$dc2_tokens"
  set_agent_token dc2 10.249.2.10 "$agent2" &
  local dc2_agent=$!
  register_gateway dc2 10.249.2 10.249.0.11 "$gw2"
  wait "$dc2_agent"
  wait "$dc1_agent"
  wait "$dc1_gw"
  wait "$entries"
}

down() {
  docker rm -f -v "${CONTAINERS[@]}" >/dev/null 2>&1 || true
  for n in "${NETWORKS[@]}"; do docker network rm "$n" >/dev/null 2>&1 || true; done
  for v in "${VOLUMES[@]}"; do docker volume rm "$v" >/dev/null 2>&1 || true; done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac

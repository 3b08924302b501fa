// Rolling upgrades of a datacenter's servers. Terraform cannot replace
// servers one at a time: a container whose image changes is destroyed
// before it is created, every replaced container's destroy runs before any
// create in a dependency chain, and create_before_destroy would start a
// second server on the same data volume and host ports. So a server
// container keeps the image it was created with, and runs the Consul binary
// in a volume of its own (`bin`); each server has an upgrade step, a
// one-shot of the datacenter's current image, which Terraform recreates when
// the image changes. The steps run side by side and take turns at run time,
// as Consul's upgrade guide says: one server at a time, followers first and
// the leader last, each `consul leave`s, restarts on the new binary, and is
// healthy and a voter again before the next goes; a secondary's servers go
// once every server of the primary runs the new version.
import { Construct } from 'constructs';
import { pollUntil, StackEngine } from './stack-engine';
import { CONFIG_DIR, CONSUL_PORTS } from '../internal/agent-config';
import { Container } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

/** Where a server's Consul binary lives: the server runs what is here, and its upgrade step replaces it. */
export const BIN_DIR = '/consul/bin';

/**
 * The server container's command: run the binary in BIN_DIR (seeded from
 * the image on first start), and record which version this start runs.
 */
export function serverStartScript(): string {
  return [
    `b=${BIN_DIR}/consul`,
    '[ -x "$b" ] || { cp "$(command -v consul)" "$b.new" && mv "$b.new" "$b"; }',
    `"$b" version | sed -n '1s/^Consul v//p' > ${BIN_DIR}/running`,
    `exec "$b" agent -config-dir=${CONFIG_DIR}`,
  ].join('; ');
}

/** What an upgrade step needs of its server. */
export interface UpgradeTarget {
  readonly nodeName: string;
  readonly containerName: string;
  readonly lanAddress: string;
  readonly networkName: string;
  /** The datacenter's image: the version the step upgrades to. */
  readonly image: string;
  readonly managementToken: string;
  /** The server's `bin` volume. */
  readonly binVolume: string;
  /** How many servers its datacenter has. */
  readonly servers: number;
  /** A secondary's primary, whose servers are upgraded first, and how many it has when known (same app). */
  readonly primary?: { readonly datacenter: string; readonly servers?: number };
  /** The server's container. */
  readonly after: ITerraformDependable;
}

/**
 * The one-shot that brings `server` to the image's Consul. Nothing to do
 * (the first deploy, a repeated apply) takes one `cat`. A downgrade, or a
 * jump of more than two minor versions (Consul supports at most two at a
 * time), fails before any server is touched.
 */
export function upgradeStep(scope: Construct, engine: StackEngine, server: UpgradeTarget): Container {
  const api = `http://${server.lanAddress}:${CONSUL_PORTS.http}`;
  // Autopilot's view, one server a line: Name, Version, Leader, Healthy, Voter.
  const health = (query: string) => `wget -qO- --header "X-Consul-Token: $CONSUL_HTTP_TOKEN" "${api}/v1/operator/autopilot/health${query}" | sed 's/},{/}|{/g' | tr '|' '\\n'`;
  const names = 'grep -o \'"Name":"[^"]*"\' | cut -d\'"\' -f4';
  // Healthy, with every server a healthy voter: none is away (a server that left is not listed at all).
  const allHealthy = (n: number | undefined) => 'echo "$h" | head -1 | grep -q \'^{"Healthy":true\''
    + (n !== undefined ? ` && [ "$(echo "$h" | grep -c '"Healthy":true,"Voter":true')" -eq ${n} ]` : '');
  const script = [
    'set -e',
    'target=$(consul version | sed -n \'1s/^Consul v//p\')',
    'running=$(cat /upgrade/running 2>/dev/null || true)',
    `[ "$running" = "$target" ] && { echo "${server.nodeName} runs Consul $target"; exit 0; }`,
    // Before anything is touched: what Consul's upgrade instructions allow.
    'set -- $(echo "$running $target" | tr \'.\' \' \')',
    'if [ "$1" -ne "$4" ] || [ "$2" -gt "$5" ] || { [ "$2" -eq "$5" ] && [ "$3" -gt "$6" ]; }; then'
      + ` echo "${scope.node.path}: ${server.nodeName} runs Consul $running, and the image is Consul $target: a downgrade, which Consul does not support. Nothing was changed. Use an image of Consul $running or newer." >&2; exit 1; fi`,
    'if [ $(($5 - $2)) -gt 2 ]; then'
      + ` echo "${scope.node.path}: ${server.nodeName} runs Consul $running, and the image is Consul $target, $(($5 - $2)) minor versions ahead: Consul upgrades at most two at a time. Nothing was changed. Deploy an image of Consul $1.$(($2 + 2)).x first, then $target." >&2; exit 1; fi`,
    'cp /bin/consul /upgrade/consul.new && mv -f /upgrade/consul.new /upgrade/consul',
    ...(server.primary !== undefined ? [
      `primary() { h=$(${health(`?dc=${server.primary.datacenter}`)}); ${allHealthy(server.primary.servers)} && ! echo "$h" | grep -v '"Version":"'"$target"'"' | grep -q '"Name"'; }`,
      pollUntil('primary', `the servers of primary ${server.primary.datacenter} did not all run Consul $target`, 1800),
    ] : []),
    // My turn: the datacenter is healthy, and I am the first follower still on the old version, or the leader once no follower is.
    `turn() { h=$(${health('')}); ${allHealthy(server.servers)} || return 1;`
      + ` pending=$(echo "$h" | grep -v '"Version":"'"$target"'"' | grep -v '"Leader":true' | ${names} | sort | head -1);`
      + ` [ "$pending" = "${server.nodeName}" ] || { [ -z "$pending" ] && echo "$h" | grep '"Leader":true' | grep -q '"Name":"${server.nodeName}"'; }; }`,
    pollUntil('turn', `${server.nodeName}'s turn did not come (a server unhealthy, or another's upgrade stuck)`, 1800),
    `echo "${server.nodeName}: Consul $running -> $target"`,
    'consul leave',
    // Back: restarted on the new binary, healthy, a voter, and the datacenter healthy again.
    `back() { h=$(${health('')}); ${allHealthy(server.servers)} || return 1;`
      + ` echo "$h" | grep '"Name":"${server.nodeName}"' | grep '"Version":"'"$target"'"' | grep '"Healthy":true' | grep -q '"Voter":true'; }`,
    pollUntil('back', `${server.nodeName} did not come back healthy on Consul $target`, 300),
  ].join('\n');
  return engine.oneShot(scope, 'Upgrade', {
    name: `${server.containerName}-upgrade`,
    image: engine.image(server.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [script],
    env: [
      `CONSUL_HTTP_ADDR=${api}`,
      `CONSUL_HTTP_TOKEN=${server.managementToken}`,
    ],
    volumes: [{ volumeName: server.binVolume, containerPath: '/upgrade' }],
    networksAdvanced: [{ name: server.networkName }],
    dependsOn: [server.after],
  }, { showLogs: true });
}

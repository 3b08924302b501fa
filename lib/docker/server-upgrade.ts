// Rolling changes to a datacenter's servers: a new Consul version or a new
// agent configuration (more or fewer servers, any setting). Terraform cannot
// replace servers one at a time: a container whose image or uploaded config
// changes is destroyed before it is created, every replaced container's
// destroy runs before any create in a dependency chain, and
// create_before_destroy would start a second server on the same data volume
// and host ports. So a server container keeps the image and configuration it
// was created with, and runs the Consul binary and configuration of a
// directory of its data volume (`BIN_DIR`). Each server has an upgrade step, a one-shot that
// Terraform recreates when the server's image or configuration changes, and
// the steps of a datacenter run one after another (each depends on the
// previous one). Every step first hands the running server what it takes
// without a restart (a new replication token; the gossip key, which the
// keyring rotates, for a later first start). A step whose server already
// runs what it carries is then done; otherwise it waits until the datacenter is healthy with every server a
// voter, installs the binary and configuration, `consul leave`s the server
// (Consul hands leadership over first when it is the leader), and waits until
// it is back on them, healthy and a voter, as Consul's upgrade guide says. A
// secondary's servers take a new version only once every server of the
// primary runs it.
import { Construct } from 'constructs';
import { consulCliEnv, pollUntil, StackEngine } from './stack-engine';
import { CONFIG_DIR, CONSUL_PORTS, DATA_DIR, LIVE_CONFIG } from '../internal/agent-config';
import { Container } from '../internal/providers';
import { replaceTrigger } from '../internal/dependencies';
import { ITerraformDependable } from '../internal/tf';

/**
 * Where a server's Consul binary and configuration live: the server runs what is here, and its upgrade step replaces
 * it. In the data volume, beside what Consul keeps there (which it does not read): a volume of its own would be one
 * more object each destroy waits 2 s for (the docker provider's fixed delay), in OpenTofu's 10 parallel slots.
 */
export const BIN_DIR = `${DATA_DIR}/cmesh-bin`;

/** `<version> <sha256 of the configuration>` of a server's current start, as its start script records it in BIN_DIR. */
const RUNNING = `${BIN_DIR}/running`;

/**
 * The server container's command: run the binary (seeded from the image on
 * first start) and configuration in BIN_DIR (until its step installs one,
 * the uploaded one), and record what this start runs.
 */
export function serverStartScript(): string {
  return [
    `mkdir -p ${BIN_DIR}`,
    `b=${BIN_DIR}/consul`,
    '[ -x "$b" ] || { cp "$(command -v consul)" "$b.new" && mv "$b.new" "$b"; }',
    `for f in server.json ${LIVE_CONFIG}; do if [ -f ${BIN_DIR}/$f ]; then cp ${BIN_DIR}/$f ${CONFIG_DIR}/$f; fi; done`,
    `echo "$("$b" version | sed -n '1s/^Consul v//p') $(sha256sum ${CONFIG_DIR}/server.json | cut -c1-64)" > ${RUNNING}`,
    `exec "$b" agent -config-dir=${CONFIG_DIR}`,
  ].join('; ');
}

/** What an upgrade step needs of its server. */
export interface UpgradeTarget {
  readonly nodeName: string;
  readonly containerName: string;
  readonly lanAddress: string;
  readonly networkName: string;
  /** The datacenter's image: the version the step brings the server to. */
  readonly image: string;
  readonly managementToken: string;
  /** The server's data volume, which holds BIN_DIR. */
  readonly dataVolume: string;
  /** How many servers its datacenter has. */
  readonly servers: number;
  /** A secondary's primary, whose servers take a new version first, and how many it has when known (same app). */
  readonly primary?: { readonly datacenter: string; readonly servers?: number };
  /** The server's container: the step runs after it, and again after a new one (recreated), waiting until it is up. */
  readonly server: Container;
  /** The previous server's step, which this one runs after. */
  readonly previousStep?: ITerraformDependable;
  /**
   * Shell conditions, run in the step on the server's network, that hold once the server is up: it knows a leader
   * (and a secondary given its replication token from the start replicates ACLs).
   */
  readonly up: string[];
  /** Autopilot's server stabilization time to set in the datacenter (by one step: it is the datacenter's setting). */
  readonly stabilizationSeconds?: number;
}

/** The configuration a step brings its server to. */
export interface StepConfiguration {
  /** What the server restarts for (server.json). */
  readonly server: string;
  /** What it takes running (LIVE_CONFIG): installed for its next first start. */
  readonly live: string;
  /** A secondary's replication token, handed to the running server. */
  readonly replicationToken?: string;
}

/** An upgrade step, and how it learns the server's configuration (rendered once the tree is complete). */
export interface UpgradeStep {
  readonly container: Container;
  configure(config: StepConfiguration): void;
}

/**
 * The one-shot that brings `server` to the image's Consul and the
 * configuration it is given. Nothing to do (the first deploy, a repeated
 * apply) takes a `sha256sum`. A downgrade, or a jump of more than two minor
 * versions (Consul supports at most two at a time), fails before the server
 * is touched; the first server's step runs first, so before any is.
 */
export function upgradeStep(scope: Construct, engine: StackEngine, server: UpgradeTarget): UpgradeStep {
  const api = `http://${server.lanAddress}:${CONSUL_PORTS.http}`;
  // Autopilot's view, one server a line: Name, Version, Leader, Healthy, Voter.
  const health = (query: string) => `wget -qO- --header "X-Consul-Token: $CONSUL_HTTP_TOKEN" "${api}/v1/operator/autopilot/health${query}" | sed 's/},{/}|{/g' | tr '|' '\\n'`;
  // Healthy, with every server a healthy voter: none is away (a server that left is not listed at all).
  const allHealthy = (n: number | undefined) => 'echo "$h" | head -1 | grep -q \'^{"Healthy":true\''
    + (n !== undefined ? ` && [ "$(echo "$h" | grep -c '"Healthy":true,"Voter":true')" -eq ${n} ]` : '');
  const script = [
    'set -e',
    // What reads through the server waits on this step, so the step waits until the server is up: a Docker health
    // check would run a process in the server every few seconds for as long as it lives (0.03 of a core each).
    pollUntil(`{ ${server.up.join(' && ')}; }`, `${server.nodeName} did not come up (a leader known${server.up.length > 1 ? ', ACLs replicated' : ''})`, 180, 0.1),
    `printf '%s' "$SERVER_CONFIG" > ${BIN_DIR}/server.json.new`,
    'version=$(consul version | sed -n \'1s/^Consul v//p\')',
    `target="$version $(sha256sum ${BIN_DIR}/server.json.new | cut -c1-64)"`,
    `running=$(cat ${BIN_DIR}/running 2>/dev/null || true)`,
    // What the running server takes: a new replication token is set before the old one can be deleted (it is, once every step is done).
    `live() { printf '%s' "$LIVE_CONFIG" > ${BIN_DIR}/${LIVE_CONFIG}.new && mv -f ${BIN_DIR}/${LIVE_CONFIG}.new ${BIN_DIR}/${LIVE_CONFIG}; `
      + `[ -z "$REPLICATION_TOKEN" ] || { ${pollUntil('consul acl set-agent-token replication "$REPLICATION_TOKEN" >/dev/null', `${server.nodeName} did not take its replication token`, 120)}; }; `
      // Autopilot keeps its settings in the Raft state: set there, on every deploy, so a change converges with no restart.
      // Through the leader, so retried while leadership moves (a shrink that removes the leader runs this step).
      + (server.stabilizationSeconds !== undefined
        ? `${pollUntil(`consul operator autopilot set-config -server-stabilization-time=${server.stabilizationSeconds}s >/dev/null`, 'autopilot\'s stabilization time could not be set', 120)}; `
        : '')
      + '}',
    `if [ "$running" = "$target" ]; then rm ${BIN_DIR}/server.json.new; live; echo "${server.nodeName} runs Consul $version and its configuration"; exit 0; fi`,
    'was=$(echo "$running" | cut -d" " -f1)',
    // Before anything is touched: what Consul's upgrade instructions allow.
    'set -- $(echo "$was $version" | tr \'.\' \' \')',
    'if [ -n "$was" ] && { [ "$1" -ne "$4" ] || [ "$2" -gt "$5" ] || { [ "$2" -eq "$5" ] && [ "$3" -gt "$6" ]; }; }; then'
      + ` echo "${scope.node.path}: ${server.nodeName} runs Consul $was, and the image is Consul $version: a downgrade, which Consul does not support. Nothing was changed. Use an image of Consul $was or newer." >&2; exit 1; fi`,
    'if [ -n "$was" ] && [ $(($5 - $2)) -gt 2 ]; then'
      + ` echo "${scope.node.path}: ${server.nodeName} runs Consul $was, and the image is Consul $version, $(($5 - $2)) minor versions ahead: Consul upgrades at most two at a time. Nothing was changed. Deploy an image of Consul $1.$(($2 + 2)).x first, then $version." >&2; exit 1; fi`,
    'live',
    // Installed, but not run until the server restarts.
    `cp /bin/consul ${BIN_DIR}/consul.new && mv -f ${BIN_DIR}/consul.new ${BIN_DIR}/consul && mv -f ${BIN_DIR}/server.json.new ${BIN_DIR}/server.json`,
    ...(server.primary !== undefined ? [
      `primary() { h=$(${health(`?dc=${server.primary.datacenter}`)}); ${allHealthy(server.primary.servers)} && ! echo "$h" | grep -v '"Version":"'"$version"'"' | grep -q '"Name"'; }`,
      `if [ "$was" != "$version" ]; then ${pollUntil('primary', `the servers of primary ${server.primary.datacenter} did not all run Consul $version`, 1800)}; fi`,
    ] : []),
    `ready() { h=$(${health('')}); ${allHealthy(server.servers)}; }`,
    pollUntil('ready', `datacenter not healthy with ${server.servers} voting servers, so ${server.nodeName} was left as it is`, 600),
    `echo "${server.nodeName}: Consul $was -> $version$([ "$was" = "$version" ] && echo ", configuration changed")"`,
    'consul leave',
    // Back: restarted on what was installed, healthy, a voter, and the datacenter healthy again.
    `back() { [ "$(cat ${BIN_DIR}/running)" = "$target" ] && h=$(${health('')}) && ${allHealthy(server.servers)}`
      + ` && echo "$h" | grep '"Name":"${server.nodeName}"' | grep '"Version":"'"$version"'"' | grep -q '"Healthy":true,"Voter":true'; }`,
    pollUntil('back', `${server.nodeName} did not come back healthy on Consul $version`, 300),
  ].join('\n');
  const env = consulCliEnv(server.lanAddress, server.managementToken);
  const container = engine.oneShot(scope, 'Upgrade', {
    name: `${server.containerName}-upgrade`,
    image: engine.image(server.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [script],
    env,
    volumes: [{ volumeName: server.dataVolume, containerPath: DATA_DIR }],
    networksAdvanced: [{ name: server.networkName }],
    dependsOn: [server.server, ...(server.previousStep ? [server.previousStep] : [])],
  }, { showLogs: true, replaceTriggeredBy: [replaceTrigger(server.server)] });
  return {
    container,
    // The same text the container is created with: a server started on it needs nothing from its step.
    configure: (config) => {
      container.env = [...env, `SERVER_CONFIG=${config.server}`, `LIVE_CONFIG=${config.live}`,
        ...(config.replicationToken !== undefined ? [`REPLICATION_TOKEN=${config.replicationToken}`] : [])];
    },
  };
}

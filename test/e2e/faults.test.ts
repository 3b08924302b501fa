// Faults injected into the federated pair in one stack (servers and Consul
// side in one state, separateServers: false; WAN gossip, no Envoy) on the
// suite's own Docker engine, deployed by real OpenTofu: applies interrupted
// midway, servers stopped and restarted under a deployed pair, and a killed
// server, which in this layout needs a targeted apply to come back.
import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { DockerDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { eventually as poll } from '../support/eventually';
import { Dc, pairVariables, PORT, SERVER } from '../support/pair-deployment';
import { requireTool } from '../support/tools';
import { adopt, AdoptionTools, forgetImports } from '../../scripts/adopt';

const consulBin = requireTool('consul');
const { token, vars } = pairVariables(consulBin);
const LEADER = { dc1: '10.249.1.10:8300', dc2: '10.249.2.10:8300' } as const;

/** Deploys settle slower than API calls: poll every 0.5 s, up to 90 s unless told. */
const eventually = <T>(what: string, read: () => Promise<T>, ok: (t: T) => boolean, timeoutMs = 90_000) =>
  poll(what, read, ok, timeoutMs, 500);

let engine: DockerEngine;
let stack: any;
let deployment: DockerDeployment;
let destroyed = false;

/** A request to a datacenter's published HTTP API (relayed to the host) with the management token; network errors come back as status 0. */
async function api(dc: Dc, path: string, method = 'GET', body?: unknown) {
  try {
    const res = await fetch(`http://127.0.0.1:${await engine.publish(PORT[dc])}${path}`, {
      method,
      headers: { 'X-Consul-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  } catch (e) {
    return { status: 0, text: String((e as { cause?: unknown }).cause ?? e), json: undefined };
  }
}

const leaderOf = async (dc: Dc) => (await api(dc, '/v1/status/leader')).json;
const replication = async () => (await api('dc2', '/v1/acl/replication')).json;
const running = (name: string) => engine.mustDocker(['inspect', '--format', '{{.State.Running}}', name]);

/** `consul members -wan` inside a server container, with the management token: "node status" lines. */
async function wanMembers(inside: Dc): Promise<string[]> {
  const r = await engine.docker(['exec', '-e', `CONSUL_HTTP_TOKEN=${token}`, SERVER[inside], 'consul', 'members', '-wan']);
  return r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)).map(([node, , status]) => `${node} ${status}`).sort();
}

beforeAll(async () => {
  engine = await startDockerEngine({ name: 'e2e-faults' });
  const image = await ensureConsulImage(engine, consulBin);
  // One stack (servers and Consul side in one state): the faults of that layout, recovery included.
  stack = JSON.parse(Testing.synth(new FederatedPair(Testing.app(), 'pair', { image, startEnvoy: false, separateServers: false }), true));
  deployment = new DockerDeployment(engine, stack, vars);
  await deployment.clearEngine(); // whatever an interrupted run left on the engine's data root
  await deployment.workspace.init();
}, 20 * 60_000);

afterAll(async () => {
  if (killReports.length > 0) process.stderr.write(`SIGKILL and adoption: ${killReports.join('; ')}\n`);
  try {
    if (deployment && !destroyed) await deployment.destroy().catch(() => deployment.clearEngine());
  } finally {
    await engine?.stop();
    deployment?.workspace.remove();
  }
}, 5 * 60_000);

/** Containers on the engine that the state does not know: what an interrupted apply could orphan. */
async function orphans(): Promise<string[]> {
  const state = await deployment.state();
  const known = new Set([...state.entries()].filter(([a]) => a.startsWith('docker_container.')).map(([, v]) => v.name));
  const onEngine = (await engine.mustDocker(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean);
  return onEngine.filter((name) => !known.has(name));
}

interface Created { networks: number; containers: number; policies: number }
const killReports: string[] = [];
const declared = () => ['docker_network', 'docker_container', 'consul_acl_policy'].reduce((n, t) => n + Object.keys(stack.resource[t]).length, 0);
const total = (c: Created) => c.networks + c.containers + c.policies;

/** What an apply has created so far: the engine's networks and containers, dc1's ACL policies (besides the management one). */
async function created(): Promise<Created> {
  const count = async (args: string[]) => (await engine.docker(args)).stdout.split('\n').filter(Boolean).length;
  const policies = await api('dc1', '/v1/acl/policies');
  return {
    networks: await count(['network', 'ls', '-q', '--filter', 'name=^consul-']),
    containers: await count(['ps', '-aq']),
    policies: Array.isArray(policies.json) ? policies.json.filter((p: any) => p.Name !== 'global-management').length : 0,
  };
}

/** The adoption step with this suite's engine and Consul (reached through the engine's relays). */
function adoptionTools(): AdoptionTools {
  return {
    stateList: () => deployment.workspace.stateList(),
    inspect: async (kind, name) => {
      const r = await engine.docker([kind, 'inspect', name]);
      return r.status === 0 ? JSON.parse(r.stdout)[0] : undefined;
    },
    policy: async (provider, name) => {
      const r = await api(provider.startsWith('consul.dc2') ? 'dc2' : 'dc1', `/v1/acl/policy/name/${name}`);
      return r.status === 200 ? r.json : undefined;
    },
  };
}

/** Starts an apply and interrupts it with `signal` once dc1's server container exists (mid-apply). */
async function interruptedApply(signal: NodeJS.Signals): Promise<{ code: number | null; inState: number }> {
  const { child, done } = deployment.workspace.start(['apply', '-auto-approve', '-input=false', '-no-color'], { group: true });
  await eventually('dc1 server container created', async () => (await engine.mustDocker(['ps', '-a', '--format', '{{.Names}}'])).split('\n'),
    (names) => names.includes(SERVER.dc1), 60_000);
  // Signal the whole process group: SIGKILL must take the provider plugins with it, as a killed CI job would.
  process.kill(-child.pid!, signal);
  const result = await done;
  return { code: result.code, inState: (await deployment.workspace.stateList()).length };
}

describe('an interrupted apply', () => {
  test('(SIGINT midway) stops cleanly, and the next apply converges with no orphan and nothing left to plan', async () => {
    await deployment.clearEngine();
    const interrupted = await interruptedApply('SIGINT');
    process.stderr.write(`SIGINT midway: exit ${interrupted.code}, ${interrupted.inState} resources in state\n`);
    expect(interrupted.code).toBe(1);
    expect(interrupted.inState).toBeGreaterThan(0);

    await deployment.apply();
    await deployment.expectNoChanges();
    expect(await orphans()).toEqual([]);
    expect(await leaderOf('dc2')).toBe(LEADER.dc2);
    await deployment.destroy();
    expect(await deployment.leftovers()).toEqual([]);
  }, 10 * 60_000);

  // OpenTofu's local backend writes the state file at most every 20 s
  // (TF_STATE_PERSIST_INTERVAL cannot go lower) and on a clean stop; the pair
  // applies in about 12 s, so SIGKILL loses what the run created: its
  // containers and networks stay on the engine (and its ACL policies in
  // Consul), and a plain apply would fail on their names. The adoption step
  // (scripts/adopt.ts, which npm run up runs before every apply) imports
  // those the stack labelled as its own; the next plain apply converges.
  // Kill points in resources created: the networks, containers and ACL policies the stack declares.
  test.each([
    ['early', 'the first one', (c: Created) => total(c) >= 1],
    ['mid', 'half of them', (c: Created) => total(c) >= Math.ceil(declared() / 2)],
    ['late', 'nine in ten', (c: Created) => total(c) >= Math.ceil(declared() * 0.9)],
  ])('(SIGKILL %s: after %s) the next apply adopts what the killed one created and converges; destroy leaves nothing', async (point, _when, reached) => {
    await deployment.clearEngine();
    const started = Date.now();
    const { child, done } = deployment.workspace.start(['apply', '-auto-approve', '-input=false', '-no-color'], { group: true });
    const at = await eventually(`kill point ${point}`, created, reached, 120_000);
    process.kill(-child.pid!, 'SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const inState = (await deployment.workspace.stateList()).length;

    const adoption = await adopt(deployment.workspace.dir, adoptionTools());
    const recovering = Date.now();
    await deployment.apply();
    forgetImports(deployment.workspace.dir);
    await deployment.expectNoChanges();
    expect(await orphans()).toEqual([]);
    expect(await leaderOf('dc2')).toBe(LEADER.dc2);
    expect((await replication())?.ReplicatedTokenIndex).toBeGreaterThan(0);
    killReports.push(`${point} (${declared()} declared): killed after ${((recovering - started) / 1000).toFixed(1)}s with ${at.networks} networks, ${at.containers} containers, `
      + `${at.policies} ACL policies created and ${inState} resources in state; adopted ${adoption.adopted.length}; converged in ${((Date.now() - recovering) / 1000).toFixed(1)}s`);
    await deployment.destroy();
    expect(await deployment.leftovers()).toEqual([]);
  }, 10 * 60_000);

  test('an object in the way that the stack did not create is refused by name, and left alone', async () => {
    await deployment.clearEngine();
    const lan = Object.values<any>(stack.resource.docker_network).find((n) => n.name === 'consul-dc1');
    expect(lan).toBeDefined();
    await engine.mustDocker(['network', 'create', 'consul-dc1']);
    try {
      await expect(adopt(deployment.workspace.dir, adoptionTools())).rejects.toThrow(/stack pair: objects in the way that are not its own, left alone:\n {2}network "consul-dc1" \(wanted by docker_network\.fed_dc1_Lan_[0-9A-F]+\) is not one this library created/);
      expect((await engine.mustDocker(['network', 'ls', '--format', '{{.Name}}'])).split('\n')).toContain('consul-dc1');
    } finally {
      await engine.mustDocker(['network', 'rm', 'consul-dc1']);
    }
  });
});

describe('a secondary started while the primary is down', () => {
  let before: any;

  test('the pair is federated and replicating to begin with', async () => {
    await deployment.apply();
    expect(await wanMembers('dc1')).toEqual(['dc1-server-0.dc1 alive', 'dc2-server-0.dc2 alive']);
    before = await replication();
    expect(before).toMatchObject({ Enabled: true, Running: true, SourceDatacenter: 'dc1', ReplicationType: 'tokens' });
    expect(before.ReplicatedTokenIndex).toBeGreaterThan(0);
  });

  test('comes up with a leader of its own while dc1 is stopped, and reports replication failing', async () => {
    await engine.mustDocker(['stop', SERVER.dc1]);
    expect(await running(SERVER.dc1)).toBe('false');
    const restartedAt = Date.now();
    await engine.mustDocker(['restart', SERVER.dc2]);

    expect(await eventually('dc2 leader', () => leaderOf('dc2'), (l) => l === LEADER.dc2, 60_000)).toBe(LEADER.dc2);
    // Not a leftover of before the restart: replication status is in memory.
    const failing = await eventually('dc2 replication error', replication,
      (s) => s?.Enabled === true && Date.parse(s.LastError) >= restartedAt - 1000 && Date.parse(s.LastError) > Date.parse(s.LastSuccess));
    expect(failing.SourceDatacenter).toBe('dc1');
    // The restarted dc2 knows dc1's server from its WAN snapshot but cannot reach it.
    const members = await eventually('dc1 not alive on the WAN, seen from dc2', () => wanMembers('dc2'),
      (m) => m.includes('dc2-server-0.dc2 alive') && !m.includes('dc1-server-0.dc1 alive'));
    process.stderr.write(`WAN members seen from dc2 while dc1 is stopped: ${JSON.stringify(members)}\n`);
    // dc2 still answers for itself: its catalog and its replicated tokens.
    const catalog = await api('dc2', '/v1/catalog/service/mesh-gateway?stale');
    expect(catalog.status).toBe(200);
    expect(catalog.json).toHaveLength(1);
  }, 3 * 60_000);

  test('federates and resumes replication once dc1 returns', async () => {
    const startedAt = Date.now();
    await engine.mustDocker(['start', SERVER.dc1]);
    await eventually('dc1 leader', () => leaderOf('dc1'), (l) => l === LEADER.dc1, 60_000);

    const alive = ['dc1-server-0.dc1 alive', 'dc2-server-0.dc2 alive'];
    expect(await eventually('WAN members seen from dc1', () => wanMembers('dc1'), (m) => JSON.stringify(m) === JSON.stringify(alive))).toEqual(alive);
    expect(await eventually('WAN members seen from dc2', () => wanMembers('dc2'), (m) => JSON.stringify(m) === JSON.stringify(alive))).toEqual(alive);

    // A token created in dc1 now must reach dc2 by replication: the token index moves past where it was.
    const created = await api('dc1', '/v1/acl/token', 'PUT', { Description: 'faults test: replicated after the outage', Local: false });
    expect(created.status).toBe(200);
    // Counters restart with dc2: policy replication (ReplicatedIndex) completes its
    // own round, not necessarily together with tokens, so wait for both.
    const resumed = await eventually('dc2 replication resumed', replication,
      (s) => s?.Running === true && s.ReplicatedTokenIndex > before.ReplicatedTokenIndex
        && s.ReplicatedIndex >= before.ReplicatedIndex
        && Date.parse(s.LastSuccess) >= startedAt - 1000 && Date.parse(s.LastSuccess) >= Date.parse(s.LastError));
    expect(resumed.ReplicatedIndex).toBeGreaterThanOrEqual(before.ReplicatedIndex);
    expect(Date.parse(resumed.LastSuccess)).toBeGreaterThan(Date.parse(before.LastSuccess));
    const local = await api('dc2', `/v1/acl/token/${created.json.AccessorID}?stale`);
    expect({ status: local.status, description: local.json?.Description }).toEqual({ status: 200, description: 'faults test: replicated after the outage' });

    // Both containers running (Docker's restart policy kept dc2's, and dc1's was started again).
    expect([await running(SERVER.dc1), await running(SERVER.dc2)]).toEqual(['true', 'true']);
  }, 5 * 60_000);
});

describe('a killed dc1 server, in one stack', () => {
  let policiesBefore: string[];
  let containerBefore: string;

  test('blocks a plain apply: the refresh reads the stack\'s Consul objects through the dead server', async () => {
    await deployment.apply();
    policiesBefore = (await api('dc1', '/v1/acl/policies')).json.map((p: any) => p.Name).sort();
    containerBefore = await engine.mustDocker(['inspect', '--format', '{{.Id}}', SERVER.dc1]);
    await engine.mustDocker(['kill', SERVER.dc1]);
    expect(await engine.mustDocker(['inspect', '--format', '{{.State.Running}}', SERVER.dc1])).toBe('false');

    // Every consul provider reaches Consul through dc1's server (dc2's global
    // provider forwards to it), so the plan fails before the docker provider
    // could recreate the container: what serverStack exists for (README, Recovery).
    const failed = await deployment.workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/127\.0\.0\.1:8500/);
  }, 5 * 60_000);

  test('comes back with its ACLs and config entries from its data volume: a targeted apply, then a plain one', async () => {
    // The server's upgrade step: targeting it brings back the container it depends on, and it waits until that is up.
    const step = Object.keys(stack.resource.docker_container).find((id) => id.startsWith('fed_dc1_Server0_Upgrade'))!;
    await deployment.applyTargets([`docker_container.${step}`]);
    await deployment.apply();
    await deployment.expectNoChanges();

    expect(await engine.mustDocker(['inspect', '--format', '{{.Id}}', SERVER.dc1])).not.toBe(containerBefore);
    expect(await leaderOf('dc1')).toBe(LEADER.dc1);
    expect((await api('dc1', '/v1/acl/policies')).json.map((p: any) => p.Name).sort()).toEqual(policiesBefore);
    expect(policiesBefore).toEqual(expect.arrayContaining(['consul-acl-replication', 'mesh-gateway-dc1', 'mesh-gateway-dc2']));
    for (const entry of ['proxy-defaults/global', 'service-defaults/api']) expect((await api('dc1', `/v1/config/${entry}`)).status).toBe(200);
    // The gateway registered with the old container's agent survives too (agent state on the volume).
    expect((await api('dc1', '/v1/catalog/service/mesh-gateway')).json).toHaveLength(1);
    await eventually('both servers alive on the WAN', () => wanMembers('dc2'), (m) => JSON.stringify(m) === JSON.stringify(['dc1-server-0.dc1 alive', 'dc2-server-0.dc2 alive']));
  }, 5 * 60_000);
});

describe('destroy', () => {
  test('removes every container, network and volume of the stack', async () => {
    await deployment.expectNoChanges();
    await deployment.destroy();
    destroyed = true;
    expect(await deployment.workspace.stateList()).toEqual([]);
    expect(await deployment.leftovers()).toEqual([]);
  }, 5 * 60_000);
});

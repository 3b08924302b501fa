// The main example deployed for real: two WAN-federated Consul datacenters as
// containers on a Docker engine of the suite's own, in its two stacks (the
// servers', then the Consul side), each applied by OpenTofu with the two
// providers the stacks pin (built from source by tools/build.sh), then
// checked through Consul's HTTP API on the published ports and the consul CLI
// inside the containers, planned again (nothing to change), broken (objects
// deleted by hand, each server killed), healed by plain applies, and
// destroyed with nothing left. Envoy is not available here: gateways are
// registered and bootstrapped, and their Envoy containers off.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { AppDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { ConsulVersion, MeshGatewayModes, MeshService } from '../../lib';
import { eventually as poll } from '../support/eventually';
import { Served, xdsAt } from '../support/mesh-fixtures';
import { Dc, pairVariables, PORT, SERVER } from '../support/pair-deployment';
import { StateValues } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

const consulBin = requireTool('consul');
/** The Consul the suite's image runs (the tools'): what the xDS reader presents itself to. */
const consulVersion = ConsulVersion.of(toolVersion('consul'));
const { token, vars } = pairVariables(consulBin);

/** Deploys settle slower than API calls: poll every 0.5 s, up to 60 s unless told. */
const eventually = <T>(what: string, read: () => Promise<T>, ok: (t: T) => boolean, timeoutMs = 60_000) =>
  poll(what, read, ok, timeoutMs, 500);

let engine: DockerEngine;
let pair: FederatedPair;
let image: string;
let stack: any;
let deployment: AppDeployment;
let state: StateValues;
let destroyed = false;
const timings: string[] = [];

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

/** A datacenter's published HTTP API, as the host reaches it (the engine relays it). */
const apiUrl = async (dc: Dc) => `http://127.0.0.1:${await engine.publish(PORT[dc])}`;

/** GET from a datacenter's published HTTP API; `null` sends no token (anonymous). */
async function api(dc: Dc, path: string, withToken: string | null = token) {
  const res = await fetch(`${await apiUrl(dc)}${path}`, {
    headers: withToken ? { 'X-Consul-Token': withToken } : {},
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  // Errors come back as plain text.
  return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

/** Replication has completed rounds since its last error (Running alone only says the routine started). */
const replicating = (s: any) => s?.Running === true && s.ReplicatedIndex > 0 && s.ReplicatedTokenIndex > 0 && Date.parse(s.LastSuccess) >= Date.parse(s.LastError);

/** The secret a consul_acl_token_secret_id data source read, by construct path suffix (from the real state). */
function secret(pathSuffix: string): string {
  const id = Object.keys(stack.data.consul_acl_token_secret_id).find((k) => k.replace(/_[0-9A-F]{8}$/, '') === pathSuffix);
  const value = state.get(`data.consul_acl_token_secret_id.${id}`)?.secret_id;
  if (!value) throw new Error(`no secret for ${pathSuffix} in the state`);
  return value;
}

beforeAll(async () => {
  engine = await timed('dockerd start', () => startDockerEngine({ name: 'e2e-federated-pair' }));
  image = await timed('image check/build', () => ensureConsulImage(engine, consulBin));
  const app = Testing.app();
  pair = new FederatedPair(app, 'pair', { image, startEnvoy: false });
  deployment = new AppDeployment(engine, app, vars);
  expect(deployment.stacks.map((s) => s.name)).toEqual(['pair-servers', 'pair']);
  stack = deployment.json;
  await deployment.clearEngine(); // whatever an interrupted run left on the engine's data root
  await timed('tofu init (both stacks)', () => deployment.init());
  await timed('tofu apply pair-servers (until every server healthy)', () => deployment.of('pair-servers').apply());
  await timed('tofu apply pair (until every one-shot exited 0)', () => deployment.of('pair').apply());
  state = await deployment.state();
}, 20 * 60_000);

afterAll(async () => {
  try {
    if (deployment && !destroyed) await deployment.destroy().catch(() => deployment.clearEngine());
  } finally {
    await engine?.stop();
    deployment?.remove();
    if (timings.length > 0) process.stderr.write(`e2e timings: ${timings.join(', ')}\n`);
  }
}, 5 * 60_000);

describe('the deployed federation', () => {
  test('the Envoy line: a gateway with no Envoy fails its listening check, so the other datacenter\'s gateway is given no route to it', async () => {
    // `consul connect envoy -register` gives each gateway a TCP check on its
    // address; nothing listens there without Envoy. The routes a healthy
    // gateway gets (an SNI chain per other datacenter, its gateways as
    // endpoints) are shown on the host harness, whose gateways pass
    // (test/integration/mesh-gateway-modes.test.ts).
    for (const dc of ['dc1', 'dc2'] as Dc[]) {
      const checks = (await api(dc, '/v1/health/checks/mesh-gateway')).json;
      expect(checks.map((c: any) => [c.ServiceID, c.Type, c.Status])).toEqual([['mesh-gateway-0', 'tcp', 'critical']]);
    }
    // The gateway registers at the end of the apply, and its agent may take a while to have a whole snapshot to
    // serve (once more than cmesh-xds's 15 s): what is served is the point, so read until served.
    const read = () => {
      try {
        return xdsAt('10.249.1.10:8502', token, 'mesh-gateway-0', 'mesh-gateway', consulVersion, (argv) => engine.inEngineNetwork(argv));
      } catch (e) {
        return { error: String(e) };
      }
    };
    const served = await eventually('dc1\'s gateway to be served a configuration', async () => read(), (x) => !('error' in x)) as Served;
    expect(served.clusters ?? []).toEqual([]);
    expect(served.listeners.flatMap((l) => l.filterChains.flatMap((fc) => fc.serverNames ?? []))).toEqual([]);
  });

  test('each upstream of the example\'s services is served the endpoints explain predicts, once registered with its agent', async () => {
    const services = pair.node.findAll().filter((c): c is MeshService => c instanceof MeshService);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pair-services-'));
    try {
      for (const service of services) {
        const file = path.join(work, `${service.service}.json`);
        fs.writeFileSync(file, service.definitionJson);
        const dc = service.datacenter.name as Dc;
        const run = spawnSync(consulBin, ['services', 'register', file], { encoding: 'utf8', env: { ...process.env, CONSUL_HTTP_ADDR: await apiUrl(dc), CONSUL_HTTP_TOKEN: token } });
        expect({ service: service.service, status: run.status, stderr: run.stderr }).toEqual({ service: service.service, status: 0, stderr: '' });
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    // In mode local, web's traffic to dc2 goes to dc1's own gateway, at the LAN address it registered.
    const flag = (dc: string, name: string) => new RegExp(`-${name} (\\S+)`).exec(stack.resource.docker_container[Object.keys(stack.resource.docker_container)
      .find((k) => k.startsWith(`fed_${dc}_gateway_Replica0_Registration`))!].command[0])![1];
    const dc1Gateway = flag('dc1', 'address');
    const served = await eventually('web\'s sidecar to be served its upstreams', async () =>
      xdsAt('10.249.1.10:8502', token, 'web-sidecar-proxy', 'web', consulVersion, (argv) => engine.inEngineNetwork(argv)),
    (x) => Object.values(x.endpoints).some((e) => e.length > 0));
    const rows = MeshGatewayModes.explain(pair).filter((r) => r.service === 'web');
    expect(rows.map((r) => [r.upstream, r.target, r.mode])).toEqual([['api', 'dc2', 'local'], ['billing', 'dc1', 'local']]);
    // Cluster names may carry a hash of the chain's options: `<hash>~api.default.dc2.internal...`.
    const endpointsOf = (service: string, dc: string) => Object.entries(served.endpoints)
      .filter(([name]) => new RegExp(`(^|~)${service}\\.default\\.${dc}\\.`).test(name)).map(([, e]) => e);
    expect(endpointsOf('api', 'dc2')).toEqual([[dc1Gateway]]);
    // billing has no instance anywhere: its cluster is served, empty.
    expect(endpointsOf('billing', 'dc1')).toEqual([[]]);
  });

  test.each(['dc1', 'dc2'] as Dc[])('%s has a leader, its own server', async (dc) => {
    const leader = await api(dc, '/v1/status/leader', null);
    expect(leader.json).toBe(`10.249.${dc === 'dc1' ? 1 : 2}.10:8300`);
  });

  test('dc2 replicates ACLs from dc1', async () => {
    const status = (await api('dc2', '/v1/acl/replication')).json;
    expect(status).toMatchObject({ Enabled: true, SourceDatacenter: 'dc1', ReplicationType: 'tokens', LastErrorMessage: '' });
    expect(replicating(status)).toBe(true);
  });

  test('consul members -wan lists the servers of both datacenters', async () => {
    const out = await engine.mustDocker(['exec', '-e', `CONSUL_HTTP_TOKEN=${token}`, SERVER.dc1, 'consul', 'members', '-wan']);
    const alive = out.split('\n').slice(1).map((l) => l.split(/\s+/)).map(([node, address, status]) => `${node} ${address} ${status}`).sort();
    expect(alive).toEqual(['dc1-server-0.dc1 10.249.0.128:8302 alive', 'dc2-server-0.dc2 10.249.0.135:8302 alive']);
  });

  test.each(['dc1', 'dc2'] as Dc[])('%s refuses anonymous KV reads (default deny)', async (dc) => {
    const res = await api(dc, '/v1/kv/anything', null);
    // Consul 1.14 names the anonymous token by its fixed accessor id (later versions say "anonymous token").
    expect({ status: res.status, text: res.text }).toEqual({ status: 403, text: expect.stringMatching(/(anonymous token|AccessorID '00000000-0000-0000-0000-000000000002') lacks permission 'key:read'/) });
  });

  test.each(['dc1', 'dc2'] as Dc[])('%s serves both config entries (written in dc1, replicated to dc2)', async (dc) => {
    for (const [entry, mode] of [['proxy-defaults/global', 'local'], ['service-defaults/api', 'remote']]) {
      const res = await eventually(`${entry} in ${dc}`, () => api(dc, `/v1/config/${entry}`), (r) => r.status === 200);
      expect(res.json.MeshGateway).toEqual({ Mode: mode });
    }
  });

  test.each([['dc1', 1, 10], ['dc2', 2, 11]] as [Dc, number, number][])(
    'the %s mesh gateway is registered with its LAN and WAN addresses, and its Envoy bootstrap is in the volume',
    async (dc, lan, wan) => {
      const catalog = await api(dc, '/v1/catalog/service/mesh-gateway');
      expect(catalog.json).toHaveLength(1);
      expect(catalog.json[0]).toMatchObject({
        Node: `${dc}-server-0`,
        ServiceKind: 'mesh-gateway',
        ServiceID: 'mesh-gateway-0',
        ServiceAddress: `10.249.${lan}.11`,
        ServicePort: 8443,
        ServiceTaggedAddresses: {
          lan: { Address: `10.249.${lan}.11`, Port: 8443 },
          wan: { Address: `10.249.0.${wan}`, Port: 8443 },
        },
      });
      const raw = await engine.mustDocker(['run', '--rm', '--network', 'none', '--volume', `consul-${dc}-mesh-gateway-0-bootstrap:/bootstrap:ro`,
        '--entrypoint', 'cat', image, '/bootstrap/envoy.json']);
      const bootstrap = JSON.parse(raw);
      expect(bootstrap.node).toMatchObject({ id: 'mesh-gateway-0', cluster: 'mesh-gateway' });
      // Envoy would fetch its configuration from the server's gRPC port.
      const xds = bootstrap.static_resources.clusters.find((c: any) => c.name === 'local_agent');
      expect(JSON.stringify(xds)).toContain(`"address":"10.249.${lan}.10","port_value":8502`);
    });

  test.each(['dc1', 'dc2'] as Dc[])('the %s server agent holds its node-identity token and uses it', async (dc) => {
    // set-agent-token reached the agent, which persisted the token (enable_token_persistence).
    const persisted = JSON.parse(await engine.mustDocker(['exec', SERVER[dc], 'cat', '/consul/data/acl-tokens.json']));
    expect(persisted.agent).toBe(secret(`fed_${dc}_Server0_AgentTokenSecret`));
    // And acts with it: after the token arrived, node info syncs (anti-entropy,
    // up to a minute) and nothing is blocked by ACLs any more, as it was while
    // the agent acted as anonymous.
    const since = (logs: string) => logs.split('\n').slice(logs.split('\n').findIndex((l) => l.includes("Updated agent's ACL token: token=agent")))
      .filter((l) => /Updated agent's ACL token|Synced node info|blocked by ACLs/.test(l));
    const lines = await eventually(`${dc} agent syncs with its token`, async () => since((await engine.docker(['logs', SERVER[dc]])).stdout),
      (l) => l.length > 0 && l.some((x) => x.includes('Synced node info')), 120_000);
    expect(lines.filter((l) => l.includes('blocked by ACLs'))).toEqual([]);
  }, 150_000);

  test('the mesh gateway token may register its gateway and read the catalog, and is refused everything else', async () => {
    const gatewayToken = secret('fed_dc1_gateway_Acl_Secret');
    const put = async (path: string, body: unknown) => (await fetch(`${await apiUrl('dc1')}${path}`, {
      method: 'PUT', headers: { 'X-Consul-Token': gatewayToken }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    })).status;
    expect({
      otherService: await put('/v1/agent/service/register', { Name: 'not-the-gateway', Port: 80 }),
      kv: await put('/v1/kv/gateway-was-here', 'x'),
      policyWrite: await put('/v1/acl/policy', { Name: 'escalate', Rules: 'acl = "write"' }),
      aclRead: (await api('dc1', '/v1/acl/tokens', gatewayToken)).status,
      catalogRead: (await api('dc1', '/v1/catalog/services', gatewayToken)).status,
    }).toEqual({ otherService: 403, kv: 403, policyWrite: 403, aclRead: 403, catalogRead: 200 });
    const self = (await api('dc1', '/v1/acl/token/self', gatewayToken)).json;
    expect(self.Policies.map((p: any) => p.Name)).toEqual(['mesh-gateway-dc1']);
    expect((await api('dc1', '/v1/acl/policy/name/mesh-gateway-dc1')).json.Datacenters).toEqual(['dc1']);
  });

  test('dc2\'s gateway token is refused in dc1: its policy is scoped to dc2', async () => {
    const res = await fetch(`${await apiUrl('dc1')}/v1/agent/service/register`, {
      method: 'PUT', headers: { 'X-Consul-Token': secret('fed_dc2_gateway_Acl_Secret') },
      body: JSON.stringify({ Name: 'mesh-gateway', Kind: 'mesh-gateway', Port: 8443 }), signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(403);
  });

  test('a plan right after apply has nothing to change, and a second apply changes nothing', async () => {
    await timed('tofu plan (no changes)', () => deployment.expectNoChanges());
    const snapshot = async () => ({
      containers: await engine.mustDocker(['ps', '-a', '--format', '{{.Names}} {{.ID}} {{.State}}']),
      tokens: (await api('dc1', '/v1/acl/tokens')).json.map((t: any) => t.AccessorID).sort(),
      policies: (await api('dc1', '/v1/acl/policies')).json.map((p: any) => p.ID).sort(),
    });
    const before = await snapshot();
    const again = await timed('tofu re-apply (both stacks)', () => deployment.apply());
    for (const run of again) expect(run.stdout).toContain('0 added, 0 changed, 0 destroyed');
    expect(await snapshot()).toEqual(before);
  }, 5 * 60_000);

  test('a config entry, a policy and a token deleted by hand: plan sees all three, apply restores them', async () => {
    const policy = (await api('dc1', '/v1/acl/policy/name/mesh-gateway-dc2')).json;
    const tokenId = state.get(Object.keys(stack.resource.consul_acl_token).map((id) => `consul_acl_token.${id}`)
      .find((a) => a.startsWith('consul_acl_token.fed_dc2_gateway_Acl_Token'))!)!.id as string;
    const del = async (path: string) => (await fetch(`${await apiUrl('dc1')}${path}`, {
      method: 'DELETE', headers: { 'X-Consul-Token': token }, signal: AbortSignal.timeout(10_000),
    })).status;
    expect([await del('/v1/config/service-defaults/api'), await del(`/v1/acl/policy/${policy.ID}`), await del(`/v1/acl/token/${tokenId}`)])
      .toEqual([200, 200, 200]);

    expect((await deployment.of('pair-servers').plan()).code).toBe(0);
    const plan = await deployment.of('pair').plan();
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/consul_config_entry\.service-defaults_dc1_api will be created/);
    expect(plan.stdout).toMatch(/consul_acl_policy\.fed_dc2_gateway_Acl_Policy_[0-9A-F]+ will be created/);
    expect(plan.stdout).toMatch(/consul_acl_token\.fed_dc2_gateway_Acl_Token_[0-9A-F]+ will be created/);

    await timed('apply restoring deleted objects', () => deployment.apply());
    expect((await api('dc1', '/v1/config/service-defaults/api')).json.MeshGateway).toEqual({ Mode: 'remote' });
    expect((await api('dc1', '/v1/acl/policy/name/mesh-gateway-dc2')).status).toBe(200);
    await deployment.expectNoChanges();
    state = await deployment.state();
  }, 5 * 60_000);
});

describe.each(['dc1', 'dc2'] as Dc[])('a killed %s server', (dc) => {
  test('is recreated by a plain apply of both stacks, with its data: the same ACLs, entries and registrations, federated again, nothing left to plan', async () => {
    const policiesBefore = (await api('dc1', '/v1/acl/policies')).json.map((p: any) => p.Name).sort();
    const tokensBefore = (await api('dc1', '/v1/acl/tokens')).json.map((t: any) => t.AccessorID).sort();
    const containerBefore = await engine.mustDocker(['inspect', '--format', '{{.Id}}', SERVER[dc]]);
    await engine.mustDocker(['kill', SERVER[dc]]);
    expect(await engine.mustDocker(['inspect', '--format', '{{.State.Running}}', SERVER[dc]])).toBe('false');
    if (dc === 'dc1') {
      // The Consul side alone cannot even refresh (every consul provider
      // reaches Consul through dc1's server): the servers' stack goes first.
      const consulSide = await deployment.of('pair').plan();
      expect(consulSide.code).toBe(1);
      expect(consulSide.stderr).toMatch(/127\.0\.0\.1:8500/);
    }

    const runs = await timed(`plain apply of both stacks, ${dc} dead`, () => deployment.apply());
    // The container, and its upgrade step again (replaced with it: it waits until the server is up).
    expect(runs.map((r) => /Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed/.exec(r.stdout)?.slice(1).join('/')))
      .toEqual(['2/0/1', '0/0/0']);
    await deployment.expectNoChanges();

    expect(await engine.mustDocker(['inspect', '--format', '{{.Id}}', SERVER[dc]])).not.toBe(containerBefore);
    expect((await api(dc, '/v1/status/leader', null)).json).toBe(`10.249.${dc === 'dc1' ? 1 : 2}.10:8300`);
    expect((await api('dc1', '/v1/acl/policies')).json.map((p: any) => p.Name).sort()).toEqual(policiesBefore);
    expect(policiesBefore).toEqual(expect.arrayContaining(['consul-acl-replication', 'mesh-gateway-dc1', 'mesh-gateway-dc2']));
    // No token made again: the agent token and (dc2) the replication token the server was handed came back from its volume.
    expect((await api('dc1', '/v1/acl/tokens')).json.map((t: any) => t.AccessorID).sort()).toEqual(tokensBefore);
    for (const entry of ['proxy-defaults/global', 'service-defaults/api']) expect((await api(dc, `/v1/config/${entry}?stale`)).status).toBe(200);
    // The gateway registered with the old container's agent survives too (agent state on the volume).
    expect((await api(dc, '/v1/catalog/service/mesh-gateway')).json).toHaveLength(1);
    await eventually('dc2 replicating again', async () => (await api('dc2', '/v1/acl/replication')).json, replicating);
    await eventually('both servers alive on the WAN', async () => (await engine.docker(['exec', '-e', `CONSUL_HTTP_TOKEN=${token}`, SERVER.dc2, 'consul', 'members', '-wan'])).stdout,
      (out) => (out.match(/ alive /g) ?? []).length === 2);
  }, 5 * 60_000);
});

describe('destroy', () => {
  test('of both stacks, the Consul side first, removes every container, network and volume', async () => {
    await timed('tofu destroy (both stacks)', () => deployment.destroy());
    destroyed = true;
    expect(await deployment.deployed()).toBe(false);
    // The engine is the suite's own: nothing at all may be left on it but the image.
    expect(await deployment.leftovers()).toEqual([]);
  }, 5 * 60_000);
});

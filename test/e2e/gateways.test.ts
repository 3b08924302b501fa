// The ingress, terminating and peering examples deployed for real, one after
// the other, on a Docker engine of the suite's own: OpenTofu with the two
// providers the stack pins applies each, the gateways' registration
// containers run the library's exact `consul connect envoy` commands, a
// plan right after apply has nothing to change, and destroy leaves nothing.
// Envoy is not available here (no build is reachable): Envoy containers are
// off, and the checks stop where traffic through a gateway would begin.
// Peering without gateways (servers dialing each other) runs to the end;
// peering and federation through mesh gateways run up to that line.
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { IngressExample } from '../../examples/ingress/main';
import { PeeringExample } from '../../examples/peering/main';
import { TerminatingExample } from '../../examples/terminating/main';
import { ConsulVersion, DockerDatacenter, FederationMethod } from '../../lib';
import { DockerDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { eventually as poll } from '../support/eventually';
import { Served, xdsAt } from '../support/mesh-fixtures';
import { pairVariables } from '../support/pair-deployment';
import { addressOf, resourceAt, synthJson, uploadedConfig } from '../support/synth';
import { StateValues } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

const consulBin = requireTool('consul');
/** The Consul the suite's image runs (the tools'): what the xDS reader presents itself to. */
const consulVersion = ConsulVersion.of(toolVersion('consul'));
/**
 * What Consul would serve the Envoy of a gateway replica registered through
 * the datacenter's first server (10.249.<n>.10), read from its plaintext
 * gRPC port from inside the suite's engine's network namespace (the only
 * place its networks exist).
 */
const servedTo = (server: string, token: string, proxyId: string, service: string): Served =>
  xdsAt(`${server}:8502`, token, proxyId, service, consulVersion, (argv) => engine.inEngineNetwork(argv));
const portOf = (address: string) => Number(address.split(':').pop());
const eventually = <T>(what: string, read: () => Promise<T>, ok: (t: T) => boolean, timeoutMs = 60_000) =>
  poll(what, read, ok, timeoutMs, 500);

let engine: DockerEngine;
let image: string;
const timings: string[] = [];

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}

/** A call to the HTTP API a stack publishes on 127.0.0.1:<port>. */
async function call(port: number, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${await engine.publish(port)}${path}`, {
    method,
    headers: { 'X-Consul-Token': token },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

/** Deploys a stack for real, hands it to `checks`, then destroys it and requires nothing left on the engine. */
function deployed(name: string, synth: () => any, vars: Record<string, string>) {
  const ctx = {} as { json: any; deployment: DockerDeployment; state: StateValues };
  beforeAll(async () => {
    ctx.json = synth();
    ctx.deployment = new DockerDeployment(engine, ctx.json, vars);
    await ctx.deployment.clearEngine();
    await timed(`${name}: tofu apply`, () => ctx.deployment.apply());
    ctx.state = await ctx.deployment.state();
  }, 10 * 60_000);
  afterAll(async () => {
    await ctx.deployment?.destroy().catch(() => ctx.deployment.clearEngine());
    ctx.deployment?.workspace.remove();
  }, 5 * 60_000);
  return ctx;
}

function secretOf(ctx: { json: any; state: StateValues }, path: string): string {
  return ctx.state.get(`data.${addressOf(ctx.json, 'data.consul_acl_token_secret_id', path).slice('data.'.length)}`)!.secret_id;
}

/** A second apply finds nothing to do: no container replaced, no token made again. */
async function expectReapplyChangesNothing(deployment: DockerDeployment, name: string): Promise<void> {
  const again = await timed(`${name}: tofu re-apply`, () => deployment.apply());
  expect(again.stdout).toContain('Apply complete! Resources: 0 added, 0 changed, 0 destroyed.');
}

async function expectDestroyLeavesNothing(deployment: DockerDeployment, name: string): Promise<void> {
  await timed(`${name}: tofu destroy`, () => deployment.destroy());
  expect(await deployment.workspace.stateList()).toEqual([]);
  expect(await deployment.leftovers()).toEqual([]);
}

beforeAll(async () => {
  engine = await startDockerEngine({ name: 'e2e-gateways' });
  image = await ensureConsulImage(engine, consulBin);
}, 20 * 60_000);

afterAll(async () => {
  await engine?.stop();
  if (timings.length > 0) process.stderr.write(`e2e gateways timings: ${timings.join(', ')}\n`);
}, 5 * 60_000);

describe('ingress gateway (examples/ingress)', () => {
  const { token, vars } = pairVariables(consulBin, 'dc1');
  const ctx = deployed('ingress', () => synthJson(new IngressExample(Testing.app(), 'ingress', { image, startEnvoy: false })), vars);
  const api = (method: string, path: string, body?: unknown, as = token) => call(8500, as, method, path, body);

  test('a plan right after apply has nothing to change, and a second apply changes nothing', async () => {
    await timed('ingress: tofu plan', () => ctx.deployment.expectNoChanges());
    await expectReapplyChangesNothing(ctx.deployment, 'ingress');
  });

  test('Consul stores the listeners as sent and routes them to the services', async () => {
    const stored = (await api('GET', '/v1/config/ingress-gateway/ingress-gateway')).json;
    expect(stored.Listeners).toEqual([
      { Port: 8080, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['shop.example.com'] }, { Name: 'api', Hosts: ['api.shop.example.com'] }] },
      { Port: 5432, Protocol: 'tcp', Services: [{ Name: 'db', Hosts: null }] },
    ]);
    const routes = (await api('GET', '/v1/catalog/gateway-services/ingress-gateway')).json;
    expect(routes.map((r: any) => [r.Service.Name, r.Port, r.Protocol, r.Hosts ?? null]).sort()).toEqual([
      ['api', 8080, 'http', ['api.shop.example.com']], ['db', 5432, 'tcp', null], ['web', 8080, 'http', ['shop.example.com']],
    ]);
  });

  test('Consul serves its Envoy a listener per port, and on the http one a route per host to that service', () => {
    const served = servedTo('10.249.1.10', token, 'ingress-gateway-0', 'ingress-gateway');
    const byPort = new Map(served.listeners.map((l) => [portOf(l.address), l]));
    expect([...byPort.keys()].sort()).toEqual([5432, 8080]);
    expect(byPort.get(5432)!.filterChains.map((fc) => fc.filters)).toEqual([['envoy.filters.network.tcp_proxy']]);
    const [rds] = byPort.get(8080)!.filterChains.map((fc) => fc.rds);
    const routes = served.routes.find((r) => r.name === rds)!;
    const hosts = routes.virtualHosts.map((v) => [v.domains.filter((d) => !d.includes(':')), v.clusters.map((c) => c.split('.')[0])]);
    expect(hosts.sort()).toEqual([[['api.shop.example.com'], ['api']], [['shop.example.com'], ['web']]]);
  });

  test('its registration container registered the gateway with its token, which may do nothing else', async () => {
    const policy = resourceAt(ctx.json, 'consul_acl_policy', 'ingress/Acl/Policy');
    expect((await api('GET', '/v1/acl/policy/name/ingress-gateway-dc1')).json).toMatchObject({ Rules: policy.rules, Datacenters: ['dc1'] });
    const catalog = (await api('GET', '/v1/catalog/service/ingress-gateway')).json;
    expect(catalog.map((s: any) => ({ kind: s.ServiceKind, id: s.ServiceID, address: s.ServiceAddress, port: s.ServicePort })))
      .toEqual([{ kind: 'ingress-gateway', id: 'ingress-gateway-0', address: '10.249.1.11', port: 8888 }]);
    const secret = secretOf(ctx, 'ingress/Acl/Secret');
    const other = await api('PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 }, secret);
    const kv = await api('PUT', '/v1/kv/ingress-was-here', 'x', secret);
    expect([other.status, kv.status]).toEqual([403, 403]);
  });

  test('destroy leaves nothing', () => expectDestroyLeavesNothing(ctx.deployment, 'ingress'), 5 * 60_000);
});

describe('terminating gateway (examples/terminating)', () => {
  const { token, vars } = pairVariables(consulBin, 'dc1');
  const ctx = deployed('terminating', () => synthJson(new TerminatingExample(Testing.app(), 'terminating', { image, startEnvoy: false })), vars);
  const api = (method: string, path: string, body?: unknown, as = token) => call(8500, as, method, path, body);

  test('a plan right after apply has nothing to change, and a second apply changes nothing', async () => {
    await timed('terminating: tofu plan', () => ctx.deployment.expectNoChanges());
    await expectReapplyChangesNothing(ctx.deployment, 'terminating');
  });

  test('Consul serves its Envoy a cluster that reaches the linked service with the configured SNI and CA', () => {
    const served = servedTo('10.249.1.10', token, 'terminating-gateway-0', 'terminating-gateway');
    const billing = served.clusters.filter((c) => c.name.startsWith('billing.default.dc1.'));
    expect(billing.map((c) => ({ sni: c.sni, caFile: c.caFile }))).toEqual([{ sni: 'billing.example.com', caFile: '/etc/ssl/certs/ca-certificates.crt' }]);
    expect(served.endpoints[billing[0].name]).toEqual(['192.0.2.10:443']);
    // Mesh traffic for billing arrives by its SNI and passes the intentions (RBAC) first.
    const chains = served.listeners.flatMap((l) => l.filterChains);
    expect(chains.find((fc) => (fc.serverNames ?? []).includes(billing[0].name))?.filters)
      .toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
  });

  test('the external service is in the catalog on its own node, and the gateway represents it with TLS', async () => {
    const instances = (await api('GET', '/v1/catalog/service/billing')).json;
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      Node: 'billing-saas', Address: '192.0.2.10', NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
      ServiceName: 'billing', ServiceAddress: '192.0.2.10', ServicePort: 443,
    });
    const linked = (await api('GET', '/v1/catalog/gateway-services/terminating-gateway')).json;
    expect(linked.map((l: any) => ({ service: l.Service.Name, ca: l.CAFile, sni: l.SNI, kind: l.GatewayKind }))).toEqual([
      { service: 'billing', ca: '/etc/ssl/certs/ca-certificates.crt', sni: 'billing.example.com', kind: 'terminating-gateway' },
    ]);
  });

  test('intentions read back in Consul\'s order: web allowed, everything else denied', async () => {
    const stored = (await api('GET', '/v1/config/service-intentions/billing')).json;
    expect(stored.Sources.map((s: any) => `${s.Name} ${s.Action}`)).toEqual(['web allow', '* deny']);
  });

  test('its registration container registered the gateway; its token may write the linked service and is refused an unlinked one', async () => {
    expect((await api('GET', '/v1/catalog/service/terminating-gateway')).json.map((s: any) => [s.ServiceKind, s.ServicePort]))
      .toEqual([['terminating-gateway', 9443]]);
    const secret = secretOf(ctx, 'egress/Acl/Secret');
    const unlinked = await api('PUT', '/v1/agent/service/register', { Name: 'unlinked', Port: 80 }, secret);
    const linked = await api('PUT', '/v1/agent/service/register', { Name: 'billing', ID: 'billing-probe', Port: 443 }, secret);
    expect({ unlinked: unlinked.status, linked: linked.status }).toEqual({ unlinked: 403, linked: 200 });
    expect(unlinked.text).toMatch(/Permission denied/);
    expect((await api('PUT', '/v1/agent/service/deregister/billing-probe')).status).toBe(200);
  });

  test('destroy leaves nothing', () => expectDestroyLeavesNothing(ctx.deployment, 'terminating'), 5 * 60_000);
});

describe('cluster peering without gateways: the servers dial each other (examples/peering, throughMeshGateways: false)', () => {
  const { token, vars } = pairVariables(consulBin, 'east', 'west');
  const ctx = deployed('peering (direct)', () => synthJson(new PeeringExample(Testing.app(), 'peering', { image, startEnvoy: false, throughMeshGateways: false })), vars);
  const east = (method: string, path: string, body?: unknown) => call(8500, token, method, path, body);
  const west = (method: string, path: string, body?: unknown) => call(8510, token, method, path, body);

  test('the peering is ACTIVE on both sides', async () => {
    const [e, w] = await Promise.all([
      eventually('east\'s peering', () => east('GET', '/v1/peering/west'), (r) => r.json?.State === 'ACTIVE'),
      eventually('west\'s peering', () => west('GET', '/v1/peering/east'), (r) => r.json?.State === 'ACTIVE'),
    ]);
    // Each side's peering names the other cluster's datacenter.
    expect(e.json.Remote).toMatchObject({ Datacenter: 'west' });
    expect(w.json.Remote).toMatchObject({ Datacenter: 'east' });
  });

  test('west imports the api east exports, and east allows west\'s web to call it', async () => {
    expect((await east('PUT', '/v1/catalog/register', { Node: 'api-host', Address: '10.249.1.99', Service: { Service: 'api', Port: 9090 } })).status).toBe(200);
    const imported = await eventually('api imported into west', () => west('GET', '/v1/health/service/api?peer=east'), (r) => r.json?.length === 1);
    expect(imported.json[0].Service).toMatchObject({ Service: 'api', Port: 9090, PeerName: 'east' });
    const intentions = (await east('GET', '/v1/config/service-intentions/api')).json;
    expect(intentions.Sources).toEqual([expect.objectContaining({ Name: 'web', Peer: 'west', Action: 'allow' })]);
  });

  test('a plan right after apply has nothing to change, and a second apply changes nothing', async () => {
    // The catalog registration above is not the stack's: it must not show.
    await timed('peering (direct): tofu plan', () => ctx.deployment.expectNoChanges());
    await expectReapplyChangesNothing(ctx.deployment, 'peering (direct)');
  });

  test('destroy leaves nothing', () => expectDestroyLeavesNothing(ctx.deployment, 'peering (direct)'), 5 * 60_000);
});

describe('cluster peering through mesh gateways (examples/peering), up to where Envoy would carry it', () => {
  const { token, vars } = pairVariables(consulBin, 'east', 'west');
  const ctx = {} as { json: any; deployment: DockerDeployment; state: StateValues };
  const east = (method: string, path: string, body?: unknown) => call(8500, token, method, path, body);

  beforeAll(async () => {
    ctx.json = synthJson(new PeeringExample(Testing.app(), 'peering', { image, startEnvoy: false }));
    ctx.deployment = new DockerDeployment(engine, ctx.json, vars);
    await ctx.deployment.clearEngine();
    // Everything the peering token needs (the mesh entries, both gateways
    // registered), and the token: the dialer's establish would dial the
    // acceptor's gateway through its own, which needs Envoy.
    await ctx.deployment.workspace.init();
    await timed('peering (gateways): tofu apply -target token', () => ctx.deployment.applyTargets([
      addressOf(ctx.json, 'consul_peering_token', 'peering/Token'),
      addressOf(ctx.json, 'docker_container', 'west/gateway/Replica0/Registration'),
    ]));
    ctx.state = await ctx.deployment.state();
  }, 10 * 60_000);
  afterAll(async () => {
    await ctx.deployment?.destroy().catch(() => ctx.deployment.clearEngine());
    ctx.deployment?.workspace.remove();
  }, 5 * 60_000);

  test('both clusters\' mesh entries turn on PeerThroughMeshGateways, and both gateways registered with peering read', async () => {
    for (const port of [8500, 8510]) {
      expect((await call(port, token, 'GET', '/v1/config/mesh/mesh')).json).toMatchObject({ Kind: 'mesh', Peering: { PeerThroughMeshGateways: true } });
      expect((await call(port, token, 'GET', '/v1/catalog/service/mesh-gateway')).json).toHaveLength(1);
    }
    for (const side of ['east', 'west']) expect(resourceAt(ctx.json, 'consul_acl_policy', `${side}/gateway/Acl/Policy`).rules).toContain('peering = "read"');
  });

  test('the token names the acceptor\'s gateway WAN address, and east waits for west to dial', async () => {
    const token64 = ctx.state.get(addressOf(ctx.json, 'consul_peering_token', 'peering/Token'))!.peering_token as string;
    const decoded = JSON.parse(Buffer.from(token64, 'base64').toString('utf8'));
    const wan = /-wan-address (\S+)/.exec(resourceAt(ctx.json, 'docker_container', 'east/gateway/Replica0/Registration').command[0])![1];
    expect(decoded).toMatchObject({ ServerAddresses: [wan], Remote: { Datacenter: 'east' } });
    expect((await east('GET', '/v1/peering/west')).json).toMatchObject({ Name: 'west', State: 'PENDING' });
  });

  test('Consul refuses a token while no mesh gateway is registered: why the token waits for registration', async () => {
    expect((await east('PUT', '/v1/agent/service/deregister/mesh-gateway-0')).status).toBe(200);
    const early = await east('POST', '/v1/peering/token', { PeerName: 'too-early' });
    expect({ status: early.status, text: early.text }).toEqual({ status: 500, text: expect.stringMatching(/no mesh gateway instances are registered/) });
    expect(resourceAt(ctx.json, 'consul_peering_token', 'peering/Token').depends_on)
      .toContain(addressOf(ctx.json, 'docker_container', 'east/gateway/Replica0/Registration'));
  });

  test('destroy leaves nothing', () => expectDestroyLeavesNothing(ctx.deployment, 'peering (gateways)'), 5 * 60_000);
});

describe('federation through mesh gateways (examples/federated-pair, FederationMethod.meshGateways()), up to where Envoy would carry it', () => {
  const { token, vars } = pairVariables(consulBin);
  const ctx = {} as { json: any; deployment: DockerDeployment };
  const dc1 = (path: string) => call(8500, token, 'GET', path);

  beforeAll(async () => {
    ctx.json = synthJson(new FederatedPair(Testing.app(), 'mesh', { image, method: FederationMethod.meshGateways(), startEnvoy: false }));
    ctx.deployment = new DockerDeployment(engine, ctx.json, vars);
    await ctx.deployment.clearEngine();
    // dc1 with its gateway registered (exposing its servers): dc2's servers
    // would then dial dc1 through that gateway's Envoy, which cannot run here.
    await timed('mesh federation: tofu apply -target dc1 gateway', () => ctx.deployment.applyTargets([
      addressOf(ctx.json, 'docker_container', 'fed/dc1/gateway/Replica0/Registration'),
    ]));
  }, 10 * 60_000);
  afterAll(async () => {
    await ctx.deployment?.destroy().catch(() => ctx.deployment.clearEngine());
    ctx.deployment?.workspace.remove();
  }, 5 * 60_000);

  test('the primary\'s gateway registers with consul-wan-federation meta (-expose-servers), and its servers run TLS', async () => {
    const gateway = (await dc1('/v1/catalog/service/mesh-gateway')).json;
    expect(gateway).toHaveLength(1);
    expect(gateway[0]).toMatchObject({ ServiceKind: 'mesh-gateway', ServiceMeta: { 'consul-wan-federation': '1' } });
    const self = (await dc1('/v1/agent/self')).json;
    expect(self.DebugConfig).toMatchObject({ ConnectMeshGatewayWANFederationEnabled: true });
    expect(self.DebugConfig.TLS.InternalRPC).toMatchObject({ VerifyIncoming: true, VerifyServerHostname: true });
  });

  test('Consul serves that gateway\'s Envoy an SNI filter chain and clusters for dc1\'s servers', () => {
    const served = servedTo('10.249.1.10', token, 'mesh-gateway-0', 'mesh-gateway');
    const chains = served.listeners.flatMap((l) => l.filterChains);
    // The server itself by its own SNI; `server.dc1.consul` (any server) through the SNI-routed default chain.
    expect(chains.find((fc) => (fc.serverNames ?? []).includes('dc1-server-0.server.dc1.consul'))?.filters).toEqual(['envoy.filters.network.tcp_proxy']);
    expect(chains.some((fc) => fc.serverNames === undefined && fc.filters.includes('envoy.filters.network.sni_cluster'))).toBe(true);
    expect({ any: served.endpoints['server.dc1.consul'], one: served.endpoints['dc1-server-0.server.dc1.consul'] })
      .toEqual({ any: ['10.249.1.10:8300'], one: ['10.249.1.10:8300'] });
  });

  test('dc2\'s servers are told to reach dc1 through that gateway\'s WAN address', () => {
    const wan = /-wan-address (\S+)/.exec(resourceAt(ctx.json, 'docker_container', 'fed/dc1/gateway/Replica0/Registration').command[0])![1];
    const config = uploadedConfig(resourceAt(ctx.json, 'docker_container', 'fed/dc2/Server0/Container'));
    expect(config).toMatchObject({ primary_gateways: [wan], connect: { enable_mesh_gateway_wan_federation: true } });
  });

  test('destroy leaves nothing', () => expectDestroyLeavesNothing(ctx.deployment, 'mesh federation'), 5 * 60_000);
});

describe('secrets passed in as references are checked at plan time', () => {
  test('a malformed token and gossip key fail `tofu plan` naming both, without showing them, and nothing is created', async () => {
    const stack = new TerraformStack(Testing.app(), 'mine');
    const token = new TerraformVariable(stack, 'my_token', { type: 'string', sensitive: true });
    const key = new TerraformVariable(stack, 'my_key', { type: 'string', sensitive: true });
    new DockerDatacenter(stack, 'mine', { name: 'mine', image, managementToken: token.stringValue, gossipKey: key.stringValue });
    const deployment = new DockerDeployment(engine, synthJson(stack), { my_token: 'not-a-uuid', my_key: 'not-a-key' });
    try {
      await deployment.clearEngine();
      await deployment.workspace.init();
      const plan = await deployment.plan();
      expect(plan.code).toBe(1);
      const errors = plan.stderr.replace(/\s+/g, ' ');
      expect(errors).toContain('The management token of mine/mine must be a UUID, e.g. the output of uuidgen.');
      expect(errors).toContain('The gossip key of mine/mine must be 32 bytes in base64, e.g. the output of consul keygen.');
      expect(plan.stdout + plan.stderr).not.toMatch(/not-a-uuid|not-a-key/);
      expect(await deployment.leftovers()).toEqual([]);
    } finally {
      deployment.workspace.remove();
    }
  }, 5 * 60_000);
});

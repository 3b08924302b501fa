// Ingress and terminating gateways, intentions and cluster peering, sent to
// real Consul servers: dc1 + dc2 (one WAN-federated cluster) and dc3 (a
// cluster of its own, to peer with). consul-api-apply stands in for the
// provider (see README, Limits) and provider-diff answers, with Consul's own
// API module, whether the provider would plan a change right after apply.
// Envoy is not available here: gateways are registered and bootstrapped by
// the exact commands the library runs, and tests stop where traffic through a
// gateway would begin.
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { IngressExample } from '../../examples/ingress/main';
import { PeeringExample } from '../../examples/peering/main';
import { TerminatingExample } from '../../examples/terminating/main';
import { IntentionAction, ServiceIntentions } from '../../lib/config-entries/service-intentions';
import { ExistingDatacenter } from '../../lib/datacenter/existing-datacenter';
import { ClusterPeering } from '../../lib/peering/cluster-peering';
import { Applied, applyConsulResources, ApplyOptions } from '../support/consul-api-apply';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { PlanAnswer, planAfterApply } from '../support/provider-diff';
import { runRegistration } from '../support/registration';
import { addressOf, resourceAt, synthJson as synth } from '../support/synth';
import { eventually } from '../support/eventually';
import { requireTool } from '../support/tools';

const consulBin = requireTool('consul');
let cluster: ConsulCluster;

const agentFor = (dc: Datacenter) => (dc === 'dc1' ? cluster.dc1 : dc === 'dc2' ? cluster.dc2 : cluster.dc3);
const api = (dc: Datacenter, method: string, path: string, body?: unknown, token = cluster.managementToken) => cluster.api(dc, method, path, body, token);

/** The example stacks publish dc1 on 127.0.0.1:8500 (and a second cluster on :8510); harness agents stand in for them. */
function apply(json: any, agents: Record<string, Datacenter>, options?: ApplyOptions): Promise<Applied> {
  return applyConsulResources(cluster, json, cluster.managementToken, (address) => {
    const agent = agents[address];
    if (!agent) throw new Error(`no harness agent for provider address ${address}`);
    return agent;
  }, options);
}

/** What the provider would plan for every config entry of `json` right after apply, reading through `agent`. */
function planEntries(json: any, agent: Datacenter): { entry: string; equal: boolean; answer: PlanAnswer }[] {
  const entries = Object.values<any>(json.resource.consul_config_entry);
  return planAfterApply(entries.map((e) => ({
    address: agentFor(agent).httpAddr, token: cluster.managementToken, datacenter: agent,
    kind: e.kind, name: e.name, config_json: e.config_json,
  }))).map((answer) => ({ entry: `${answer.kind}/${answer.name}`, equal: answer.equal, answer }));
}
const noPlanDiff = (json: any) => Object.values<any>(json.resource.consul_config_entry).map((e) => ({ entry: `${e.kind}/${e.name}`, equal: true }));

const secretOf = (applied: Applied, json: any, path: string): string =>
  applied.state.get(addressOf(json, 'data.consul_acl_token_secret_id', path))!.secret_id;

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, peerCluster: true });
  await cluster.waitForLeaders();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('ingress gateway (examples/ingress)', () => {
  let json: any;
  let applied: Applied;
  beforeAll(async () => {
    json = synth(new IngressExample(Testing.app(), 'ingress', { startEnvoy: false }));
    // The ingress entry depends on the service-defaults it needs: applied in that order or refused.
    applied = await apply(json, { '127.0.0.1:8500': 'dc1' });
  });
  afterAll(async () => applied?.destroy());

  test.each(['dc1', 'dc2'] as Datacenter[])('every entry reads back from %s so that a plan after apply has nothing to change', async (dc) => {
    await eventually(`ingress-gateway entry replicated to ${dc}`, () => api(dc, 'GET', '/v1/config/ingress-gateway/ingress-gateway'), (r) => r.status === 200);
    expect(planEntries(json, dc).map(({ entry, equal }) => ({ entry, equal }))).toEqual(noPlanDiff(json));
  });

  test('Consul stores the listeners as sent and routes them to the services', async () => {
    const stored = (await api('dc1', 'GET', '/v1/config/ingress-gateway/ingress-gateway')).json;
    expect(stored.Listeners).toEqual([
      { Port: 8080, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['shop.example.com'] }, { Name: 'api', Hosts: ['api.shop.example.com'] }] },
      { Port: 5432, Protocol: 'tcp', Services: [{ Name: 'db', Hosts: null }] },
    ]);
    const routes = (await api('dc1', 'GET', '/v1/catalog/gateway-services/ingress-gateway')).json;
    expect(routes.map((r: any) => [r.Service.Name, r.Port, r.Protocol, r.Hosts ?? null]).sort()).toEqual([
      ['api', 8080, 'http', ['api.shop.example.com']], ['db', 5432, 'tcp', null], ['web', 8080, 'http', ['shop.example.com']],
    ]);
  });

  test('its token registers the gateway with the exact command the library runs, and nothing else', async () => {
    const secret = secretOf(applied, json, 'ingress/Acl/Secret');
    const policy = resourceAt(json, 'consul_acl_policy', 'ingress/Acl/Policy');
    expect((await api('dc1', 'GET', '/v1/acl/policy/name/ingress-gateway-dc1')).json).toMatchObject({ Rules: policy.rules, Datacenters: ['dc1'] });

    const registration = runRegistration(consulBin, cluster.dc1, resourceAt(json, 'docker_container', 'ingress/Replica0/Registration').command[0], secret);
    expect({ status: registration.status, stderr: registration.stderr }).toEqual({ status: 0, stderr: '' });
    expect(registration.bootstrap.node).toMatchObject({ id: 'ingress-gateway-0', cluster: 'ingress-gateway' });
    const service = (await api('dc1', 'GET', '/v1/agent/service/ingress-gateway-0')).json;
    expect(service).toMatchObject({ Kind: 'ingress-gateway', Service: 'ingress-gateway', Address: '10.249.1.11', Port: 8888 });

    const other = await api('dc1', 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 }, secret);
    const kv = await api('dc1', 'PUT', '/v1/kv/ingress-was-here', 'x', secret);
    expect([other.status, kv.status]).toEqual([403, 403]);
    await api('dc1', 'PUT', '/v1/agent/service/deregister/ingress-gateway-0');
  });
});

describe('terminating gateway (examples/terminating)', () => {
  let json: any;
  let applied: Applied;
  beforeAll(async () => {
    json = synth(new TerminatingExample(Testing.app(), 'terminating', { startEnvoy: false }));
    applied = await apply(json, { '127.0.0.1:8500': 'dc1' });
  });
  afterAll(async () => applied?.destroy());

  test.each(['dc1', 'dc2'] as Datacenter[])('the terminating-gateway and intentions entries read back from %s with nothing to plan', async (dc) => {
    await eventually(`entries replicated to ${dc}`, () => api(dc, 'GET', '/v1/config/service-intentions/billing'), (r) => r.status === 200);
    expect(planEntries(json, dc).map(({ entry, equal }) => ({ entry, equal }))).toEqual(noPlanDiff(json));
  });

  test('the external service is in dc1\'s catalog on its own node, and the gateway represents it with TLS', async () => {
    const instances = (await api('dc1', 'GET', '/v1/catalog/service/billing')).json;
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      Node: 'billing-saas', Address: '192.0.2.10', NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
      ServiceName: 'billing', ServiceAddress: '192.0.2.10', ServicePort: 443,
    });
    const linked = (await api('dc1', 'GET', '/v1/catalog/gateway-services/terminating-gateway')).json;
    expect(linked.map((l: any) => ({ service: l.Service.Name, ca: l.CAFile, sni: l.SNI, kind: l.GatewayKind }))).toEqual([
      { service: 'billing', ca: '/etc/ssl/certs/ca-certificates.crt', sni: 'billing.example.com', kind: 'terminating-gateway' },
    ]);
  });

  test('its token registers the gateway (-gateway=terminating) and may write the linked service, but is refused (403) an unlinked one', async () => {
    const secret = secretOf(applied, json, 'egress/Acl/Secret');
    expect((await api('dc1', 'GET', '/v1/acl/policy/name/terminating-gateway-dc1')).json.Rules)
      .toBe(resourceAt(json, 'consul_acl_policy', 'egress/Acl/Policy').rules);

    const command = resourceAt(json, 'docker_container', 'egress/Replica0/Registration').command[0];
    expect(command).toContain('-gateway=terminating');
    const registration = runRegistration(consulBin, cluster.dc1, command, secret);
    expect({ status: registration.status, stderr: registration.stderr }).toEqual({ status: 0, stderr: '' });
    expect((await api('dc1', 'GET', '/v1/agent/service/terminating-gateway-0')).json)
      .toMatchObject({ Kind: 'terminating-gateway', Port: 9443, Address: '10.249.1.11' });

    const unlinked = await api('dc1', 'PUT', '/v1/agent/service/register', { Name: 'unlinked', Port: 80 }, secret);
    const linked = await api('dc1', 'PUT', '/v1/agent/service/register', { Name: 'billing', ID: 'billing-probe', Port: 443 }, secret);
    expect({ unlinked: unlinked.status, linked: linked.status }).toEqual({ unlinked: 403, linked: 200 });
    expect(unlinked.text).toMatch(/Permission denied/);
    await api('dc1', 'PUT', '/v1/agent/service/deregister/billing-probe');
    await api('dc1', 'PUT', '/v1/agent/service/deregister/terminating-gateway-0');
  });
});

/** A stack on the harness agents themselves, as datacenters that already run. */
function existing(...names: Datacenter[]): { stack: TerraformStack; dcs: Record<string, ExistingDatacenter>; agents: Record<string, Datacenter> } {
  const stack = new TerraformStack(Testing.app(), 'existing');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dcs: Record<string, ExistingDatacenter> = {};
  const agents: Record<string, Datacenter> = {};
  for (const name of names) {
    const address = agentFor(name).httpAddr;
    dcs[name] = new ExistingDatacenter(stack, name, { name, address, token: token.stringValue, primaryDatacenter: name === 'dc2' ? 'dc1' : name });
    agents[address] = name;
  }
  return { stack, dcs, agents };
}

describe('service intentions', () => {
  test('read back exactly as sent, sources in Consul\'s order with its Precedence and Type', async () => {
    const { stack, dcs, agents } = existing('dc1');
    new ServiceIntentions(stack, 'orders', {
      datacenter: dcs.dc1,
      destination: 'orders',
      sources: [
        { name: '*', action: IntentionAction.deny() },
        { name: 'reports', peer: 'partner', action: IntentionAction.allow() },
        { name: 'web', action: IntentionAction.allow(), description: 'storefront' },
      ],
    });
    new ServiceIntentions(stack, 'everything', {
      datacenter: dcs.dc1, destination: '*', sources: [{ name: '*', action: IntentionAction.deny() }, { name: 'admin', action: IntentionAction.allow() }],
    });
    const json = synth(stack);
    const applied = await apply(json, agents);
    try {
      expect(planEntries(json, 'dc1').map(({ entry, equal }) => ({ entry, equal }))).toEqual(noPlanDiff(json));
      const stored = (await api('dc1', 'GET', '/v1/config/service-intentions/orders')).json;
      expect(stored.Sources.map((s: any) => [s.Name, s.Peer, s.Action, s.Precedence])).toEqual([
        ['reports', 'partner', 'allow', 9], ['web', undefined, 'allow', 9], ['*', undefined, 'deny', 8],
      ]);
      const all = (await api('dc1', 'GET', '/v1/config/service-intentions/*')).json;
      expect(all.Sources.map((s: any) => [s.Name, s.Precedence])).toEqual([['admin', 6], ['*', 5]]);
      // Intentions work: Consul decides from them.
      const check = await api('dc1', 'GET', '/v1/connect/intentions/check?source=web&destination=orders');
      expect(check.json).toEqual({ Allowed: true });
      expect((await api('dc1', 'GET', '/v1/connect/intentions/check?source=cron&destination=orders')).json).toEqual({ Allowed: false });
    } finally {
      await applied.destroy();
    }
  });

  test('Consul CE refuses a source namespace (an Enterprise field): the option is for Enterprise only', async () => {
    const { stack, dcs, agents } = existing('dc1');
    new ServiceIntentions(stack, 'ns', { datacenter: dcs.dc1, destination: 'orders', sources: [{ name: 'web', namespace: 'frontend', action: IntentionAction.allow() }] });
    await expect(apply(synth(stack), agents)).rejects.toThrow(/namespaces are a consul enterprise feature/);
  });
});

describe('cluster peering, direct (dc1 ↔ dc3, two independent clusters)', () => {
  let json: any;
  let applied: Applied;
  beforeAll(async () => {
    const { stack, dcs, agents } = existing('dc1', 'dc3');
    const peering = new ClusterPeering(stack, 'peering', {
      acceptor: dcs.dc1, dialer: dcs.dc3, dialerName: 'dc3-direct', acceptorName: 'dc1-direct', throughMeshGateways: false,
    });
    peering.exportService({ service: 'api', allowedCallers: ['web'] });
    peering.exportService({ service: 'inventory', exportedFrom: dcs.dc3 });
    json = synth(stack);
    applied = await apply(json, agents);
    // A service instance in each cluster, so exports have something to show.
    await api('dc1', 'PUT', '/v1/catalog/register', { Node: 'api-host', Address: '127.0.0.1', Service: { Service: 'api', Port: 9090 } });
    await api('dc3', 'PUT', '/v1/catalog/register', { Node: 'inventory-host', Address: '127.0.0.1', Service: { Service: 'inventory', Port: 9091 } });
  });
  afterAll(async () => {
    await api('dc1', 'PUT', '/v1/catalog/deregister', { Node: 'api-host' });
    await api('dc3', 'PUT', '/v1/catalog/deregister', { Node: 'inventory-host' });
    await applied?.destroy();
  });

  test('the token from dc1 establishes the peering in dc3: both sides become ACTIVE', async () => {
    const [acceptor, dialer] = await Promise.all([
      eventually('dc1\'s peering', () => api('dc1', 'GET', '/v1/peering/dc3-direct'), (r) => r.json?.State === 'ACTIVE'),
      eventually('dc3\'s peering', () => api('dc3', 'GET', '/v1/peering/dc1-direct'), (r) => r.json?.State === 'ACTIVE'),
    ]);
    expect(acceptor.json).toMatchObject({ Name: 'dc3-direct', State: 'ACTIVE', Remote: { Datacenter: 'dc3' } });
    expect(dialer.json).toMatchObject({ Name: 'dc1-direct', State: 'ACTIVE', Remote: { Datacenter: 'dc1' }, PeerServerAddresses: [`127.0.0.1:${cluster.dc1.ports.grpc_tls}`] });
  });

  test('exported services are visible to the other cluster, each way', async () => {
    const api3 = await eventually('api imported into dc3', () => api('dc3', 'GET', '/v1/health/service/api?peer=dc1-direct'), (r) => r.json?.length === 1);
    expect(api3.json[0].Service).toMatchObject({ Service: 'api', Port: 9090, PeerName: 'dc1-direct' });
    const inventory1 = await eventually('inventory imported into dc1', () => api('dc1', 'GET', '/v1/health/service/inventory?peer=dc3-direct'), (r) => r.json?.length === 1);
    expect(inventory1.json[0].Service).toMatchObject({ Service: 'inventory', Port: 9091, PeerName: 'dc3-direct' });
    const stream = await eventually('dc3\'s stream status', () => api('dc3', 'GET', '/v1/peering/dc1-direct'),
      (r) => (r.json?.StreamStatus?.ImportedServices ?? []).includes('api'));
    expect(stream.json.StreamStatus.ExportedServices).toEqual(['inventory']);
  });

  test('exported-services and intentions (Sources[].Peer) read back with nothing to plan', async () => {
    const inDc1 = Object.values<any>(json.resource.consul_config_entry).filter((e) => e.provider === 'consul.dc1');
    expect(planEntries({ resource: { consul_config_entry: inDc1 } }, 'dc1').map(({ entry, equal }) => ({ entry, equal })))
      .toEqual([{ entry: 'exported-services/default', equal: true }, { entry: 'service-intentions/api', equal: true }]);
    const inDc3 = Object.values<any>(json.resource.consul_config_entry).filter((e) => e.provider === 'consul.dc3');
    expect(planEntries({ resource: { consul_config_entry: inDc3 } }, 'dc3').map(({ entry, equal }) => ({ entry, equal })))
      .toEqual([{ entry: 'exported-services/default', equal: true }]);
    expect((await api('dc1', 'GET', '/v1/config/service-intentions/api')).json.Sources)
      .toEqual([{ Name: 'web', Peer: 'dc3-direct', Action: 'allow', Precedence: 9, Type: 'consul' }]);
  });
});

describe('cluster peering through mesh gateways (examples/peering), up to where Envoy would carry it', () => {
  let json: any;
  let phase1: Applied;
  let phase2: Applied | undefined;
  const agents: Record<string, Datacenter> = { '127.0.0.1:8500': 'dc1', '127.0.0.1:8510': 'dc3' };
  const peeringOnly = (type: string, body: any) => ['consul_peering_token', 'consul_peering'].includes(type)
    || type === 'consul_config_entry' && ['exported-services', 'service-intentions'].includes(body.kind);

  beforeAll(async () => {
    json = synth(new PeeringExample(Testing.app(), 'peering', { startEnvoy: false, names: ['dc1', 'dc3'] }));
    // Phase 1: everything up to the token; the registration containers run between the phases.
    phase1 = await apply(json, agents, { include: (_a, type, body) => !peeringOnly(type, body) });
  });
  afterAll(async () => {
    await phase2?.destroy();
    await api('dc1', 'PUT', '/v1/agent/service/deregister/mesh-gateway-0');
    await api('dc3', 'PUT', '/v1/agent/service/deregister/mesh-gateway-0');
    await phase1?.destroy();
  });

  test('the mesh entry of both clusters turns on PeerThroughMeshGateways, with nothing to plan', async () => {
    for (const dc of ['dc1', 'dc3'] as Datacenter[]) {
      expect((await api(dc, 'GET', '/v1/config/mesh/mesh')).json).toMatchObject({ Kind: 'mesh', Peering: { PeerThroughMeshGateways: true } });
      const mine = Object.values<any>(json.resource.consul_config_entry).filter((e) => e.provider === `consul.${dc}` && e.kind === 'mesh');
      expect(planEntries({ resource: { consul_config_entry: mine } }, dc).map(({ entry, equal }) => ({ entry, equal })))
        .toEqual([{ entry: 'mesh/mesh', equal: true }]);
    }
  });

  test('Consul refuses the token until a mesh gateway is registered: why the token waits for registration', async () => {
    const early = await api('dc1', 'POST', '/v1/peering/token', { PeerName: 'too-early' });
    expect(early.status).toBe(500);
    expect(early.text).toMatch(/PeerThroughMeshGateways, but no mesh gateway instances are registered/);
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').depends_on)
      .toContain(addressOf(json, 'docker_container', 'east/gateway/Replica0/Registration'));
  });

  test('the gateways register with peering read; the token then names the acceptor\'s gateway WAN address', async () => {
    for (const [side, dc, agent] of [['east', 'dc1', cluster.dc1], ['west', 'dc3', cluster.dc3]] as const) {
      expect(resourceAt(json, 'consul_acl_policy', `${side}/gateway/Acl/Policy`).rules).toContain('peering = "read"');
      const command = resourceAt(json, 'docker_container', `${side}/gateway/Replica0/Registration`).command[0];
      const registration = runRegistration(consulBin, agent, command, secretOf(phase1, json, `${side}/gateway/Acl/Secret`));
      expect({ side: dc, status: registration.status, stderr: registration.stderr }).toEqual({ side: dc, status: 0, stderr: '' });
    }
    phase2 = await apply(json, agents, { after: phase1, include: (_a, type) => type === 'consul_peering_token' });
    const token = phase2.state.get(addressOf(json, 'consul_peering_token', 'peering/Token'))!.peering_token as string;
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    const wan = /-wan-address (\S+)/.exec(resourceAt(json, 'docker_container', 'east/gateway/Replica0/Registration').command[0])![1];
    expect(decoded).toMatchObject({ ServerAddresses: [wan], Remote: { Datacenter: 'dc1' } });
    expect((await api('dc1', 'GET', '/v1/peering/dc3')).json).toMatchObject({ Name: 'dc3', State: 'PENDING' });
    // Establishing it would have dc3 dial that address on the Docker WAN
    // network through dc3's own gateway: that needs the Envoy containers.
    expect(resourceAt(json, 'consul_peering', 'peering/Peering')).toMatchObject({
      peer_name: 'dc1', peering_token: `\${${addressOf(json, 'consul_peering_token', 'peering/Token')}.peering_token}`,
    });
  });
});

// Service intentions and direct cluster peering, deployed with real `tofu`
// and the hashicorp/consul provider onto real Consul servers of the harness,
// as datacenters that already run (ExistingDatacenter): dc1 (+ dc2, one
// WAN-federated cluster) and dc3 (a cluster of its own, to peer with). Each
// stack is applied, planned right after apply (which must be empty: no
// perpetual diff), checked through Consul's API, and destroyed, after which
// Consul must hold none of its entries or peerings.
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { eventually } from '../support/eventually';
import { addressOf, synthJson as synth } from '../support/synth';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';
import { ClusterPeering, ConsulVersion, ExistingDatacenter, IntentionAction, ServiceIntentions } from '../../lib';

const consulBin = requireTool('consul');
/** The version the harness's servers run: what every ExistingDatacenter of the stacks declares. */
const consulVersion = ConsulVersion.of(toolVersion('consul'));
let cluster: ConsulCluster;
const workspaces: TerraformWorkspace[] = [];

const agentFor = (dc: Datacenter) => (dc === 'dc1' ? cluster.dc1 : dc === 'dc2' ? cluster.dc2 : cluster.dc3);
const api = (dc: Datacenter, method: string, path: string, body?: unknown, token = cluster.managementToken) => cluster.api(dc, method, path, body, token);

/** A stack on the harness agents themselves, as datacenters that already run. */
function existing(...names: Datacenter[]): { stack: TerraformStack; dcs: Record<string, ExistingDatacenter> } {
  const stack = new TerraformStack(Testing.app(), 'existing');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dcs: Record<string, ExistingDatacenter> = {};
  for (const name of names) {
    dcs[name] = new ExistingDatacenter(stack, name, {
      name, address: agentFor(name).httpAddr, token: token.stringValue, primaryDatacenter: name === 'dc2' ? 'dc1' : name, consulVersion,
    });
  }
  return { stack, dcs };
}

/** A workspace of its own for the stack, the management token as its `token` variable; removed after the file. */
function workspaceOf(json: object): TerraformWorkspace {
  const ws = new TerraformWorkspace(json, { vars: { token: cluster.managementToken }, prefix: 'intentions-peering-tf-' });
  workspaces.push(ws);
  return ws;
}

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, peerCluster: true });
  await cluster.waitForLeaders();
}, 120_000);

afterAll(async () => {
  // Tests destroy what they apply; this only covers a run that stopped before that.
  for (const ws of workspaces) {
    if ((await ws.stateList()).length > 0) await ws.destroy().catch(() => undefined);
    ws.remove();
  }
  await cluster?.stop();
});

test('the harness runs the Consul version the stacks are built for', async () => {
  for (const dc of ['dc1', 'dc3'] as const) {
    expect(ConsulVersion.of((await api(dc, 'GET', '/v1/agent/self')).json.Config.Version).toString()).toBe(consulVersion.toString());
  }
});

describe('service intentions', () => {
  test('read back exactly as sent, sources in Consul\'s order with its Precedence and Type; destroy removes them', async () => {
    const { stack, dcs } = existing('dc1');
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
    const ws = workspaceOf(synth(stack));
    await ws.apply();
    try {
      await ws.expectNoChanges();

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
      // Destroyed even when a check fails, so no entry of it leaks into the tests below.
      await ws.destroy();
    }
    expect([...(await ws.state()).keys()]).toEqual([]);
    expect((await api('dc1', 'GET', '/v1/config/service-intentions')).json).toEqual([]);
  });

  test('Consul CE refuses a source namespace (an Enterprise field): the option is for Enterprise only', async () => {
    const { stack, dcs } = existing('dc1');
    new ServiceIntentions(stack, 'ns', { datacenter: dcs.dc1, destination: 'orders', sources: [{ name: 'web', namespace: 'frontend', action: IntentionAction.allow() }] });
    const ws = workspaceOf(synth(stack));
    await expect(ws.apply()).rejects.toThrow(/invalid config key "Sources\[0\]\.Namespace", namespaces are a consul enterprise feature/);
    // The refused entry never reached Consul, nor the state.
    expect([...(await ws.state()).keys()]).toEqual([]);
    expect((await api('dc1', 'GET', '/v1/config/service-intentions/orders')).status).toBe(404);
  });
});

describe('cluster peering, direct (dc1 ↔ dc3, two independent clusters)', () => {
  let json: any;
  let ws: TerraformWorkspace;
  beforeAll(async () => {
    const { stack, dcs } = existing('dc1', 'dc3');
    const peering = new ClusterPeering(stack, 'peering', {
      acceptor: dcs.dc1, dialer: dcs.dc3, dialerName: 'dc3-direct', acceptorName: 'dc1-direct', throughMeshGateways: false,
    });
    peering.exportService({ service: 'api', allowedCallers: ['web'] });
    peering.exportService({ service: 'inventory', exportedFrom: dcs.dc3 });
    json = synth(stack);
    ws = workspaceOf(json);
    await ws.apply();
    // A service instance in each cluster, so exports have something to show.
    await api('dc1', 'PUT', '/v1/catalog/register', { Node: 'api-host', Address: '127.0.0.1', Service: { Service: 'api', Port: 9090 } });
    await api('dc3', 'PUT', '/v1/catalog/register', { Node: 'inventory-host', Address: '127.0.0.1', Service: { Service: 'inventory', Port: 9091 } });
  }, 180_000);

  test('a plan right after apply has nothing to change', async () => {
    await ws.expectNoChanges();
  });

  test('the token from dc1 establishes the peering in dc3: both sides become ACTIVE', async () => {
    const [acceptor, dialer] = await Promise.all([
      eventually('dc1\'s peering', () => api('dc1', 'GET', '/v1/peering/dc3-direct'), (r) => r.json?.State === 'ACTIVE'),
      eventually('dc3\'s peering', () => api('dc3', 'GET', '/v1/peering/dc1-direct'), (r) => r.json?.State === 'ACTIVE'),
    ]);
    expect(acceptor.json).toMatchObject({ Name: 'dc3-direct', State: 'ACTIVE', Remote: { Datacenter: 'dc3' } });
    expect(dialer.json).toMatchObject({ Name: 'dc1-direct', State: 'ACTIVE', Remote: { Datacenter: 'dc1' }, PeerServerAddresses: [`127.0.0.1:${cluster.dc1.ports.grpc_tls}`] });
    // The provider's consul_peering read the same peering back.
    const state = await ws.state();
    expect(state.get(addressOf(json, 'consul_peering', 'peering/Peering'))).toMatchObject({
      peer_name: 'dc1-direct', peer_id: acceptor.json.ID, peer_server_addresses: dialer.json.PeerServerAddresses,
    });
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

  test('exported-services and intentions (Sources[].Peer) are written through each side\'s provider, and the plan stays empty once ACTIVE', async () => {
    const entries = Object.values<any>(json.resource.consul_config_entry).map((e) => `${e.provider} ${e.kind}/${e.name}`).sort();
    expect(entries).toEqual(['consul.dc1 exported-services/default', 'consul.dc1 service-intentions/api', 'consul.dc3 exported-services/default']);
    expect((await api('dc1', 'GET', '/v1/config/service-intentions/api')).json.Sources)
      .toEqual([{ Name: 'web', Peer: 'dc3-direct', Action: 'allow', Precedence: 9, Type: 'consul' }]);
    expect((await api('dc1', 'GET', '/v1/config/exported-services/default')).json.Services).toEqual([{ Name: 'api', Consumers: [{ Peer: 'dc3-direct' }] }]);
    expect((await api('dc3', 'GET', '/v1/config/exported-services/default')).json.Services).toEqual([{ Name: 'inventory', Consumers: [{ Peer: 'dc1-direct' }] }]);
    // The peerings are ACTIVE now (they were not yet at apply): a refresh reads new computed values, never a change.
    await ws.expectNoChanges();
  });

  test('destroy removes the peerings, the exports and the intentions from both clusters', async () => {
    await api('dc1', 'PUT', '/v1/catalog/deregister', { Node: 'api-host' });
    await api('dc3', 'PUT', '/v1/catalog/deregister', { Node: 'inventory-host' });
    await ws.destroy();
    expect([...(await ws.state()).keys()]).toEqual([]);
    for (const dc of ['dc1', 'dc3'] as const) {
      expect({ dc, exports: (await api(dc, 'GET', '/v1/config/exported-services')).json }).toEqual({ dc, exports: [] });
      expect({ dc, intentions: (await api(dc, 'GET', '/v1/config/service-intentions')).json }).toEqual({ dc, intentions: [] });
      // Consul deletes a peering in the background (state DELETING, or TERMINATED on the side that did not delete it, first):
      // seen taking over 20 s on a loaded 2-core machine.
      await eventually(`${dc}'s peerings to be gone`, () => api(dc, 'GET', '/v1/peerings'), (r) => Array.isArray(r.json) && r.json.length === 0, 90_000, 500);
    }
  }, 5 * 60_000);
});

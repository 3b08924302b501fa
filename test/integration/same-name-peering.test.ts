// Two independently installed clusters usually both call their datacenter
// `dc1` (Consul's default). Against two real Consul servers that do, one stack
// of ExistingDatacenters told apart by `cluster` peers them, exports a service
// each way, and writes each cluster's own entries (no provider alias, entry
// address or cluster identity taken from the shared name). Deployed with real
// `tofu` and the hashicorp/consul provider: a plan right after apply must be
// empty, and a destroy must leave neither peering nor export behind.
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { eventually } from '../support/eventually';
import { addressOf, synthJson } from '../support/synth';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';
import { ClusterPeering, ConsulVersion, ExistingDatacenter } from '../../lib';

const consulBin = requireTool('consul');
/** The version the harness's servers run: what the stack's datacenters declare. */
const consulVersion = ConsulVersion.of(toolVersion('consul'));
let cluster: ConsulCluster;
let json: any;
let workspace: TerraformWorkspace;
let destroyed = false;

// The harness's dc1 is "east"; its dc3 runs under the datacenter name dc1 too and is "west".
const api = (dc: Datacenter, method: string, path: string, body?: unknown) => cluster.api(dc, method, path, body, cluster.managementToken);

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, peerCluster: true, peerClusterDatacenter: 'dc1' });
  await cluster.waitForLeaders();
  const stack = new TerraformStack(Testing.app(), 'same-name');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const east = new ExistingDatacenter(stack, 'east', { name: 'dc1', cluster: 'east', address: cluster.dc1.httpAddr, token: token.stringValue, consulVersion });
  const west = new ExistingDatacenter(stack, 'west', { name: 'dc1', cluster: 'west', address: cluster.dc3.httpAddr, token: token.stringValue, consulVersion });
  const peering = new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, acceptorName: 'east', dialerName: 'west', throughMeshGateways: false });
  peering.exportService({ service: 'api' });
  peering.exportService({ service: 'inventory', exportedFrom: west });
  json = synthJson(stack);
  workspace = new TerraformWorkspace(json, { vars: { token: cluster.managementToken }, prefix: 'same-name-tf-' });
  await workspace.apply();
  await api('dc1', 'PUT', '/v1/catalog/register', { Node: 'api-host', Address: '127.0.0.1', Service: { Service: 'api', Port: 9090 } });
  await api('dc3', 'PUT', '/v1/catalog/register', { Node: 'inventory-host', Address: '127.0.0.1', Service: { Service: 'inventory', Port: 9091 } });
}, 180_000);

afterAll(async () => {
  // The last test destroys; this only covers a run that stopped before it.
  if (workspace && !destroyed) await workspace.destroy().catch(() => undefined);
  workspace?.remove();
  await cluster?.stop();
});

test('both servers really are datacenter dc1, each its own primary, on the Consul version the stack declares', async () => {
  for (const dc of ['dc1', 'dc3'] as const) {
    const self = (await api(dc, 'GET', '/v1/agent/self')).json;
    expect([self.Config.Datacenter, self.Config.PrimaryDatacenter]).toEqual(['dc1', 'dc1']);
    expect(ConsulVersion.of(self.Config.Version).toString()).toBe(consulVersion.toString());
  }
});

test('a plan right after apply has nothing to change', async () => {
  await workspace.expectNoChanges();
});

test('the peering becomes ACTIVE on both sides, and each imports what the other exports', async () => {
  const [eastSide, westSide] = await Promise.all([
    eventually('east\'s peering', () => api('dc1', 'GET', '/v1/peering/west'), (r) => r.json?.State === 'ACTIVE'),
    eventually('west\'s peering', () => api('dc3', 'GET', '/v1/peering/east'), (r) => r.json?.State === 'ACTIVE'),
  ]);
  expect(eastSide.json.Remote).toMatchObject({ Datacenter: 'dc1' });
  expect(westSide.json.Remote).toMatchObject({ Datacenter: 'dc1' });
  const inWest = await eventually('api imported into west', () => api('dc3', 'GET', '/v1/health/service/api?peer=east'), (r) => r.json?.length === 1);
  expect(inWest.json[0].Service).toMatchObject({ Service: 'api', Port: 9090, PeerName: 'east' });
  const inEast = await eventually('inventory imported into east', () => api('dc1', 'GET', '/v1/health/service/inventory?peer=west'), (r) => r.json?.length === 1);
  expect(inEast.json[0].Service).toMatchObject({ Service: 'inventory', Port: 9091, PeerName: 'west' });
});

test('each cluster holds its own exported-services entry, written through its own provider', async () => {
  expect(Object.keys(json.resource.consul_config_entry).sort()).toEqual(['exported-services_east_default', 'exported-services_west_default']);
  const east = (await api('dc1', 'GET', '/v1/config/exported-services/default')).json;
  const west = (await api('dc3', 'GET', '/v1/config/exported-services/default')).json;
  expect(east.Services).toEqual([{ Name: 'api', Consumers: [{ Peer: 'west' }] }]);
  expect(west.Services).toEqual([{ Name: 'inventory', Consumers: [{ Peer: 'east' }] }]);
});

test('the state holds the peering each side established, and the plan stays empty once it is ACTIVE', async () => {
  const state = await workspace.state();
  const peering = addressOf(json, 'consul_peering', 'peering/Peering');
  const token = addressOf(json, 'consul_peering_token', 'peering/Token');
  expect([...state.keys()].sort()).toEqual([
    'consul_config_entry.exported-services_east_default', 'consul_config_entry.exported-services_west_default', peering, token,
  ].sort());
  // The dialer's peering as the provider read it back from west (dc3): the acceptor's ID for it.
  const east = (await api('dc1', 'GET', '/v1/peering/west')).json;
  expect(state.get(peering)).toMatchObject({ peer_name: 'east', peer_id: east.ID });
  expect(state.get(token)).toMatchObject({ peer_name: 'west' });
  // A refresh now reads state ACTIVE (it was ESTABLISHING at apply): a computed attribute, never a change.
  await workspace.expectNoChanges();
});

test('destroy removes both peerings and both exports', async () => {
  await api('dc1', 'PUT', '/v1/catalog/deregister', { Node: 'api-host' });
  await api('dc3', 'PUT', '/v1/catalog/deregister', { Node: 'inventory-host' });
  await workspace.destroy();
  destroyed = true;
  expect([...(await workspace.state()).keys()]).toEqual([]);
  for (const dc of ['dc1', 'dc3'] as const) {
    expect({ dc, status: (await api(dc, 'GET', '/v1/config/exported-services/default')).status }).toEqual({ dc, status: 404 });
    // Consul deletes a peering in the background (state DELETING first).
    await eventually(`${dc}'s peerings to be gone`, () => api(dc, 'GET', '/v1/peerings'), (r) => Array.isArray(r.json) && r.json.length === 0);
  }
});

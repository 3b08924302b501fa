// Two independently installed clusters usually both call their datacenter
// `dc1` (Consul's default). Against two real Consul servers that do, one stack
// of ExistingDatacenters told apart by `cluster` peers them, exports a service
// each way, and writes each cluster's own entries (no provider alias, entry
// address or cluster identity taken from the shared name).
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { ExistingDatacenter } from '../../lib/datacenter/existing-datacenter';
import { ClusterPeering } from '../../lib/peering/cluster-peering';
import { Applied, applyConsulResources } from '../support/consul-api-apply';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { eventually } from '../support/eventually';
import { synthJson } from '../support/synth';
import { requireTool } from '../support/tools';

const consulBin = requireTool('consul');
let cluster: ConsulCluster;
let json: any;
let applied: Applied;

// The harness's dc1 is "east"; its dc3 runs under the datacenter name dc1 too and is "west".
const api = (dc: Datacenter, method: string, path: string, body?: unknown) => cluster.api(dc, method, path, body, cluster.managementToken);

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, peerCluster: true, peerClusterDatacenter: 'dc1' });
  await cluster.waitForLeaders();
  const stack = new TerraformStack(Testing.app(), 'same-name');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const east = new ExistingDatacenter(stack, 'east', { name: 'dc1', cluster: 'east', address: cluster.dc1.httpAddr, token: token.stringValue });
  const west = new ExistingDatacenter(stack, 'west', { name: 'dc1', cluster: 'west', address: cluster.dc3.httpAddr, token: token.stringValue });
  const peering = new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, acceptorName: 'east', dialerName: 'west', throughMeshGateways: false });
  peering.exportService({ service: 'api' });
  peering.exportService({ service: 'inventory', exportedFrom: west });
  json = synthJson(stack);
  const agents: Record<string, Datacenter> = { [cluster.dc1.httpAddr]: 'dc1', [cluster.dc3.httpAddr]: 'dc3' };
  applied = await applyConsulResources(cluster, json, cluster.managementToken, (address) => agents[address]);
  await api('dc1', 'PUT', '/v1/catalog/register', { Node: 'api-host', Address: '127.0.0.1', Service: { Service: 'api', Port: 9090 } });
  await api('dc3', 'PUT', '/v1/catalog/register', { Node: 'inventory-host', Address: '127.0.0.1', Service: { Service: 'inventory', Port: 9091 } });
}, 120_000);

afterAll(async () => {
  await applied?.destroy();
  await cluster?.stop();
});

test('both servers really are datacenter dc1, each its own primary', async () => {
  for (const dc of ['dc1', 'dc3'] as const) {
    const self = (await api(dc, 'GET', '/v1/agent/self')).json;
    expect([self.Config.Datacenter, self.Config.PrimaryDatacenter]).toEqual(['dc1', 'dc1']);
  }
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

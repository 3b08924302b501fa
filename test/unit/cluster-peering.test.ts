import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { attempt } from '../support/attempt';
import { addressOf, newStack, outputsBesidesServerCounts, resourceAt, synthJson } from '../support/synth';
import { ClusterPeering, ConsulFederation, DockerDatacenter, ExistingDatacenter, ExportedServices, MeshConfig, PeeredService } from '../../lib';

/** Two independent clusters on Docker, each with a mesh gateway that may carry peering traffic. */
function clusters(stack: TerraformStack = newStack(), gateways = true) {
  const east = new DockerDatacenter(stack, 'east', { name: 'east' });
  const west = new DockerDatacenter(stack, 'west', { name: 'west', httpPort: 8510 });
  if (gateways) {
    east.addMeshGateway('gateway', { peering: true });
    west.addMeshGateway('gateway', { peering: true });
  }
  return { stack, east, west };
}

const body = (json: any, path: string) => JSON.parse(resourceAt(json, 'consul_config_entry', path).config_json);

describe('ClusterPeering through mesh gateways', () => {
  test('orders mesh entries and gateways → token → peering → exported-services → intentions, with no sleeps', () => {
    const { stack, east, west } = clusters();
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, exportedServices: [{ service: 'api', allowedCallers: ['web'] }] });
    const json = synthJson(stack);
    const at = (type: string, path: string) => addressOf(json, type, path);
    const meshEntries = [at('consul_config_entry', 'east/MeshConfig/Resource'), at('consul_config_entry', 'west/MeshConfig/Resource')];

    expect(resourceAt(json, 'consul_peering_token', 'peering/Token')).toEqual({
      provider: 'consul.east', peer_name: 'west',
      depends_on: [at('docker_container', 'east/Server0/Upgrade'), ...meshEntries, at('docker_container', 'east/gateway/Replica0/Registration')],
    });
    expect(resourceAt(json, 'consul_peering', 'peering/Peering')).toEqual({
      provider: 'consul.west', peer_name: 'east',
      peering_token: `\${${at('consul_peering_token', 'peering/Token')}.peering_token}`,
      depends_on: [at('docker_container', 'west/Server0/Upgrade'), ...meshEntries, at('docker_container', 'west/gateway/Replica0/Registration')],
    });
    expect(resourceAt(json, 'consul_config_entry', 'east/ExportedServices')).toMatchObject({
      kind: 'exported-services', name: 'default', provider: 'consul.east',
      depends_on: [at('docker_container', 'east/Server0/Upgrade'), at('consul_peering', 'peering/Peering')],
    });
    expect(body(json, 'east/ExportedServices')).toEqual({ Services: [{ Name: 'api', Consumers: [{ Peer: 'west' }] }] });
    expect(resourceAt(json, 'consul_config_entry', 'east/Intentions-api')).toMatchObject({
      kind: 'service-intentions', name: 'api',
      depends_on: [at('docker_container', 'east/Server0/Upgrade'), at('consul_config_entry', 'east/ExportedServices')],
    });
    expect(body(json, 'east/Intentions-api')).toEqual({ Sources: [{ Name: 'web', Peer: 'west', Action: 'allow', Precedence: 9, Type: 'consul' }] });
  });

  test('turns on PeerThroughMeshGateways in the mesh entry of both clusters', () => {
    const { stack, east, west } = clusters();
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west });
    const json = synthJson(stack);
    for (const side of ['east', 'west']) {
      expect(resourceAt(json, 'consul_config_entry', `${side}/MeshConfig`)).toMatchObject({ kind: 'mesh', name: 'mesh', provider: `consul.${side}` });
      expect(body(json, `${side}/MeshConfig`)).toEqual({ TransparentProxy: { MeshDestinationsOnly: false }, Peering: { PeerThroughMeshGateways: true } });
    }
    expect(MeshConfig.of(east).peerThroughMeshGateways).toBe(true);
    expect(MeshConfig.of(east).node.path).toBe('test/east/MeshConfig');
  });

  test('waits for mesh gateways added after the peering', () => {
    const { stack, east, west } = clusters(newStack(), false);
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west });
    east.addMeshGateway('late', { peering: true, replicas: 2 });
    west.addMeshGateway('late', { peering: true });
    const json = synthJson(stack);
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').depends_on.slice(-2))
      .toEqual([0, 1].map((r) => addressOf(json, 'docker_container', `east/late/Replica${r}/Registration`)));
  });

  test('never writes a peering token into cdk.tf.json: the dialer gets it by reference only', () => {
    const { stack, east, west } = clusters();
    const peering = new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, exportedServices: [{ service: 'api' }] });
    new TerraformOutput(stack, 'peer_id', { value: peering.peering.peerId });
    const json = synthJson(stack);
    const tokenAddress = addressOf(json, 'consul_peering_token', 'peering/Token');
    const peeringAddress = addressOf(json, 'consul_peering', 'peering/Peering');
    // Every string in the file that mentions a peering token, with where it is.
    const mentions: [string, string][] = [];
    const walk = (value: unknown, at: string): void => {
      if (typeof value === 'string' && /peering_token/.test(value)) mentions.push([at, value]);
      else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, `${at}/${k}`));
    };
    walk(json, '');
    expect(mentions).toEqual([[`/resource/${peeringAddress.replace('.', '/')}/peering_token`, `\${${tokenAddress}.peering_token}`]]);
    // A token is base64 of a JSON object ({"CA":...): nothing like it anywhere.
    expect(JSON.stringify(json)).not.toMatch(/eyJ[A-Za-z0-9+/=]{16,}/);
    expect(outputsBesidesServerCounts(json)).toEqual({ peer_id: { value: `\${${peeringAddress}.peer_id}` } });
  });

  test('exports from either side under the name the exporter knows the consumer by, and reports the name consumers use', () => {
    const { stack, east, west } = clusters();
    const peering = new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, dialerName: 'west-prod', acceptorName: 'east-prod' });
    const fromWest = peering.exportService({ service: 'inventory', exportedFrom: west, allowedCallers: ['api'] });
    const fromEast = peering.exportService({ service: 'api' });
    // Datacenters by name: a failing comparison of constructs would print the whole tree.
    const shown = (e: PeeredService) => ({ ...e, exportedFrom: e.exportedFrom.node.path, consumer: e.consumer.node.path });
    expect(shown(fromWest)).toEqual({ service: 'inventory', exportedFrom: 'test/west', consumer: 'test/east', peer: 'west-prod', allowedCallers: ['api'] });
    expect(shown(fromEast)).toEqual({ service: 'api', exportedFrom: 'test/east', consumer: 'test/west', peer: 'east-prod', allowedCallers: [] });
    expect(peering.exportedServices.map((e) => e.service)).toEqual(['inventory', 'api']);
    expect([peering.peerNameIn(east), peering.peerNameIn(west)]).toEqual(['west-prod', 'east-prod']);
    expect([ClusterPeering.peerNamesOf(east), ClusterPeering.peerNamesOf(west)]).toEqual([['west-prod'], ['east-prod']]);
    const json = synthJson(stack);
    expect(body(json, 'west/ExportedServices')).toEqual({ Services: [{ Name: 'inventory', Consumers: [{ Peer: 'east-prod' }] }] });
    expect(body(json, 'west/Intentions-inventory').Sources).toEqual([{ Name: 'api', Peer: 'east-prod', Action: 'allow', Precedence: 9, Type: 'consul' }]);
    expect(body(json, 'east/ExportedServices')).toEqual({ Services: [{ Name: 'api', Consumers: [{ Peer: 'west-prod' }] }] });
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').peer_name).toBe('west-prod');
    expect(resourceAt(json, 'consul_peering', 'peering/Peering').peer_name).toBe('east-prod');
  });

  test('two peerings of one cluster share its exported-services entry', () => {
    const { stack, east, west } = clusters();
    const north = new DockerDatacenter(stack, 'north', { name: 'north', httpPort: 8520 });
    north.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'east-west', { acceptor: east, dialer: west, exportedServices: [{ service: 'api' }] });
    new ClusterPeering(stack, 'east-north', { acceptor: east, dialer: north, exportedServices: [{ service: 'api' }, { service: 'search' }] });
    // Exporting again to a peer it already has changes nothing.
    expect(ExportedServices.of(east).exportService('api', ['north', 'west', 'north'])).toEqual({ service: 'api', peers: ['west', 'north'] });
    expect(ClusterPeering.peerNamesOf(east)).toEqual(['west', 'north']);
    const json = synthJson(stack);
    expect(body(json, 'east/ExportedServices')).toEqual({
      Services: [{ Name: 'api', Consumers: [{ Peer: 'west' }, { Peer: 'north' }] }, { Name: 'search', Consumers: [{ Peer: 'north' }] }],
    });
    expect(resourceAt(json, 'consul_config_entry', 'east/ExportedServices').depends_on.slice(1))
      .toEqual([addressOf(json, 'consul_peering', 'east-west/Peering'), addressOf(json, 'consul_peering', 'east-north/Peering')]);
  });

  test('uses a mesh entry declared in the stack, and explicit server addresses', () => {
    const { stack, east, west } = clusters();
    const mesh = new MeshConfig(stack, 'east-mesh', { datacenter: east, meshDestinationsOnly: true });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, acceptorServerAddresses: ['203.0.113.7:8443'] });
    expect(MeshConfig.of(east).node.path).toBe(mesh.node.path);
    const json = synthJson(stack);
    expect(body(json, 'east-mesh')).toEqual({ TransparentProxy: { MeshDestinationsOnly: true }, Peering: { PeerThroughMeshGateways: true } });
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').server_external_addresses).toEqual(['203.0.113.7:8443']);
  });
});

describe('ClusterPeering without mesh gateways', () => {
  test('writes no mesh entry and waits for no gateway, e.g. between clusters that already run', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const a = new ExistingDatacenter(stack, 'a', { name: 'dc1', address: '127.0.0.1:8500', token: token.stringValue });
    const b = new ExistingDatacenter(stack, 'b', { name: 'dc3', address: '127.0.0.1:8502', token: token.stringValue });
    const peering = new ClusterPeering(stack, 'peering', { acceptor: a, dialer: b, throughMeshGateways: false, exportedServices: [{ service: 'api' }] });
    const json = synthJson(stack);
    expect(Object.values<any>(json.resource.consul_config_entry).map((e) => e.kind)).toEqual(['exported-services']);
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token')).toEqual({ provider: 'consul.dc1', peer_name: 'dc3' });
    expect(resourceAt(json, 'consul_peering', 'peering/Peering').depends_on).toBeUndefined();
    expect(peering.throughMeshGateways).toBe(false);
  });

  test('through mesh gateways, clusters that already run need no gateway in this stack', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const a = new ExistingDatacenter(stack, 'a', { name: 'dc1', address: '127.0.0.1:8500', token: token.stringValue });
    const b = new ExistingDatacenter(stack, 'b', { name: 'dc3', address: '127.0.0.1:8502', token: token.stringValue });
    new ClusterPeering(stack, 'peering', { acceptor: a, dialer: b });
    expect(Object.values<any>(synthJson(stack).resource.consul_config_entry).map((e) => e.kind)).toEqual(['mesh', 'mesh']);
  });

  test('peers two clusters that both call their datacenter dc1, told apart by `cluster`', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const east = new ExistingDatacenter(stack, 'east', { name: 'dc1', cluster: 'east', address: '10.0.1.10:8500', token: token.stringValue });
    const west = new ExistingDatacenter(stack, 'west', { name: 'dc1', cluster: 'west', address: '10.0.2.10:8500', token: token.stringValue });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, acceptorName: 'east', dialerName: 'west', exportedServices: [{ service: 'api' }] });
    const json = synthJson(stack);
    expect(json.provider.consul.map((p: any) => [p.alias, p.address, p.datacenter]))
      .toEqual([['east-dc1', '10.0.1.10:8500', 'dc1'], ['west-dc1', '10.0.2.10:8500', 'dc1']]);
    expect(Object.entries<any>(json.resource.consul_config_entry).map(([id, e]) => [id, e.provider]).sort()).toEqual([
      ['exported-services_east_default', 'consul.east-dc1'], ['mesh_east_mesh', 'consul.east-dc1'], ['mesh_west_mesh', 'consul.west-dc1'],
    ]);
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token')).toMatchObject({ provider: 'consul.east-dc1', peer_name: 'west' });
    expect(resourceAt(json, 'consul_peering', 'peering/Peering')).toMatchObject({ provider: 'consul.west-dc1', peer_name: 'east' });
  });
});

const cases: [string, (stack: TerraformStack) => void, RegExp[]][] = [
  ['rejects two clusters whose datacenters share a name without `cluster`', (stack) => {
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    new ExistingDatacenter(stack, 'east', { name: 'dc1', address: '10.0.1.10:8500', token: token.stringValue });
    new ExistingDatacenter(stack, 'west', { name: 'dc1', address: '10.0.2.10:8500', token: token.stringValue });
  }, [/^bad\/west: datacenter "dc1" of cluster "dc1" is already declared at bad\/east/, /got: "dc1"/, /give one of them its own `cluster`/]],
  ['rejects a cluster name Consul would not take for a datacenter', (stack) => {
    new ExistingDatacenter(stack, 'east', { name: 'dc1', cluster: 'East_1', address: '10.0.1.10:8500' });
  }, [/^bad\/east: invalid cluster/, /got: "East_1"/, /lowercase letters, digits and dashes/]],
  ['rejects peering two datacenters of one federation', (stack) => {
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    new ClusterPeering(stack, 'p', { acceptor: fed.primary, dialer: fed.datacenter('dc2') });
  }, [/^bad\/p: "dc1" and "dc2" are one cluster \("dc1"\): peering joins independent clusters/, /got: \["dc1","dc2"\]/, /different clusters/]],
  ['rejects a peer name Consul refuses', (stack) => {
    const { east, west } = clusters(stack);
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, dialerName: 'West_Prod' });
  }, [/^bad\/p: dialerName is not a valid peer name/, /got: "West_Prod"/, /lowercase letters/]],
  ['rejects exporting from a datacenter that is not a side', (stack) => {
    const { east, west } = clusters(stack);
    const north = new DockerDatacenter(stack, 'north', { name: 'north', httpPort: 8520 });
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, exportedServices: [{ service: 'api', exportedFrom: north }] });
  }, [/^bad\/p: exportedFrom must be the peering's acceptor or dialer, not "north"/, /got: "north"/, /Use "east" or "west"/]],
  ['rejects exporting a service twice from one side', (stack) => {
    const { east, west } = clusters(stack);
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, exportedServices: [{ service: 'api' }, { service: 'api', allowedCallers: ['web'] }] });
  }, [/^bad\/p: "api" is already exported from "east" over this peering/, /got: "api"/, /list all its callers there/]],
  ['rejects a mesh gateway without peering read', (stack) => {
    const { east, west } = clusters(stack, false);
    east.addMeshGateway('gateway');
    west.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west });
  }, [/\[bad\/p\] mesh gateway bad\/east\/gateway of "east" carries this peering but its policy lacks peering = "read"/, /got: false/,
    /addMeshGateway\('gateway', \{ peering: true \}\)/]],
  ['rejects a Docker datacenter without a mesh gateway', (stack) => {
    const { east, west } = clusters(stack, false);
    west.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west });
  }, [/\[bad\/p\] peering through mesh gateways needs a mesh gateway in "east", which has none/, /got: \[\]/, /east.addMeshGateway/]],
  ['rejects a mesh entry that turns peering through gateways off', (stack) => {
    const { east, west } = clusters(stack);
    new MeshConfig(stack, 'mesh', { datacenter: east, peerThroughMeshGateways: false });
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west });
  }, [/^bad\/p: peering through mesh gateways needs Peering.PeerThroughMeshGateways, which bad\/mesh turns off/, /got: false/,
    /throughMeshGateways: false on the peering/]],
  ['rejects two mesh entries for one cluster', (stack) => {
    const { east, west } = clusters(stack);
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west });
    new MeshConfig(stack, 'mesh', { datacenter: east });
  }, [/^bad\/mesh: the mesh entry "mesh" of cluster "east" is already declared at bad\/east\/MeshConfig/, /got: "mesh"/,
    /MeshConfig.of\(datacenter\)/]],
  ['rejects two exported-services entries for one cluster', (stack) => {
    const { east, west } = clusters(stack);
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, exportedServices: [{ service: 'api' }] });
    new ExportedServices(stack, 'exports', { datacenter: east, services: [{ service: 'web', peers: ['west'] }] });
  }, [/^bad\/exports: the exported-services entry "default" of cluster "east" is already declared at bad\/east\/ExportedServices/,
    /got: "default"/, /ExportedServices.of\(datacenter\)/]],
  ['rejects two peerings under one peer name in a datacenter', (stack) => {
    const { east, west } = clusters(stack);
    const north = new DockerDatacenter(stack, 'north', { name: 'north', httpPort: 8520 });
    north.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'first', { acceptor: east, dialer: west, dialerName: 'partner' });
    new ClusterPeering(stack, 'second', { acceptor: east, dialer: north, dialerName: 'partner' });
  }, [/\[bad\/second\] "east" already knows a peer as "partner" \(bad\/first\)/, /got: "partner"/, /its own name/]],
  ['rejects server addresses that are not host:port', (stack) => {
    const { east, west } = clusters(stack);
    new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, acceptorServerAddresses: ['https://east.example.com'] });
  }, [/^bad\/p: acceptorServerAddresses must be host:port/, /got: "https:\/\/east.example.com"/]],
  ['rejects an exported service exported to no peer', (stack) => new ExportedServices(stack, 'exports', {
    datacenter: new DockerDatacenter(stack, 'east', { name: 'east' }), services: [{ service: 'api', peers: [] }],
  }), [/\[bad\/exports\] service "api" is exported to no peer/, /got: \[\]/]],
];

describe('ClusterPeering bad input', () => {
  test.each(cases)('%s, naming the path, the value and the fix, and writes no stack', (_name, build, expected) => {
    const { error, written } = attempt(build);
    for (const pattern of expected) expect(error).toMatch(pattern);
    expect(written).toEqual([]);
  });

  test('a complete peering writes its stack', () => {
    const { error, written } = attempt((stack) => {
      const { east, west } = clusters(stack);
      new ClusterPeering(stack, 'p', { acceptor: east, dialer: west, exportedServices: [{ service: 'api', allowedCallers: ['web'] }] });
    });
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });
});

// Every addX returns the object it created and owns: the very object its
// getter lists, read-only, and a copy of the caller's (changing that later
// changes nothing). Gateways are added with their datacenter's addXGateway.
import { TerraformVariable } from 'cdktf';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';
import {
  ClusterPeering, ConsulFederation, DockerDatacenter, ExistingDatacenter, ExportedServices, IngressGateway, IntentionAction, MeshGateway,
  MeshService, Protocol, ServiceIntentions, TerminatingGateway,
} from '../../lib';

function existing(name = 'east') {
  const stack = newStack();
  const token = new TerraformVariable(stack, 'token', { sensitive: true }).stringValue;
  return { stack, dc: new ExistingDatacenter(stack, name, { name, address: '127.0.0.1:8500', token }) };
}

describe('addX returns what it stored', () => {
  // [what, add: returns [returned, listed after, the caller's input]]
  const cases: [string, () => [object, object[], { [k: string]: unknown }]][] = [
    ['ServiceIntentions.addSource', () => {
      const { dc } = existing();
      const intentions = new ServiceIntentions(dc, 'api', { datacenter: dc, destination: 'api' });
      const input = { name: 'web', action: IntentionAction.allow(), description: 'web calls api' };
      return [intentions.addSource(input), intentions.sources, input];
    }],
    ['MeshService.addUpstream', () => {
      const { stack, dc } = existing();
      const web = new MeshService(stack, 'web', { datacenter: dc, service: 'web', port: 8080 });
      const input = { service: 'api', localBindPort: 9191 };
      return [web.addUpstream(input), web.upstreams, input];
    }],
    ['IngressListener.addService', () => {
      const { dc } = existing();
      const listener = dc.addIngressGateway('ingress').addListener({ port: 8080, protocol: Protocol.HTTP });
      const input = { name: 'web', hosts: ['web.example.com'] };
      return [listener.addService(input), listener.services, input];
    }],
    ['ExportedServices.exportService', () => {
      const { dc } = existing();
      const exports = ExportedServices.of(dc);
      const input = { peers: ['west'] };
      return [exports.exportService('api', input.peers), exports.services, input];
    }],
    ['ClusterPeering.exportService', () => {
      const { stack, dc } = existing();
      const west = new ExistingDatacenter(stack, 'west', { name: 'west', address: '127.0.0.1:8501' });
      const peering = ClusterPeering.fromPeeringAttributes(stack, 'peering', { acceptor: dc, dialer: west });
      const input = { service: 'api', allowedCallers: ['web'] };
      return [peering.exportService(input), peering.exportedServices, input];
    }],
  ];

  test.each(cases)('%s returns the object its getter lists, read-only, apart from the caller\'s', (_what, add) => {
    const [returned, listed, input] = add();
    expect(listed[listed.length - 1]).toBe(returned);
    // Read-only, not frozen: the jsii kernel tags what it hands to other languages.
    for (const [key, value] of Object.entries(returned)) {
      expect(() => { (returned as Record<string, unknown>)[key] = 'changed'; }).toThrow(TypeError);
      if (Array.isArray(value)) expect(Object.isFrozen(value)).toBe(true);
    }
    expect(Object.isExtensible(returned)).toBe(true);
    // The caller's object stays theirs: changing it changes nothing stored.
    const text = (o: object) => JSON.stringify(o, (_k, v) => (v?.node?.path ?? v));
    const before = text(returned);
    for (const [key, value] of Object.entries(input)) if (Array.isArray(value)) value.push('later'); else if (typeof value === 'string') input[key] = `${value}-later`;
    expect(text(returned)).toBe(before);
  });

  test('addIngressGateway and addTerminatingGateway return the gateway they created, under the datacenter and the same as new X()', () => {
    const stack = newStack();
    const dc = new DockerDatacenter(stack, 'dc1', { name: 'dc1' });
    const ingress = dc.addIngressGateway('ingress', { port: 8889, listeners: [{ port: 8080, services: [{ name: 'tcp-svc' }] }] });
    const terminating = dc.addTerminatingGateway('terminating', { services: [{ service: 'billing' }] });
    expect(ingress).toBeInstanceOf(IngressGateway);
    expect(terminating).toBeInstanceOf(TerminatingGateway);
    expect([ingress.node.scope, terminating.node.scope]).toEqual([dc, dc]);
    expect([ingress.datacenter, terminating.datacenter]).toEqual([dc, dc]);
    expect([ingress.port, terminating.port, terminating.serviceName]).toEqual([8889, 9443, 'terminating-gateway']);

    const other = newStack();
    const dc2 = new DockerDatacenter(other, 'dc1', { name: 'dc1' });
    new IngressGateway(dc2, 'ingress', { datacenter: dc2, port: 8889, listeners: [{ port: 8080, services: [{ name: 'tcp-svc' }] }] });
    new TerminatingGateway(dc2, 'terminating', { datacenter: dc2, services: [{ service: 'billing' }] });
    expect(synthJson(stack)).toEqual(synthJson(other));
  });

  test('every gateway kind takes the five shared options with its own defaults', () => {
    const { dc } = existing();
    const [mesh, ingress, terminating] = [dc.addMeshGateway('m'), dc.addIngressGateway('i'), dc.addTerminatingGateway('t')];
    expect([mesh, ingress, terminating].map((g) => [g.serviceName, g.port, g.replicas]))
      .toEqual([['mesh-gateway', 8443, 1], ['ingress-gateway', 8888, 1], ['terminating-gateway', 9443, 1]]);
    const custom = { serviceName: 'edge', port: 7000, replicas: 2, startEnvoy: false, envoyImage: 'envoyproxy/envoy:v1.24.12' };
    const gateways: (MeshGateway | IngressGateway | TerminatingGateway)[] = [
      existing().dc.addMeshGateway('m', custom), existing().dc.addIngressGateway('i', custom), existing().dc.addTerminatingGateway('t', custom),
    ];
    expect(gateways.map((g) => [g.serviceName, g.port, g.replicas])).toEqual([['edge', 7000, 2], ['edge', 7000, 2], ['edge', 7000, 2]]);
  });
});

describe('MeshService.grantCall', () => {
  test('adds an allow source for the caller to the destination\'s intentions and returns both', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    const api = new MeshService(stack, 'api', { datacenter: fed.primary, service: 'api', port: 8080 });
    const web = new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 8081 });
    const admin = new MeshService(stack, 'admin', { datacenter: fed.secondaries[0], service: 'admin', port: 8082 });

    const first = api.grantCall(web, { description: 'storefront' });
    const second = api.grantCall(admin);
    expect(first.intentions).toBe(ServiceIntentions.of(fed.primary, 'api'));
    expect(second.intentions).toBe(first.intentions);
    expect(first.source).toEqual({ name: 'web', action: IntentionAction.allow(), description: 'storefront' });
    expect(first.intentions.sources).toEqual([first.source, second.source]);
    const json = synthJson(stack);
    expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'fed/dc1/Intentions-api/Resource').config_json).Sources.map((s: any) => [s.Name, s.Action]))
      .toEqual([['web', 'allow'], ['admin', 'allow']]);
    expect(addressOf(json, 'consul_config_entry', 'fed/dc1/Intentions-api/Resource')).toBe('consul_config_entry.service-intentions_dc1_api');
  });

  test('refuses a caller of another cluster, naming the peering way, and a second grant to one caller', () => {
    const { stack, dc } = existing('east');
    const west = new ExistingDatacenter(stack, 'west', { name: 'west', address: '127.0.0.1:8501' });
    const api = new MeshService(stack, 'api', { datacenter: dc, service: 'api', port: 8080 });
    const remote = new MeshService(stack, 'remote', { datacenter: west, service: 'web', port: 8081 });
    expect(() => api.grantCall(remote)).toThrow(/^test\/api: caller "web" \(test\/remote\) is in cluster "west", not "east" \(got: "west"\)\. Export this service .*ClusterPeering, with allowedCallers/);
    const local = new MeshService(stack, 'web', { datacenter: dc, service: 'web', port: 8081 });
    api.grantCall(local);
    expect(() => api.grantCall(local)).toThrow(/source "web" is already in the intentions of "api"/);
  });
});

describe('imports of what exists', () => {
  test('an imported peering takes exports, which wait for nothing of it, and its names count as peers', () => {
    const { stack, dc: east } = existing('east');
    const west = new ExistingDatacenter(stack, 'west', { name: 'west', address: '127.0.0.1:8501' });
    const peering = ClusterPeering.fromPeeringAttributes(stack, 'peering', { acceptor: east, dialer: west, dialerName: 'west-peer' });
    peering.exportService({ service: 'api', allowedCallers: ['web'] });
    const json = synthJson(stack);
    expect(json.resource.consul_peering_token).toBeUndefined();
    expect(json.resource.consul_peering).toBeUndefined();
    expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'east/ExportedServices/Resource').config_json))
      .toEqual({ Services: [{ Name: 'api', Consumers: [{ Peer: 'west-peer' }] }] });
    expect(resourceAt(json, 'consul_config_entry', 'east/ExportedServices/Resource').depends_on).toBeUndefined();
    expect(ClusterPeering.peerNamesOf(east)).toEqual(['west-peer']);
    // A second peering under the same name in "east" would replace it: refused as for declared ones.
    new ClusterPeering(stack, 'again', { acceptor: east, dialer: west, dialerName: 'west-peer', throughMeshGateways: false });
    expect(() => synthJson(stack)).toThrow(/"east" already knows a peer as "west-peer" \(test\/peering\)/);
  });

  test('an imported mesh gateway counts for a peering through gateways, and reads its token\'s secret', () => {
    const { stack, dc: east } = existing('east');
    const west = new ExistingDatacenter(stack, 'west', { name: 'west', address: '127.0.0.1:8501' });
    const gateway = MeshGateway.fromMeshGatewayAttributes(stack, 'east-gateway', {
      datacenter: east, peering: false, wanAddresses: ['192.0.2.10:8443'], tokenAccessorId: '${var.gateway_accessor}',
    });
    west.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west });
    expect(() => synthJson(stack)).toThrow(/mesh gateway test\/east-gateway of "east" carries this peering but its policy lacks peering = "read"/);
    expect(gateway.wanAddresses).toEqual(['192.0.2.10:8443']);
    expect(gateway.tokenSecretId).toBeDefined();

    const ok = existing('east');
    const west2 = new ExistingDatacenter(ok.stack, 'west', { name: 'west', address: '127.0.0.1:8501' });
    MeshGateway.fromMeshGatewayAttributes(ok.stack, 'east-gateway', { datacenter: ok.dc, peering: true, tokenAccessorId: '${var.gateway_accessor}' });
    new ClusterPeering(ok.stack, 'peering', { acceptor: ok.dc, dialer: west2 });
    const json = synthJson(ok.stack);
    expect(resourceAt(json, 'data.consul_acl_token_secret_id', 'east-gateway/TokenSecret'))
      .toEqual({ accessor_id: '${var.gateway_accessor}', provider: 'consul.east' });
    // Nothing waits for registrations that are not the app's.
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').depends_on).toEqual([addressOf(json, 'consul_config_entry', 'east/MeshConfig/Resource'),
      addressOf(json, 'consul_config_entry', 'west/MeshConfig/Resource')]);
  });

  test('a declared gateway with an imported one\'s service name clashes, and bad attributes are refused by path', () => {
    const { stack, dc } = existing();
    const theirs = MeshGateway.fromMeshGatewayAttributes(stack, 'theirs', { datacenter: dc });
    expect(() => theirs.tokenSecretId).toThrow(/^test\/theirs: the token of this imported mesh gateway is unknown.*Pass tokenAccessorId/);
    dc.addMeshGateway('ours');
    expect(() => synthJson(stack)).toThrow(/mesh gateway test\/east\/ours has the service name of mesh gateway test\/theirs in datacenter "east"/);
    expect(() => MeshGateway.fromMeshGatewayAttributes(stack, 'bad', { datacenter: dc, wanAddresses: ['192.0.2.10'] }))
      .toThrow(/^test\/bad: wanAddresses\[0\] must be host:port \(got: "192\.0\.2\.10"\)/);
    expect(() => MeshGateway.fromMeshGatewayAttributes(stack, 'typo', { datacenter: dc, wan_addresses: [] } as never))
      .toThrow(/^test\/typo: attributes has an unknown key "wan_addresses".*Use "wanAddresses"/);
  });
});

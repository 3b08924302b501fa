import { ConsulFederation, ExistingDatacenter, IngressGateway, MeshGatewayMode, MeshGatewayModeLayer, MeshGatewayModes, MeshService, Protocol, ProxyDefaults, ServiceDefaults, ServiceResolver } from '../../lib';
import { newStack, resourceAt, synthJson } from '../support/synth';

function pair() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  return { stack, fed, dc1: fed.primary };
}

describe('ServiceResolver', () => {
  test('renders a redirect and a failover as Consul stores them', () => {
    const { stack, dc1 } = pair();
    new ServiceResolver(stack, 'api', { datacenter: dc1, service: 'api', redirect: { datacenter: 'dc2' } });
    new ServiceResolver(stack, 'db', { datacenter: dc1, service: 'db', failover: [{ datacenter: 'dc2' }, { service: 'db-replica' }, { service: 'db', peer: 'west' }] });
    const json = synthJson(stack);
    const entry = resourceAt(json, 'consul_config_entry', 'api/Resource');
    expect(entry).toMatchObject({ kind: 'service-resolver', name: 'api', provider: 'consul.dc1' });
    expect(JSON.parse(entry.config_json)).toEqual({ Redirect: { Datacenter: 'dc2' } });
    expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'db/Resource').config_json)).toEqual({
      Failover: { '*': { Targets: [{ Datacenter: 'dc2' }, { Service: 'db-replica' }, { Service: 'db', Peer: 'west' }] } },
    });
  });

  test.each([
    ['redirect and failover together', { redirect: { datacenter: 'dc2' }, failover: [{ datacenter: 'dc2' }] }, /redirects or fails over, not both/],
    ['an empty failover', { failover: [] }, /failover needs at least one target/],
    ['a target with a peer and a datacenter', { failover: [{ peer: 'west', datacenter: 'dc2' }] }, /failover\[0\] names both a peer and a datacenter/],
    ['a redirect to a peer without the service', { redirect: { peer: 'west' } }, /a redirect to a peer must name the service there/],
    ['a redirect to itself', { redirect: { service: 'api' } }, /the redirect sends "api" to itself/],
    ['an empty target', { failover: [{}] }, /failover\[0\] names no service, datacenter or peer/],
    ['a Python dict key', { redirect: { data_center: 'dc2' } }, /redirect has an unknown key "data_center"/],
    ['a bad datacenter name', { redirect: { datacenter: 'DC 2' } }, /invalid redirect\.datacenter/],
  ])('refuses %s', (_name, props, message) => {
    const { stack, dc1 } = pair();
    expect(() => new ServiceResolver(stack, 'api', { datacenter: dc1, service: 'api', ...(props as object) })).toThrow(message);
  });
});

describe('MeshGatewayModes.explain follows resolvers', () => {
  test('a redirect to another datacenter: the target service\'s own entry decides when no downstream layer does', () => {
    const { stack, dc1 } = pair();
    new ServiceResolver(stack, 'resolver', { datacenter: dc1, service: 'api', redirect: { service: 'api-v2', datacenter: 'dc2' } });
    new ServiceDefaults(stack, 'api-defaults', { datacenter: dc1, service: 'api', meshGatewayMode: MeshGatewayMode.remote() });
    new ServiceDefaults(stack, 'v2-defaults', { datacenter: dc1, service: 'api-v2', meshGatewayMode: MeshGatewayMode.local() });
    new MeshService(stack, 'web', { datacenter: dc1, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    expect(MeshGatewayModes.explain(stack)).toEqual([expect.objectContaining({
      upstream: 'api', targetService: 'api-v2', target: 'dc2', via: 'redirect', resolvedAt: 'test/resolver', crossesDatacenter: true,
      mode: 'local', decidedBy: MeshGatewayModeLayer.DESTINATION_SERVICE_DEFAULTS, decidedAt: 'test/v2-defaults', agentMode: '',
    })]);
  });

  test('failover targets each get a row; the sidecar\'s merged mode decides them all', () => {
    const { stack, dc1 } = pair();
    new ServiceResolver(stack, 'resolver', { datacenter: dc1, service: 'api', failover: [{ datacenter: 'dc2' }, { service: 'api', peer: 'west' }] });
    new ProxyDefaults(stack, 'pd', { datacenter: dc1, meshGatewayMode: MeshGatewayMode.local() });
    new MeshService(stack, 'web', { datacenter: dc1, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    expect(MeshGatewayModes.explain(stack).map((r) => [r.target, r.via, r.crossesDatacenter, r.mode, r.decidedBy])).toEqual([
      ['dc1', '', false, 'local', MeshGatewayModeLayer.PROXY_DEFAULTS],
      ['dc2', 'failover', true, 'local', MeshGatewayModeLayer.PROXY_DEFAULTS],
      ['peer:west', 'failover', true, 'local', MeshGatewayModeLayer.PROXY_DEFAULTS],
    ]);
  });

  test('a redirect back to where the chain is ends it', () => {
    const { stack, dc1 } = pair();
    new ServiceResolver(stack, 'resolver', { datacenter: dc1, service: 'api', redirect: { datacenter: 'dc2' } });
    new MeshService(stack, 'web', { datacenter: dc1, service: 'web', port: 80, upstreams: [{ service: 'api', datacenter: 'dc2', localBindPort: 9000, meshGatewayMode: MeshGatewayMode.remote() }] });
    expect(MeshGatewayModes.explain(stack).map((r) => [r.targetService, r.target, r.via])).toEqual([['api', 'dc2', 'redirect']]);
  });

  test('an ingress gateway: the target\'s service-defaults beat proxy-defaults (its upstreams carry no mode)', () => {
    const { stack, dc1 } = pair();
    new ProxyDefaults(stack, 'pd', { datacenter: dc1, meshGatewayMode: MeshGatewayMode.remote(), protocol: Protocol.HTTP });
    new ServiceDefaults(stack, 'api-defaults', { datacenter: dc1, service: 'api', meshGatewayMode: MeshGatewayMode.local() });
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc1, service: 'api', redirect: { datacenter: 'dc2' } });
    new ServiceResolver(stack, 'shop-resolver', { datacenter: dc1, service: 'shop', redirect: { datacenter: 'dc2' } });
    const gw = new IngressGateway(stack, 'edge', { datacenter: dc1, serviceName: 'edge', startEnvoy: false });
    gw.addListener({ port: 9000, protocol: Protocol.HTTP, services: [{ name: 'api' }, { name: 'shop' }, { name: 'web' }] });
    expect(MeshGatewayModes.explain(stack).map((r) => [r.service, r.proxyKind, r.upstream, r.target, r.mode, r.decidedBy, r.agentMode])).toEqual([
      ['edge', 'ingress-gateway', 'api', 'dc2', 'local', MeshGatewayModeLayer.DESTINATION_SERVICE_DEFAULTS, ''],
      ['edge', 'ingress-gateway', 'shop', 'dc2', 'remote', MeshGatewayModeLayer.PROXY_DEFAULTS, ''],
      ['edge', 'ingress-gateway', 'web', 'dc1', 'remote', MeshGatewayModeLayer.PROXY_DEFAULTS, ''],
    ]);
    expect(MeshGatewayModes.renderTable(MeshGatewayModes.explain(stack))).toContain('edge (ingress)  dc1  api       dc2 (redirect)');
  });

  test('an ingress gateway whose service is redirected across datacenters in mode none is refused where workloads cannot route', () => {
    const { stack, dc1 } = pair();
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc1, service: 'api', redirect: { datacenter: 'dc2' } });
    new IngressGateway(stack, 'edge', { datacenter: dc1, startEnvoy: false, listeners: [{ port: 9000, services: [{ name: 'api' }] }] });
    expect(() => synthJson(stack)).toThrow(/\[test\/edge\] upstream "api" \(dc2, by redirect\) resolves to mesh gateway mode none, set by built-in default \(got: "none"\), but datacenter "dc1" is not directly routable to "dc2"\. Set local or remote in the target service's service-defaults or in proxy-defaults/);
  });

  test('a failover target across datacenters in mode none is refused on the service', () => {
    const stack = newStack();
    const dc = new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: '127.0.0.1:8500', directlyRoutable: false });
    new ServiceResolver(stack, 'resolver', { datacenter: dc, service: 'api', failover: [{ datacenter: 'dc2' }] });
    new MeshService(stack, 'web', { datacenter: dc, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    expect(() => synthJson(stack)).toThrow(/\[test\/web\] upstream "api" \(dc2, by failover\) resolves to mesh gateway mode none/);
  });
});

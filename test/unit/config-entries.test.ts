import { Construct } from 'constructs';
import { ConsulFederation, IntentionAction, MeshGatewayMode, Protocol, ProxyDefaults, ServiceDefaults, ServiceIntentions } from '../../lib';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';

function setup() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  return { stack, fed };
}

describe('ProxyDefaults', () => {
  test('is always named global and carries the mesh gateway mode', () => {
    const { stack, fed } = setup();
    new ProxyDefaults(stack, 'pd', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local(), protocol: Protocol.HTTP });
    const json = synthJson(stack);
    const entry = resourceAt(json, 'consul_config_entry', 'pd/Resource');
    expect(entry).toMatchObject({ kind: 'proxy-defaults', name: 'global', provider: 'consul.dc1' });
    expect(JSON.parse(entry.config_json)).toEqual({
      Config: { protocol: Protocol.HTTP }, TransparentProxy: {}, MeshGateway: { Mode: 'local' }, Expose: {}, AccessLogs: {},
    });
    expect(entry.depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc1/Server0/Upgrade')]);
  });

  test('with nothing set sends an empty mode, which defers to Consul; written in a secondary, it goes to the primary', () => {
    const { stack, fed } = setup();
    new ProxyDefaults(stack, 'pd', { datacenter: fed.datacenter('dc2') });
    const entry = resourceAt(synthJson(stack), 'consul_config_entry', 'pd/Resource');
    expect(entry.provider).toBe('consul.dc1');
    expect(JSON.parse(entry.config_json)).toEqual({ TransparentProxy: {}, MeshGateway: { Mode: '' }, Expose: {}, AccessLogs: {} });
  });
});

describe('ServiceDefaults', () => {
  test('renders protocol, mode, upstream defaults and overrides in Consul\'s field names', () => {
    const { stack, fed } = setup();
    const sd = new ServiceDefaults(stack, 'web', {
      datacenter: fed.primary,
      service: 'web',
      protocol: Protocol.HTTP,
      meshGatewayMode: MeshGatewayMode.remote(),
      upstreamDefaultsMeshGatewayMode: MeshGatewayMode.local(),
      upstreamOverrides: [{ service: 'api', meshGatewayMode: MeshGatewayMode.none() }],
    });
    sd.addUpstreamOverride({ service: 'billing', peer: 'partner', meshGatewayMode: MeshGatewayMode.remote() });
    const entry = resourceAt(synthJson(stack), 'consul_config_entry', 'web/Resource');
    expect(entry).toMatchObject({ kind: 'service-defaults', name: 'web' });
    expect(JSON.parse(entry.config_json)).toEqual({
      Protocol: 'http',
      TransparentProxy: {},
      MeshGateway: { Mode: 'remote' },
      Expose: {},
      UpstreamConfig: {
        Overrides: [
          { Name: 'api', MeshGateway: { Mode: 'none' } },
          { Name: 'billing', Peer: 'partner', MeshGateway: { Mode: 'remote' } },
        ],
        Defaults: { MeshGateway: { Mode: 'local' } },
      },
    });
    expect(sd.upstreamOverrides.map((o) => o.service)).toEqual(['api', 'billing']);
  });

  test('omits UpstreamConfig when nothing is set for upstreams', () => {
    const { stack, fed } = setup();
    new ServiceDefaults(stack, 'api', { datacenter: fed.primary, service: 'api' });
    const entry = resourceAt(synthJson(stack), 'consul_config_entry', 'api/Resource');
    expect(JSON.parse(entry.config_json)).toEqual({ TransparentProxy: {}, MeshGateway: { Mode: '' }, Expose: {} });
  });
});

describe('config entry addresses', () => {
  test('name each entry after its kind, cluster and name, wherever its construct sits in the tree', () => {
    const { stack, fed } = setup();
    new ProxyDefaults(new Construct(stack, 'platform'), 'pd', { datacenter: fed.datacenter('dc2') });
    new ServiceDefaults(stack, 'api', { datacenter: fed.primary, service: 'api' });
    new ServiceIntentions(stack, 'all', { datacenter: fed.primary, destination: '*', sources: [{ name: 'web', action: IntentionAction.deny() }] });
    const json = synthJson(stack);
    expect(Object.keys(json.resource.consul_config_entry).sort())
      .toEqual(['proxy-defaults_dc1_global', 'service-defaults_dc1_api', 'service-intentions_dc1__all_']);
    expect(addressOf(json, 'consul_config_entry', 'platform/pd/Resource')).toBe('consul_config_entry.proxy-defaults_dc1_global');
  });
});

describe('MeshGatewayMode', () => {
  test('spells each mode as Consul stores it', () => {
    expect([MeshGatewayMode.local(), MeshGatewayMode.remote(), MeshGatewayMode.none(), MeshGatewayMode.inherit()].map((m) => m.value))
      .toEqual(['local', 'remote', 'none', '']);
    expect(MeshGatewayMode.inherit().isInherit).toBe(true);
    expect(MeshGatewayMode.none().isInherit).toBe(false);
    expect(MeshGatewayMode.of(newStack(), 'remote').value).toBe('remote');
  });
});

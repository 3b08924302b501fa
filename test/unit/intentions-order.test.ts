// A cluster's intentions are written after its other chain entries, and
// deleted before them (lib/config-entries/intentions-order.ts): each write of
// those makes Consul compile the chain of every intention's destination, so
// intentions first would make a large apply quadratic in Consul.
import { TerraformStack, TerraformVariable } from 'cdktf';
import {
  ExistingDatacenter, ExportedServices, IngressGateway, IntentionAction, MeshConfig, Protocol, ProxyDefaults, ServiceDefaults, ServiceIntentions,
  ServiceResolver, TerminatingGateway,
} from '../../lib';
import { newStack, synthJson } from '../support/synth';

function datacenter(stack: TerraformStack, name: string, cluster?: string): ExistingDatacenter {
  const token = new TerraformVariable(stack, `${cluster ?? name}_token`, { type: 'string', sensitive: true });
  return new ExistingDatacenter(stack, cluster ?? name, { name, cluster, address: '127.0.0.1:8500', token: token.stringValue });
}

const allow = (name: string) => [{ name, action: IntentionAction.allow() }];

describe('intentions', () => {
  test('depend on one point per cluster, which depends on every proxy-defaults, service-defaults, resolver and terminating gateway of it', () => {
    const stack = newStack();
    const dc = datacenter(stack, 'dc1');
    new ServiceIntentions(stack, 'api-intentions', { datacenter: dc, destination: 'api', sources: allow('web') });
    // Declared after the intentions: the point is completed by the finalize pass.
    new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc, protocol: Protocol.HTTP });
    new ServiceDefaults(stack, 'api-defaults', { datacenter: dc, service: 'api' });
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', failover: [{ datacenter: 'dc2' }] });
    new TerminatingGateway(stack, 'egress', { datacenter: dc, startEnvoy: false });
    // Kinds whose writes do not compile every intention's chain stay out of it.
    new IngressGateway(stack, 'ingress', { datacenter: dc, startEnvoy: false }).addListener({ port: 8080, protocol: Protocol.HTTP }).addService({ name: 'api' });
    new ExportedServices(stack, 'exports', { datacenter: dc, services: [{ service: 'api', peers: ['west'] }] });
    MeshConfig.of(dc);
    new ServiceIntentions(stack, 'web-intentions', { datacenter: dc, destination: 'web', sources: allow('api') });
    const json = synthJson(stack);
    expect(json.resource.terraform_data.intentions_after_entries_dc1.depends_on).toEqual([
      'consul_config_entry.proxy-defaults_dc1_global', 'consul_config_entry.service-defaults_dc1_api',
      'consul_config_entry.service-resolver_dc1_api', 'consul_config_entry.terminating-gateway_dc1_terminating-gateway',
    ]);
    for (const name of ['api', 'web']) {
      expect(json.resource.consul_config_entry[`service-intentions_dc1_${name}`].depends_on).toEqual(['terraform_data.intentions_after_entries_dc1']);
    }
  });

  test('of two clusters in one stack each wait for their own cluster\'s entries only', () => {
    const stack = newStack();
    const east = datacenter(stack, 'dc1', 'east');
    const west = datacenter(stack, 'dc1', 'west');
    new ServiceDefaults(stack, 'east-api', { datacenter: east, service: 'api' });
    new ServiceDefaults(stack, 'west-api', { datacenter: west, service: 'api' });
    new ServiceIntentions(stack, 'east-intentions', { datacenter: east, destination: 'api', sources: allow('web') });
    new ServiceIntentions(stack, 'west-intentions', { datacenter: west, destination: 'api', sources: allow('web') });
    const json = synthJson(stack);
    expect(json.resource.terraform_data.intentions_after_entries_east.depends_on).toEqual(['consul_config_entry.service-defaults_east_api']);
    expect(json.resource.terraform_data.intentions_after_entries_west.depends_on).toEqual(['consul_config_entry.service-defaults_west_api']);
    expect(json.resource.consul_config_entry['service-intentions_west_api'].depends_on).toEqual(['terraform_data.intentions_after_entries_west']);
  });

  test('at a thousand services, the edges grow with services plus intentions, not their product', () => {
    const stack = newStack();
    const dc = datacenter(stack, 'dc1');
    for (let i = 0; i < 1000; i++) {
      new ServiceDefaults(stack, `defaults-${i}`, { datacenter: dc, service: `svc${i}` });
      new ServiceIntentions(stack, `intentions-${i}`, { datacenter: dc, destination: `svc${i}`, sources: allow(`svc${(i + 1) % 1000}`) });
    }
    const json = synthJson(stack);
    const edges = Object.values<any>(json.resource.consul_config_entry).reduce((n, e) => n + (e.depends_on?.length ?? 0), 0)
      + json.resource.terraform_data.intentions_after_entries_dc1.depends_on.length;
    expect(edges).toBe(2000);
  });
});

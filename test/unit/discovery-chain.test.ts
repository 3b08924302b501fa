// The order Consul validates config entries in (lib/config-entries/discovery-chain.ts):
// each entry that Consul checks against a discovery chain depends on what the
// chain reads, so OpenTofu creates it after them and deletes it before them.
// test/integration/entry-order.test.ts applies such a mesh to real Consul.
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  ExistingDatacenter, ExportedServices, IngressGateway, IntentionAction, Protocol, ProxyDefaults, ServiceDefaults, ServiceIntentions, ServiceResolver,
} from '../../lib';
import { newStack, synthJson } from '../support/synth';

const entry = (kind: string, name: string) => `consul_config_entry.${kind}_dc1_${name}`;
const dependsOn = (json: any, kind: string, name: string): string[] => json.resource.consul_config_entry[`${kind}_dc1_${name}`].depends_on ?? [];

function dc1(stack: TerraformStack, id = 'dc1'): ExistingDatacenter {
  const token = new TerraformVariable(stack, `${id}_token`, { type: 'string', sensitive: true });
  return new ExistingDatacenter(stack, id, { name: 'dc1', address: '127.0.0.1:8500', token: token.stringValue });
}

function defaults(stack: TerraformStack, dc: ExistingDatacenter, ...services: string[]): void {
  for (const service of services) new ServiceDefaults(stack, `${service}-defaults`, { datacenter: dc, service, protocol: Protocol.HTTP });
}

describe('a service-resolver', () => {
  test('depends on proxy-defaults and the service-defaults of every service its chain reaches, through other resolvers', () => {
    const stack = newStack();
    const dc = dc1(stack);
    new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc, protocol: Protocol.HTTP });
    defaults(stack, dc, 'web', 'api', 'api-v2', 'api-v3', 'unrelated');
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', redirect: { service: 'api-v2' } });
    new ServiceResolver(stack, 'api-v2-resolver', { datacenter: dc, service: 'api-v2', failover: [{ service: 'api-v3' }, { datacenter: 'dc2' }] });
    const json = synthJson(stack);
    expect(dependsOn(json, 'service-resolver', 'api')).toEqual([
      entry('proxy-defaults', 'global'), entry('service-defaults', 'api'), entry('service-defaults', 'api-v2'), entry('service-defaults', 'api-v3'),
    ]);
    expect(dependsOn(json, 'service-resolver', 'api-v2')).toEqual([
      entry('proxy-defaults', 'global'), entry('service-defaults', 'api-v2'), entry('service-defaults', 'api-v3'),
    ]);
    // What Consul never checks a resolver against stays unordered.
    expect(dependsOn(json, 'service-defaults', 'api')).toEqual([]);
    expect(dependsOn(json, 'proxy-defaults', 'global')).toEqual([]);
  });

  test('never depends on another resolver: two resolvers failing over to each other are no cycle', () => {
    const stack = newStack();
    const dc = dc1(stack);
    defaults(stack, dc, 'a', 'b');
    new ServiceResolver(stack, 'a-resolver', { datacenter: dc, service: 'a', failover: [{ service: 'b' }] });
    new ServiceResolver(stack, 'b-resolver', { datacenter: dc, service: 'b', failover: [{ service: 'a' }] });
    const json = synthJson(stack);
    expect(dependsOn(json, 'service-resolver', 'a')).toEqual([entry('service-defaults', 'a'), entry('service-defaults', 'b')]);
    expect(dependsOn(json, 'service-resolver', 'b')).toEqual([entry('service-defaults', 'b'), entry('service-defaults', 'a')]);
  });

  test('leaves out a peer\'s services: Consul does not check their protocol', () => {
    const stack = newStack();
    const dc = dc1(stack);
    defaults(stack, dc, 'api', 'api-west');
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', failover: [{ service: 'api-west', peer: 'west' }] });
    expect(dependsOn(synthJson(stack), 'service-resolver', 'api')).toEqual([entry('service-defaults', 'api')]);
  });

  test('declared before the entries it reaches, still depends on them (the pass runs on the complete tree)', () => {
    const stack = newStack();
    const dc = dc1(stack);
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', redirect: { service: 'api-v2' } });
    defaults(stack, dc, 'api', 'api-v2');
    expect(dependsOn(synthJson(stack), 'service-resolver', 'api')).toEqual([entry('service-defaults', 'api'), entry('service-defaults', 'api-v2')]);
  });

  test('leaves entries of another stack to the stacks\' order (cdktf has no depends_on across stacks)', () => {
    const app = Testing.app();
    const first = new TerraformStack(app, 'first');
    const second = new TerraformStack(app, 'second');
    const dcFirst = dc1(first);
    defaults(first, dcFirst, 'api-v2');
    const dcSecond = dc1(second);
    defaults(second, dcSecond, 'api');
    new ServiceResolver(second, 'api-resolver', { datacenter: dcSecond, service: 'api', redirect: { service: 'api-v2' } });
    expect(dependsOn(synthJson(second), 'service-resolver', 'api')).toEqual([entry('service-defaults', 'api')]);
  });
});

describe('entries checked against whole chains', () => {
  test('an ingress gateway depends on proxy-defaults, and on the service-defaults and resolvers of its listeners\' chains', () => {
    const stack = newStack();
    const dc = dc1(stack);
    new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc });
    defaults(stack, dc, 'web', 'web-v2', 'other');
    new ServiceResolver(stack, 'web-resolver', { datacenter: dc, service: 'web', redirect: { service: 'web-v2' } });
    const ingress = new IngressGateway(stack, 'ingress', { datacenter: dc, startEnvoy: false });
    ingress.addListener({ port: 8080, protocol: Protocol.HTTP }).addService({ name: 'web', hosts: ['shop.example.com'] });
    expect(dependsOn(synthJson(stack), 'ingress-gateway', 'ingress-gateway')).toEqual(expect.arrayContaining([
      entry('proxy-defaults', 'global'), entry('service-defaults', 'web'), entry('service-defaults', 'web-v2'), entry('service-resolver', 'web'),
    ]));
    expect(dependsOn(synthJson(stack), 'ingress-gateway', 'ingress-gateway')).not.toContain(entry('service-defaults', 'other'));
  });

  test('the exported-services entry depends on its services\' chains, resolvers included, added after it too', () => {
    const stack = newStack();
    const dc = dc1(stack);
    const exports = new ExportedServices(stack, 'exports', { datacenter: dc });
    defaults(stack, dc, 'api', 'api-v2');
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', failover: [{ service: 'api-v2' }] });
    exports.exportService('api', ['west']);
    expect(dependsOn(synthJson(stack), 'exported-services', 'default')).toEqual([
      entry('service-defaults', 'api'), entry('service-defaults', 'api-v2'), entry('service-resolver', 'api'),
    ]);
  });

  test('intentions (L4 only: Consul checks only L7 permissions against protocols) stay unordered', () => {
    const stack = newStack();
    const dc = dc1(stack);
    defaults(stack, dc, 'api');
    new ServiceIntentions(stack, 'api-intentions', { datacenter: dc, destination: 'api', sources: [{ name: 'web', action: IntentionAction.allow() }] });
    expect(dependsOn(synthJson(stack), 'service-intentions', 'api')).toEqual([]);
  });

  test('rejects an exported service whose chain is redirected to another datacenter, naming the resolver', () => {
    const stack = new TerraformStack(new App(), 'partners');
    const dc = dc1(stack);
    new ServiceResolver(stack, 'api-resolver', { datacenter: dc, service: 'api', redirect: { datacenter: 'dc2' } });
    new ExportedServices(stack, 'exports', { datacenter: dc, services: [{ service: 'api', peers: ['west'] }] });
    expect(() => synthJson(stack)).toThrow(
      'service "api" is exported to peers, but its discovery chain is redirected to datacenter "dc2" by partners/api-resolver, '
      + 'which Consul refuses for an exported service (got: {"datacenter":"dc2"}). A peer-exported chain must stay in its datacenter');
  });
});

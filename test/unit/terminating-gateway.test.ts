import { TerraformStack, TerraformVariable } from 'cdktf';
import { attempt } from '../support/attempt';
import { addressOf, newStack, resourceAt, resourcesOf, synthJson } from '../support/synth';
import { ConsulFederation, DockerDatacenter, ExistingDatacenter, TerminatingGateway } from '../../lib';

const rules = (...linked: string[]) => [
  'service "terminating-gateway" {\n  policy = "write"\n}',
  ...linked.map((s) => `service "${s}" {\n  policy = "write"\n}`),
  'service_prefix "" {\n  policy = "read"\n}',
  'node_prefix "" {\n  policy = "read"\n}',
  'agent_prefix "" {\n  policy = "read"\n}',
].join('\n') + '\n';

function federated() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  return { stack, fed };
}

describe('TerminatingGateway', () => {
  test('renders the complete terminating-gateway entry with the TLS it originates', () => {
    const { stack, fed } = federated();
    new TerminatingGateway(stack, 'egress', {
      datacenter: fed.primary,
      services: [
        { service: 'billing' },
        { service: 'legacy', caFile: '/etc/ca.pem', certFile: '/etc/cert.pem', keyFile: '/etc/key.pem', sni: 'legacy.example.com' },
        { service: 'payments', caFile: '/etc/ca.pem' },
      ],
    });
    const entry = resourceAt(synthJson(stack), 'consul_config_entry', 'egress');
    expect(entry).toMatchObject({ kind: 'terminating-gateway', name: 'terminating-gateway', provider: 'consul.dc1' });
    expect(JSON.parse(entry.config_json)).toEqual({
      Services: [
        { Name: 'billing' },
        { Name: 'legacy', CAFile: '/etc/ca.pem', CertFile: '/etc/cert.pem', KeyFile: '/etc/key.pem', SNI: 'legacy.example.com' },
        { Name: 'payments', CAFile: '/etc/ca.pem' },
      ],
    });
  });

  test('with nothing linked, sends no Services at all (Consul drops an empty list)', () => {
    const { stack, fed } = federated();
    const gw = new TerminatingGateway(stack, 'egress', { datacenter: fed.primary });
    const json = synthJson(stack);
    expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'egress').config_json)).toEqual({});
    expect(gw.rules).toBe(rules());
  });

  test('the policy writes its own service and each linked one, and follows linkService() after construction', () => {
    const { stack, fed } = federated();
    const gw = new TerminatingGateway(stack, 'egress', { datacenter: fed.datacenter('dc2'), services: [{ service: 'billing' }] });
    expect(resourceAt(synthJson(stack), 'consul_acl_policy', 'egress/Acl/Policy').rules).toBe(rules('billing'));

    const linked = gw.linkService({ service: 'ledger' });
    expect(linked.service).toBe('ledger');
    expect(gw.linkedServices.map((l) => l.service)).toEqual(['billing', 'ledger']);
    const json = synthJson(stack);
    expect(gw.rules).toBe(rules('billing', 'ledger'));
    expect(resourceAt(json, 'consul_acl_policy', 'egress/Acl/Policy')).toMatchObject({
      name: 'terminating-gateway-dc2', rules: rules('billing', 'ledger'), datacenters: ['dc2'], provider: 'consul.dc1',
    });
    expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'egress').config_json)).toEqual({ Services: [{ Name: 'billing' }, { Name: 'ledger' }] });
  });

  test('registers an external service on its own node in the gateway\'s datacenter catalog', () => {
    const { stack, fed } = federated();
    const gw = new TerminatingGateway(stack, 'egress', { datacenter: fed.datacenter('dc2') });
    const linked = gw.linkService({ service: 'billing', address: '192.0.2.10', port: 443 });
    const json = synthJson(stack);
    const server = addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade');
    // The catalog is per datacenter: its own provider, not the primary's.
    expect(resourceAt(json, 'consul_node', 'egress/billing/Node')).toEqual({
      provider: 'consul.dc2', name: 'billing-external', address: '192.0.2.10',
      meta: { 'external-node': 'true', 'external-probe': 'true' }, depends_on: [server],
    });
    expect(resourceAt(json, 'consul_service', 'egress/billing/Service')).toEqual({
      provider: 'consul.dc2', name: 'billing', address: '192.0.2.10', port: 443,
      node: `\${${addressOf(json, 'consul_node', 'egress/billing/Node')}.name}`, depends_on: [server],
    });
    expect([linked.nodeName, linked.address]).toEqual(['billing-external', '192.0.2.10']);
  });

  test('services of one gateway share a named external node', () => {
    const { stack, fed } = federated();
    const gw = new TerminatingGateway(stack, 'egress', { datacenter: fed.primary });
    gw.linkService({ service: 'billing', address: 'mainframe.example.com', port: 443, node: 'mainframe' });
    gw.linkService({ service: 'ledger', address: 'mainframe.example.com', port: 8443, node: 'mainframe' });
    gw.linkService({ service: 'already-registered' });
    const json = synthJson(stack);
    expect(Object.keys(resourcesOf(json, 'consul_node'))).toEqual(['egress/billing/Node']);
    const node = `\${${addressOf(json, 'consul_node', 'egress/billing/Node')}.name}`;
    expect(Object.values(resourcesOf(json, 'consul_service')).map((s) => [s.name, s.node, s.port]))
      .toEqual([['billing', node, 443], ['ledger', node, 8443]]);
  });

  test('registers each replica with -gateway=terminating at its port', () => {
    const { stack, fed } = federated();
    new TerminatingGateway(stack, 'egress', { datacenter: fed.primary, services: [{ service: 'billing' }] });
    const json = synthJson(stack);
    expect(resourceAt(json, 'docker_container', 'egress/Replica0/Registration').command[0]).toBe(
      'n=0; until consul connect envoy -gateway=terminating -register -service terminating-gateway -proxy-id terminating-gateway-0'
      + ' -address 10.249.1.11:9443 -bind-address default=0.0.0.0:9443 -admin-bind 127.0.0.1:19000 -bootstrap'
      + ' > /bootstrap/envoy.json.tmp; do n=$((n+1)); if [ $n -ge 120 ]; then echo "the gateway did not register within 60 s" >&2; exit 1; fi; sleep 0.5; done'
      + ' && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json');
  });

  test('in a datacenter that already runs: entry, policy, token and catalog entries only', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const dc = new ExistingDatacenter(stack, 'east', { name: 'east', address: 'consul.internal:8500', token: token.stringValue });
    const gw = new TerminatingGateway(stack, 'egress', { datacenter: dc, services: [{ service: 'billing', address: '192.0.2.10', port: 443 }] });
    const json = synthJson(stack);
    expect(json.resource.docker_container).toBeUndefined();
    expect(resourceAt(json, 'consul_node', 'egress/billing/Node')).toMatchObject({ provider: 'consul.east' });
    expect(resourceAt(json, 'consul_node', 'egress/billing/Node').depends_on).toBeUndefined();
    expect(gw.registrations).toEqual([]);
  });
});

const gateway = (stack: TerraformStack) => new TerminatingGateway(stack, 'tg', { datacenter: new DockerDatacenter(stack, 'dc1', { name: 'dc1' }) });

const cases: [string, (stack: TerraformStack) => void, RegExp[]][] = [
  ['rejects linking every service with "*"', (stack) => gateway(stack).linkService({ service: '*' }),
    [/^bad\/tg: linking every service \("\*"\) would need `service_prefix "" write`/, /got: "\*"/, /Link each service by name/]],
  ['rejects linking a service twice', (stack) => {
    const gw = gateway(stack);
    gw.linkService({ service: 'billing' });
    gw.linkService({ service: 'billing', caFile: '/ca.pem' });
  }, [/^bad\/tg: service "billing" is already linked/, /got: "billing"/, /Link each service once/]],
  ['rejects a client certificate without its key', (stack) => gateway(stack).linkService({ service: 'legacy', caFile: '/ca.pem', certFile: '/cert.pem' }),
    [/^bad\/tg: mutual TLS to "legacy" needs caFile, certFile and keyFile together/, /got: \{"caFile":"\/ca.pem","certFile":"\/cert.pem"\}/, /only caFile/]],
  ['rejects a port without an address', (stack) => gateway(stack).linkService({ service: 'billing', port: 443 }),
    [/^bad\/tg: port and node register "billing" in the catalog, which needs its address/, /got: \{"port":443\}/, /Add `address`/]],
  ['rejects an address without a port', (stack) => gateway(stack).linkService({ service: 'billing', address: '192.0.2.10' }),
    [/^bad\/tg: "billing" is registered at an address, so it needs a port/, /got: "192.0.2.10"/, /Add `port`/]],
  ['rejects one node name at two addresses', (stack) => {
    const gw = gateway(stack);
    gw.linkService({ service: 'billing', address: '192.0.2.10', port: 443, node: 'mainframe' });
    gw.linkService({ service: 'ledger', address: '192.0.2.11', port: 443, node: 'mainframe' });
  }, [/^bad\/tg: node "mainframe" is already registered at 192.0.2.10 \(for "billing"\)/, /got: "192.0.2.11"/, /another node name for "ledger"/]],
  ['rejects an invalid service name (before it could become a construct id)', (stack) => gateway(stack).linkService({ service: 'billing/v2' }),
    [/^bad\/tg: service is not a valid service name/, /got: "billing\/v2"/, /letters, digits, dashes/]],
  ['rejects a port another gateway of the datacenter takes', (stack) => {
    const dc = new DockerDatacenter(stack, 'dc1', { name: 'dc1' });
    dc.addMeshGateway('mesh');
    new TerminatingGateway(stack, 'tg', { datacenter: dc, port: 8443 });
  }, [/\[bad\/tg\] port 8443 of terminating gateway bad\/tg is taken by mesh gateway bad\/dc1\/mesh/, /got: 8443/]],
  ['rejects a mesh gateway on a port a terminating gateway took first', (stack) => {
    const dc = new DockerDatacenter(stack, 'dc1', { name: 'dc1' });
    new TerminatingGateway(stack, 'tg', { datacenter: dc, port: 8443 });
    dc.addMeshGateway('mesh');
  }, [/\[bad\/dc1\/mesh\] port 8443 of mesh gateway bad\/dc1\/mesh is taken by terminating gateway bad\/tg/, /got: 8443/]],
  ['rejects replicas below one', (stack) => new TerminatingGateway(stack, 'tg', { datacenter: new DockerDatacenter(stack, 'dc1', { name: 'dc1' }), replicas: 0 }),
    [/^bad\/tg: replicas must be a whole number of at least 1/, /got: 0/]],
];

describe('TerminatingGateway bad input', () => {
  test.each(cases)('%s, naming the path, the value and the fix, and writes no stack', (_name, build, expected) => {
    const { error, written } = attempt(build);
    for (const pattern of expected) expect(error).toMatch(pattern);
    expect(written).toEqual([]);
  });

  test('a gateway with linked and registered services writes its stack', () => {
    const { error, written } = attempt((stack) => gateway(stack).linkService({ service: 'billing', address: '192.0.2.10', port: 443 }));
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });
});

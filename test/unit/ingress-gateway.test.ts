import { TerraformStack, TerraformVariable } from 'cdktf';
import { attempt } from '../support/attempt';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';
import { ConsulFederation, DockerDatacenter, ExistingDatacenter, IngressGateway, Protocol, ProxyDefaults, ServiceDefaults } from '../../lib';

const INGRESS_RULES = [
  'service "ingress-gateway" {\n  policy = "write"\n}',
  'service_prefix "" {\n  policy = "read"\n}',
  'node_prefix "" {\n  policy = "read"\n}',
  'agent_prefix "" {\n  policy = "read"\n}',
].join('\n') + '\n';

function federated() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  new ServiceDefaults(stack, 'web-defaults', { datacenter: fed.primary, service: 'web', protocol: Protocol.HTTP });
  return { stack, fed };
}

const entryOf = (json: any, path = 'ingress') => resourceAt(json, 'consul_config_entry', path);

describe('IngressGateway', () => {
  test('renders the complete ingress-gateway entry: gateway TLS, listeners, services and hosts', () => {
    const { stack, fed } = federated();
    new ServiceDefaults(stack, 'admin-defaults', { datacenter: fed.primary, service: 'admin', protocol: Protocol.HTTP });
    new IngressGateway(stack, 'ingress', {
      datacenter: fed.primary,
      tls: true,
      listeners: [
        { port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: ['web.example.com', '*.web.example.com'] }, { name: 'admin' }] },
        { port: 9000, tls: false, services: [{ name: 'db' }] },
      ],
    });
    const entry = entryOf(synthJson(stack));
    expect(entry).toMatchObject({ kind: 'ingress-gateway', name: 'ingress-gateway', provider: 'consul.dc1' });
    expect(JSON.parse(entry.config_json)).toEqual({
      TLS: { Enabled: true },
      Listeners: [
        { Port: 8080, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['web.example.com', '*.web.example.com'] }, { Name: 'admin' }] },
        { Port: 9000, Protocol: 'tcp', TLS: { Enabled: false }, Services: [{ Name: 'db' }] },
      ],
    });
  });

  test('gets a policy with exactly the documented ingress rules, scoped to its datacenter', () => {
    const { stack, fed } = federated();
    const gw = new IngressGateway(stack, 'ingress', { datacenter: fed.datacenter('dc2'), listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    const json = synthJson(stack);
    expect(gw.rules).toBe(INGRESS_RULES);
    expect(resourceAt(json, 'consul_acl_policy', 'ingress/Acl/Policy')).toMatchObject({
      name: 'ingress-gateway-dc2', rules: INGRESS_RULES, datacenters: ['dc2'], provider: 'consul.dc1',
    });
    expect(entryOf(json).provider).toBe('consul.dc1');
  });

  test('addListener() and listener.addService() after construction land in the entry, and return what they created', () => {
    const { stack, fed } = federated();
    const gw = new IngressGateway(stack, 'ingress', { datacenter: fed.primary });
    expect(JSON.parse(entryOf(synthJson(stack)).config_json)).toEqual({ TLS: { Enabled: false }, Listeners: [] });
    const listener = gw.addListener({ port: 8080, protocol: Protocol.HTTP });
    const added = listener.addService({ name: 'web', hosts: ['web.example.com'] });
    expect(added).toEqual({ name: 'web', hosts: ['web.example.com'] });
    expect(gw.listeners.length === 1 && gw.listeners[0] === listener).toBe(true);
    expect(listener.services).toEqual([{ name: 'web', hosts: ['web.example.com'] }]);
    expect([listener.port, listener.protocol, listener.tls, listener.isHttpFamily]).toEqual([8080, 'http', undefined, true]);
    expect(JSON.parse(entryOf(synthJson(stack)).config_json)).toEqual({
      TLS: { Enabled: false },
      Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['web.example.com'] }] }],
    });
    gw.addListener({ port: 9000, services: [{ name: 'db' }] });
    expect(JSON.parse(entryOf(synthJson(stack)).config_json).Listeners[1]).toEqual({ Port: 9000, Protocol: 'tcp', Services: [{ Name: 'db' }] });
  });

  test('registers each replica with -gateway=ingress at its own port and runs Envoy on the bootstrap', () => {
    const { stack, fed } = federated();
    new IngressGateway(stack, 'ingress', { datacenter: fed.primary, replicas: 2, listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    const json = synthJson(stack);
    const registration = resourceAt(json, 'docker_container', 'ingress/Replica0/Registration');
    expect(registration.command[0]).toBe('n=0; until consul connect envoy -gateway=ingress -register -service ingress-gateway -proxy-id ingress-gateway-0'
      + ' -address 10.249.1.11:8888 -bind-address default=0.0.0.0:8888 -admin-bind 127.0.0.1:19000 -bootstrap'
      + ' > /bootstrap/envoy.json.tmp; do n=$((n+1)); if [ $n -ge 120 ]; then echo "the gateway did not register within 60 s" >&2; exit 1; fi; sleep 0.5; done'
      + ' && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json');
    const secret = addressOf(json, 'data.consul_acl_token_secret_id', 'ingress/Acl/Secret');
    expect(registration.env).toContain(`CONSUL_HTTP_TOKEN=\${${secret}.secret_id}`);
    expect(resourceAt(json, 'docker_container', 'ingress/Replica1/Registration').command[0]).toContain('-proxy-id ingress-gateway-1');
    expect(resourceAt(json, 'docker_container', 'ingress/Replica1/Envoy').depends_on)
      .toEqual([addressOf(json, 'docker_container', 'ingress/Replica1/Registration')]);
  });

  test('publishes every listener of its first replica on 127.0.0.1, those added later too, so outside traffic can enter', () => {
    const { stack, fed } = federated();
    const gw = new IngressGateway(stack, 'ingress', { datacenter: fed.primary, replicas: 2, listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    gw.addListener({ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web' }] });
    const json = synthJson(stack);
    expect(resourceAt(json, 'docker_container', 'ingress/Replica0/Envoy').ports).toEqual([
      { internal: 9000, external: 9000, ip: '127.0.0.1' }, { internal: 8080, external: 8080, ip: '127.0.0.1' },
    ]);
    // A second replica on the same host ports would collide: it serves the datacenter's network.
    expect(resourceAt(json, 'docker_container', 'ingress/Replica1/Envoy').ports).toBeUndefined();
  });

  test('with publishListeners: false, publishes nothing', () => {
    const { stack, fed } = federated();
    new IngressGateway(stack, 'ingress', { datacenter: fed.primary, publishListeners: false, listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    expect(resourceAt(synthJson(stack), 'docker_container', 'ingress/Replica0/Envoy').ports).toBeUndefined();
  });

  test('keeps its replicas off the WAN network, whose addresses only mesh gateways (and WAN-gossip servers) need', () => {
    const meshGatewayWan = (withIngress: boolean) => {
      const { stack, fed } = federated();
      if (withIngress) new IngressGateway(stack, 'ingress', { datacenter: fed.primary, replicas: 3 });
      const gateway = fed.primary.addMeshGateway('gw');
      const json = synthJson(stack);
      if (withIngress) {
        const networks = resourceAt(json, 'docker_container', 'ingress/Replica0/Envoy').networks_advanced.map((n: any) => n.name);
        expect(networks).toEqual([`\${${addressOf(json, 'docker_network', 'fed/dc1/Lan')}.name}`]);
      }
      return gateway.wanAddresses;
    };
    expect(meshGatewayWan(true)).toEqual(meshGatewayWan(false));
  });

  test('the entry waits for the service-defaults and proxy-defaults of its cluster, even those declared after it', () => {
    const { stack, fed } = federated();
    new IngressGateway(stack, 'ingress', {
      datacenter: fed.datacenter('dc2'),
      listeners: [{ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web' }, { name: 'api' }] }],
    });
    new ServiceDefaults(stack, 'api-defaults', { datacenter: fed.primary, service: 'api', protocol: Protocol.HTTP });
    new ServiceDefaults(stack, 'other-defaults', { datacenter: fed.primary, service: 'other', protocol: Protocol.GRPC });
    new ProxyDefaults(stack, 'proxy-defaults', { datacenter: fed.primary });
    // Another cluster's entries neither order nor constrain this one.
    const elsewhere = new DockerDatacenter(stack, 'elsewhere', { name: 'elsewhere', httpPort: 8600 });
    new ServiceDefaults(stack, 'elsewhere-web', { datacenter: elsewhere, service: 'web', protocol: Protocol.GRPC });
    new ProxyDefaults(stack, 'elsewhere-proxy', { datacenter: elsewhere, protocol: Protocol.TCP });
    const json = synthJson(stack);
    // The servers, then proxy-defaults, then each service's entry in listener order.
    expect(entryOf(json).depends_on).toEqual([
      addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade'),
      addressOf(json, 'consul_config_entry', 'proxy-defaults/Resource'),
      addressOf(json, 'consul_config_entry', 'web-defaults/Resource'),
      addressOf(json, 'consul_config_entry', 'api-defaults/Resource'),
    ]);
  });

  test('warns when nothing in the stack sets the protocol an http listener needs', () => {
    const { stack, fed } = federated();
    const gw = new IngressGateway(stack, 'ingress', { datacenter: fed.primary, listeners: [{ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'shop' }] }] });
    synthJson(stack);
    const warnings = gw.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => m.data);
    expect(warnings).toEqual([expect.stringMatching(/^service "shop" behind http listener 8080 has no protocol set in this stack; Consul refuses/)]);
  });

  test('in a datacenter that already runs: entry, policy and token only', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const dc = new ExistingDatacenter(stack, 'east', { name: 'east', address: 'consul.internal:8500', token: token.stringValue });
    const gw = new IngressGateway(stack, 'ingress', { datacenter: dc, listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    const json = synthJson(stack);
    expect(json.resource.docker_container).toBeUndefined();
    expect(entryOf(json)).toMatchObject({ provider: 'consul.east' });
    expect(entryOf(json).depends_on).toBeUndefined();
    expect(gw.registrations).toEqual([]);
  });
});

const dcOf = (stack: TerraformStack, extra: Partial<{ connect: boolean }> = {}) =>
  new DockerDatacenter(stack, 'dc1', { name: 'dc1', ...extra });
const gateway = (stack: TerraformStack, dc = dcOf(stack)) => new IngressGateway(stack, 'ig', { datacenter: dc });

// Each row: the bad input, then what the one message must say (where, what was received, the fix).
const cases: [string, (stack: TerraformStack) => void, RegExp[]][] = [
  ['rejects a second service on a tcp listener', (stack) => gateway(stack).addListener({ port: 9000, services: [{ name: 'db' }, { name: 'cache' }] }),
    [/^bad\/ig: a tcp listener takes exactly one service, and listener 9000 \(tcp\) already has "db"/, /got: "cache"/, /its own port/]],
  ['rejects a tcp listener left without a service', (stack) => gateway(stack).addListener({ port: 9000 }),
    [/\[bad\/ig\] tcp listener 9000 takes exactly one service and has none/, /got: \[\]/, /addService/]],
  ['rejects an http listener left without a service', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP }),
    [/\[bad\/ig\] listener 8080 \(http\) has no service/, /got: \[\]/, /addService/]],
  ['rejects hosts on a tcp listener', (stack) => gateway(stack).addListener({ port: 9000 }).addService({ name: 'db', hosts: ['db.example.com'] }),
    [/^bad\/ig: hosts route HTTP requests, so they apply only to http, http2 and grpc listeners, and listener 9000 \(tcp\) is not/,
      /got: \["db.example.com"\]/, /Remove hosts from service "db", or use protocol "http"/]],
  ['rejects the wildcard service on an http2 listener', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP2, services: [{ name: '*' }] }),
    [/^bad\/ig: the wildcard service "\*" is only valid on http listeners, and listener 8080 \(http2\) is not/, /got: "\*"/, /protocol "http"/]],
  ['rejects the wildcard service on a tcp listener', (stack) => gateway(stack).addListener({ port: 9000, services: [{ name: '*' }] }),
    [/^bad\/ig: the wildcard service "\*" is only valid on http listeners/, /got: "\*"/]],
  ['rejects hosts on the wildcard service', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP, services: [{ name: '*', hosts: ['x.example.com'] }] }),
    [/^bad\/ig: the wildcard service on listener 8080 \(http\) cannot have hosts/, /got: \["x.example.com"\]/, /Remove hosts, or name the service/]],
  ['rejects two listeners on one port', (stack) => {
    const gw = gateway(stack);
    gw.addListener({ port: 9000, services: [{ name: 'db' }] });
    gw.addListener({ port: 9000, services: [{ name: 'cache' }] });
  }, [/^bad\/ig: two listeners on port 9000/, /got: 9000/, /its own port/]],
  ['rejects a listener on the gateway\'s own port', (stack) => gateway(stack).addListener({ port: 8888, services: [{ name: 'db' }] }),
    [/^bad\/ig: listener port 8888 is the gateway's own port/, /got: 8888/, /move the gateway with `port`/]],
  ['rejects a listener port another gateway of the datacenter takes', (stack) => {
    const dc = dcOf(stack);
    dc.addMeshGateway('mesh');
    new IngressGateway(stack, 'ig', { datacenter: dc, listeners: [{ port: 8443, services: [{ name: 'db' }] }] });
  }, [/\[bad\/ig\] port 8443 of ingress gateway bad\/ig is taken by mesh gateway bad\/dc1\/mesh in datacenter "dc1"/, /got: 8443/, /its own ports/]],
  ['rejects two ingress gateways of a datacenter sharing a listener port', (stack) => {
    const dc = dcOf(stack);
    new IngressGateway(stack, 'first', { datacenter: dc, serviceName: 'first', port: 8881, listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    new IngressGateway(stack, 'second', { datacenter: dc, serviceName: 'second', port: 8882, listeners: [{ port: 9000, services: [{ name: 'cache' }] }] });
  }, [/\[bad\/second\] port 9000 of ingress gateway bad\/second is taken by ingress gateway bad\/first/, /got: 9000/]],
  ['rejects a listener whose published host port a datacenter takes already', (stack) => gateway(stack).addListener({ port: 8500, services: [{ name: 'db' }] }),
    [/\[bad\/ig\] bad\/ig and bad\/dc1 publish the same host port/, /got: 8500/, /Move the listener to a free port, or set publishListeners: false/]],
  ['rejects a host routed twice on one listener', (stack) => gateway(stack).addListener({
    port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: ['shop.example.com'] }, { name: 'api', hosts: ['shop.example.com'] }],
  }), [/^bad\/ig: host "shop.example.com" is routed twice on listener 8080 \(http\)/, /got: "shop.example.com"/, /unique within a listener/]],
  ['rejects a service added twice to one listener', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web' }, { name: 'web' }] }),
    [/^bad\/ig: service "web" is already behind listener 8080 \(http\)/, /got: "web"/, /several hosts/]],
  ['rejects a wildcard that is not the leftmost label', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: ['shop.*.com'] }] }),
    [/^bad\/ig: host of service "web" on listener 8080 \(http\) is not a host name/, /got: "shop.\*.com"/, /"\*.example.com"/]],
  // Consul checks every host against the gateway's TLS, not the listener's (IngressGatewayConfigEntry.Validate, validateHost).
  ['rejects host "*" on a gateway with TLS, even on a listener with TLS off', (stack) => new IngressGateway(stack, 'ig', {
    datacenter: dcOf(stack), tls: true, listeners: [{ port: 8080, protocol: Protocol.HTTP, tls: false, services: [{ name: 'web', hosts: ['*'] }] }],
  }), [/^bad\/ig: host "\*" of service "web" on listener 8080 \(http\) would be a DNS name of the gateway's TLS certificate, so Consul refuses it while the gateway's tls is on/,
    /got: "\*"/, /Name the hosts \(e\.g\. "shop\.example\.com" or "\*\.example\.com"\), or turn the gateway's tls off/]],
  ['rejects host "*" added later to a gateway with TLS', (stack) => new IngressGateway(stack, 'ig', { datacenter: dcOf(stack), tls: true })
    .addListener({ port: 8080, protocol: Protocol.HTTP }).addService({ name: 'web', hosts: ['*'] }),
  [/^bad\/ig: host "\*" of service "web" on listener 8080 \(http\) would be a DNS name/, /got: "\*"/]],
  // Consul reads hosts as DNS names (miekg/dns IsDomainName): no empty label, labels of at most 63 bytes, at most 255 bytes in all.
  ['rejects a host with an empty label', (stack) => gateway(stack).addListener({ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: ['shop..example.com'] }] }),
    [/^bad\/ig: host of service "web" on listener 8080 \(http\) has an empty label, so Consul refuses it as a DNS name/, /got: "shop\.\.example\.com"/,
      /Use a DNS name: labels of 1 to 63 bytes, at most 255 bytes in all \(e\.g\. "shop\.example\.com"\)/]],
  ['rejects a host with a label over 63 bytes (counted in UTF-8, as Consul does)', (stack) => gateway(stack).addListener({
    port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: [`${'é'.repeat(32)}.example.com`] }],
  }), [/^bad\/ig: host of service "web" on listener 8080 \(http\) has a label longer than 63 bytes, so Consul refuses it/, /got: "é{32}\.example\.com"/]],
  ['rejects a host over 255 bytes', (stack) => gateway(stack).addListener({
    port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: [`${'a'.repeat(63)}.`.repeat(4) + 'com'] }],
  }), [/^bad\/ig: host of service "web" on listener 8080 \(http\) is longer than 255 bytes, so Consul refuses it/, /got: "a{63}\./]],
  ['rejects a protocol Consul does not know', (stack) => gateway(stack).addListener({ port: 8080, protocol: 'HTTP' as unknown as Protocol }),
    [/^bad\/ig: unknown protocol/, /got: "HTTP"/, /Protocol\.TCP, \.HTTP, \.HTTP2 or \.GRPC/]],
  ['rejects a listener port out of range', (stack) => gateway(stack).addListener({ port: 70000 }),
    [/^bad\/ig: listener port must be a TCP port/, /got: 70000/, /1 to 65535/]],
  ['rejects a service whose protocol in this stack differs from its listener\'s', (stack) => {
    const dc = dcOf(stack);
    new ServiceDefaults(stack, 'api-defaults', { datacenter: dc, service: 'api', protocol: Protocol.GRPC });
    new IngressGateway(stack, 'ig', { datacenter: dc, listeners: [{ port: 8080, protocol: Protocol.HTTP, services: [{ name: 'api' }] }] });
  }, [/\[bad\/ig\] service "api" behind http listener 8080 has protocol "grpc" \(set by bad\/api-defaults\), which Consul refuses/, /got: "grpc"/,
    /Set protocol "http" for "api", or move it to a grpc listener/]],
  ['rejects an invalid service name', (stack) => gateway(stack).addListener({ port: 9000, services: [{ name: 'no spaces' }] }),
    [/^bad\/ig: service of listener 9000 \(tcp\) is not a valid service name/, /got: "no spaces"/]],
  ['rejects an ingress gateway where Connect is off', (stack) => gateway(stack, dcOf(stack, { connect: false })),
    [/^bad\/ig: an ingress gateway needs Connect, which is disabled in datacenter "dc1"/, /got: false/, /connect: false/]],
];

describe('IngressGateway bad input', () => {
  test.each(cases)('%s, naming the path, the value and the fix, and writes no stack', (_name, build, expected) => {
    const { error, written } = attempt(build);
    for (const pattern of expected) expect(error).toMatch(pattern);
    expect(written).toEqual([]);
  });

  test('accepts host "*" while the gateway\'s TLS is off, a listener\'s own TLS included (Consul checks only the gateway\'s)', () => {
    const { error, written } = attempt((stack) => new IngressGateway(stack, 'ig', {
      datacenter: dcOf(stack), listeners: [
        { port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: ['*'] }] },
        { port: 8443, protocol: Protocol.HTTP, tls: true, services: [{ name: 'shop', hosts: ['*'] }] },
      ],
    }));
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });

  test('accepts hosts at Consul\'s limits: 63-byte labels, 255 bytes in all, a trailing dot', () => {
    const { error, written } = attempt((stack) => gateway(stack).addListener({
      port: 8080, protocol: Protocol.HTTP, services: [{ name: 'web', hosts: [`${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(63), 'shop.example.com.'] }],
    }));
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });

  test('a complete gateway writes its stack (the harness can see success)', () => {
    const { error, written } = attempt((stack) => gateway(stack).addListener({ port: 9000 }).addService({ name: 'db' }));
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });
});

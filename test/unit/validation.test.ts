import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import {
  ApiScheme,
  ClusterPeering,
  ConsulFederation,
  ConsulFederationProps,
  DockerDatacenter,
  ExistingDatacenter,
  FederationMethod,
  IngressGateway,
  IntentionAction,
  LogLevel,
  MeshGatewayMode,
  MeshService,
  Protocol,
  ProxyDefaults,
  ProxyDefaultsProps,
  ServiceDefaults,
  ServiceIntentions,
  TerminatingGateway,
} from '../../lib';
import { attempt } from '../support/attempt';

const pair = (overrides: Partial<ConsulFederationProps> = {}) => (stack: TerraformStack) =>
  new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], ...overrides });

// Each row: the bad input, then what the one message must say (where, what was received, the fix).
const cases: [string, (stack: TerraformStack) => void, RegExp[]][] = [
  ['rejects duplicate datacenter names', pair({ secondaries: [{ name: 'dc1' }] }),
    [/^bad\/fed: datacenter names must be unique/, /got: "dc1"/, /Rename one/]],
  ['rejects a datacenter name Consul refuses', pair({ primary: { name: 'DC_1' } }),
    [/^bad\/fed: invalid datacenter name/, /got: "DC_1"/, /lowercase letters, digits and dashes/]],
  ['rejects a secondary expecting another primary', pair({ secondaries: [{ name: 'dc2', primaryDatacenter: 'dc9' }] }),
    [/^bad\/fed: datacenter "dc2" expects primary "dc9" but the federation's primary is "dc1"/, /got: "dc9"/, /set it to "dc1"/]],
  ['rejects a federation with no secondary', pair({ secondaries: [] }),
    [/^bad\/fed: a federation needs at least one secondary/, /got: \[\]/, /Add a secondary/]],
  ['rejects mesh-gateway federation with ACL replication off',
    pair({ method: FederationMethod.meshGateways(), secondaries: [{ name: 'dc2', aclReplication: false }] }),
    [/^bad\/fed: mesh-gateway federation needs ACL replication, which is off in "dc2"/, /got: false/, /FederationMethod.wanGossip\(\)/]],
  ['rejects an unknown mode string', (stack) => MeshGatewayMode.of(stack, 'remote-ish'),
    [/^bad: unknown mesh gateway mode/, /got: "remote-ish"/, /MeshGatewayMode.local\(\)/]],
  ['rejects two datacenters publishing the same host port', pair({ secondaries: [{ name: 'dc2', httpPort: 8500 }] }),
    [/bad\/fed\/dc2 and bad\/fed\/dc1 publish the same host port/, /got: 8500/, /own httpPort/]],
  ['rejects two datacenters on the same subnet', pair({ secondaries: [{ name: 'dc2', lanSubnet: '10.249.1.0/24' }] }),
    [/bad\/fed\/dc2 and bad\/fed\/dc1 use the same subnet/, /got: "10.249.1.0\/24"/, /own lanSubnet/]],
  ['rejects replicas below one', (stack) => pair()(stack).primary.addMeshGateway('gw', { replicas: 0 }),
    [/^bad\/fed\/dc1\/gw: replicas must be a whole number of at least 1/, /got: 0/, /replicas: 1 or more/]],
  ['rejects an even server count', pair({ primary: { name: 'dc1', servers: 2 } }),
    [/^bad\/fed\/dc1: servers must be an odd number/, /got: 2/, /Use 1 .* 3 .* or 5/]],
  ['rejects a name for proxy-defaults (always global; the prop is gone)', (stack) => new ProxyDefaults(stack, 'pd', { datacenter: pair()(stack).primary, name: 'mine' } as ProxyDefaultsProps),
    [/^bad\/pd: props has an unknown key "name"/, /got: "name"/, /Known keys of ProxyDefaultsProps: datacenter, meshGatewayMode, protocol/]],
  ['rejects a mesh gateway in a datacenter with Connect disabled',
    (stack) => pair({ secondaries: [{ name: 'dc2', connect: false }] })(stack).datacenter('dc2').addMeshGateway('gw'),
    [/^bad\/fed\/dc2\/gw: a mesh gateway needs Connect, which is disabled in datacenter "dc2"/, /got: false/, /connect: false/]],
  ['rejects a secret passed as a literal', pair({ managementToken: '9b7f0a4e-1d2c-4c1b-8f1e-2a3b4c5d6e7f' }),
    [/^bad\/fed: managementToken is a literal and would be written in plaintext/, /got: "<redacted literal>"/, /sensitive TerraformVariable/]],
  ['rejects an unknown protocol', (stack) => new ServiceDefaults(stack, 'sd', { datacenter: pair()(stack).primary, service: 'api', protocol: 'HTTP' as unknown as Protocol }),
    [/^bad\/sd: unknown protocol/, /got: "HTTP"/, /Protocol\.TCP, \.HTTP, \.HTTP2 or \.GRPC/]],
  ['rejects a malformed subnet', (stack) => new DockerDatacenter(stack, 'dc', { name: 'solo', lanSubnet: '10.0.0.0/16' }),
    [/^bad\/dc: lanSubnet must be an IPv4 \/24/, /got: "10.0.0.0\/16"/]],
  ['rejects a second override for the same upstream', (stack) => new ServiceDefaults(stack, 'sd', {
    datacenter: pair()(stack).primary, service: 'web', upstreamOverrides: [{ service: 'api' }, { service: 'api' }],
  }), [/^bad\/sd: an upstream override for this service \(and peer\) already exists/, /got: "api"/]],
  // Consul's UpstreamConfig.validate: an override names one upstream.
  ['rejects an upstream override for every upstream ("*")', (stack) => new ServiceDefaults(stack, 'sd', {
    datacenter: pair()(stack).primary, service: 'web', upstreamOverrides: [{ service: '*' }],
  }), [/^bad\/sd: upstreamOverrides\[0\] must name one upstream: Consul refuses "\*" there/, /got: "\*"/, /upstreamDefaultsMeshGatewayMode/]],
  ['rejects an upstream override without a service name', (stack) => new ServiceDefaults(stack, 'sd', {
    datacenter: pair()(stack).primary, service: 'web', upstreamOverrides: [{ service: '' }],
  }), [/^bad\/sd: upstreamOverrides\[0\]\.service is not a valid service name/, /got: ""/]],
  ['rejects an invalid service name in service-defaults', (stack) => new ServiceDefaults(stack, 'sd', { datacenter: pair()(stack).primary, service: 'api v2' }),
    [/^bad\/sd: service is not a valid service name/, /got: "api v2"/, /letters, digits, dashes and underscores/]],
  ['rejects an invalid service name in a mesh service', (stack) => new MeshService(stack, 'web', { datacenter: pair()(stack).primary, service: '-web', port: 80 }),
    [/^bad\/web: service is not a valid service name/, /got: "-web"/]],
  ['rejects a datacenter the federation does not have', (stack) => pair()(stack).datacenter('dc3'),
    [/^bad\/fed: no datacenter of that name/, /got: "dc3"/, /Use one of: dc1, dc2/]],  ['rejects two Docker datacenters of one name in a stack', (stack) => {
    pair()(stack);
    new DockerDatacenter(stack, 'solo', { name: 'dc1', httpPort: 8600, lanSubnet: '10.249.9.0/24' });
  }, [/^bad\/solo: datacenter "dc1" of cluster "dc1" is already declared at bad\/fed\/dc1/, /got: "dc1"/, /Rename one: Docker datacenters of a stack need distinct names/]],
  // Config entries are global to a federation: the same entry declared through dc1 and dc2 is one entry written twice.
  ['rejects the same service-defaults declared twice in one federation', (stack) => {
    const fed = pair()(stack);
    new ServiceDefaults(stack, 'api-dc1', { datacenter: fed.primary, service: 'api', meshGatewayMode: MeshGatewayMode.local() });
    new ServiceDefaults(stack, 'api-dc2', { datacenter: fed.datacenter('dc2'), service: 'api', meshGatewayMode: MeshGatewayMode.remote() });
  }, [/^bad\/api-dc2: the service-defaults entry "api" of cluster "dc1" is already declared at bad\/api-dc1/,
    /got: "api"/, /declare each one once, with the settings of every datacenter\.$/]],
  ['rejects a second proxy-defaults in one federation', (stack) => {
    const fed = pair()(stack);
    new ProxyDefaults(stack, 'pd', { datacenter: fed.primary });
    new ProxyDefaults(stack, 'pd2', { datacenter: fed.datacenter('dc2'), meshGatewayMode: MeshGatewayMode.local() });
  }, [/^bad\/pd2: the proxy-defaults entry "global" of cluster "dc1" is already declared at bad\/pd/, /got: "global"/]],
  ['rejects two ingress gateways sharing a name (and so a config entry) in one federation', (stack) => {
    const fed = pair()(stack);
    new IngressGateway(stack, 'in1', { datacenter: fed.primary });
    new IngressGateway(stack, 'in2', { datacenter: fed.datacenter('dc2') });
  }, [/^bad\/in2: the ingress-gateway entry "ingress-gateway" of cluster "dc1" is already declared at bad\/in1/,
    /got: "ingress-gateway"/, /or give this gateway its own serviceName\.$/]],
  // Consul's state store refuses an ingress-gateway and a terminating-gateway entry of one name (checkGatewayClash).
  ['rejects an ingress and a terminating gateway sharing a name in one federation', (stack) => {
    const fed = pair()(stack);
    new IngressGateway(stack, 'in', { datacenter: fed.primary, serviceName: 'edge', listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
    new TerminatingGateway(stack, 'tg', { datacenter: fed.datacenter('dc2'), serviceName: 'edge' });
  }, [/^bad\/tg: the terminating-gateway entry "edge" of cluster "dc1" has the name of the ingress-gateway entry declared at bad\/in, which Consul refuses/,
    /got: "edge"/, /Give one of the gateways its own serviceName\./]],
  // Secrets: a variable's default is written to cdk.tf.json, and a variable that is not sensitive shows in plans.
  ['rejects a secret variable with a default value', (stack) => {
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true, default: '9b7f0a4e-1d2c-4c1b-8f1e-2a3b4c5d6e7f' });
    pair({ managementToken: token.stringValue })(stack);
  }, [/^bad\/fed: managementToken comes from variable "token", which has a default value: it would be written in plaintext to cdk\.tf\.json/,
    /got: "<redacted default>"/, /Remove the default and pass the value as TF_VAR_token/]],
  ['rejects a secret variable that is not sensitive', (stack) => {
    const token = new TerraformVariable(stack, 'token', { type: 'string' });
    new ExistingDatacenter(stack, 'east', { name: 'east', address: '127.0.0.1:8500', token: token.stringValue });
  }, [/^bad\/east: token comes from variable "token", which is not sensitive/, /got: false/, /sensitive: true/]],
  // Values from JavaScript (or Python) that bypass the types.
  ['rejects a mode passed as a plain string', (stack) => new ProxyDefaults(stack, 'pd', { datacenter: pair()(stack).primary, meshGatewayMode: 'remote' as any }),
    [/^bad\/pd: meshGatewayMode must be a MeshGatewayMode/, /got: "remote"/, /MeshGatewayMode\.remote\(\)/]],
  ['rejects an upstream mode passed as a plain string', (stack) => new MeshService(stack, 'web', {
    datacenter: pair()(stack).primary, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000, meshGatewayMode: 'local' as any }],
  }), [/^bad\/web: upstreams\[0\]\.meshGatewayMode must be a MeshGatewayMode/, /got: "local"/, /MeshGatewayMode\.local\(\)/]],
  ['rejects an upstream override mode passed as a plain string', (stack) => new ServiceDefaults(stack, 'sd', {
    datacenter: pair()(stack).primary, service: 'web', upstreamOverrides: [{ service: 'api', meshGatewayMode: 'none' as any }],
  }), [/^bad\/sd: upstreamOverrides\[0\]\.meshGatewayMode must be a MeshGatewayMode/, /got: "none"/]],
  ['rejects an intention action passed as a plain string', (stack) => new ServiceIntentions(stack, 'si', {
    datacenter: pair()(stack).primary, destination: 'api', sources: [{ name: 'web', action: 'allow' as any }],
  }), [/^bad\/si: action of source "web" must be an IntentionAction/, /got: "allow"/, /IntentionAction\.allow\(\) or IntentionAction\.deny\(\)/]],
  ['rejects a federation method passed as a plain string', pair({ method: 'mesh-gateways' as any }),
    [/^bad\/fed: method must be a FederationMethod/, /got: "mesh-gateways"/, /FederationMethod\.wanGossip\(\) or FederationMethod\.meshGateways\(\)/]],
  // Messages that read badly.
  ['rejects an empty datacenter name with the library\'s message', pair({ secondaries: [{ name: '' }] }),
    [/^bad\/fed: invalid datacenter name/, /got: ""/, /lowercase letters, digits and dashes/]],
  // Cross-construct consistency.
  ['rejects a lone datacenter that names another datacenter as its primary', (stack) => new DockerDatacenter(stack, 'dc', { name: 'dc2', primaryDatacenter: 'dc1' }),
    [/^bad\/dc: a datacenter on its own is its own primary: naming "dc1" would start it without an initial management token/, /got: "dc1"/,
      /Remove primaryDatacenter, or declare both datacenters in one ConsulFederation/]],
  ['rejects mesh-gateway federation whose primary gateway does not expose the servers', (stack) => {
    const fed = pair({ method: FederationMethod.meshGateways() })(stack);
    fed.primary.addMeshGateway('gw', { exposeServers: false });
    fed.datacenter('dc2').addMeshGateway('gw');
  }, [/\[bad\/fed\/dc1\] mesh-gateway federation needs a mesh gateway that exposes the servers of "dc1", and none does/, /got: false/, /Remove exposeServers: false/]],
  ['rejects two gateways of one datacenter with one service name', (stack) => {
    const dc1 = pair()(stack).primary;
    dc1.addMeshGateway('gw');
    new IngressGateway(stack, 'in', { datacenter: dc1, serviceName: 'mesh-gateway', listeners: [{ port: 9000, services: [{ name: 'db' }] }] });
  }, [/\[bad\/in\] ingress gateway bad\/in has the service name of mesh gateway bad\/fed\/dc1\/gw in datacenter "dc1"/, /got: "mesh-gateway"/, /own serviceName/]],
  // Free strings that reach a shell, a name or an agent.
  ['rejects a mesh gateway service name with a space', (stack) => pair()(stack).primary.addMeshGateway('gw', { serviceName: 'mesh gateway' }),
    [/^bad\/fed\/dc1\/gw: serviceName is not a valid service name/, /got: "mesh gateway"/]],
  ['rejects a name prefix Docker cannot use', pair({ namePrefix: 'my consul' }),
    [/^bad\/fed: namePrefix must be usable in Docker container, network and volume names/, /got: "my consul"/, /letters, digits/]],
  ['rejects an unknown log level', (stack) => new DockerDatacenter(stack, 'dc', { name: 'solo', logLevel: 'verbose' as unknown as LogLevel }),
    [/^bad\/dc: unknown Consul log level/, /got: "verbose"/, /LogLevel\.TRACE, \.DEBUG, \.INFO, \.WARN or \.ERROR/]],
  ['rejects a stabilization time that is not whole seconds', pair({ secondaries: [{ name: 'dc2', serverStabilizationSeconds: 2.5 }] }),
    [/^bad\/fed\/dc2: serverStabilizationSeconds must be a whole number of seconds from 1 to 300/, /got: 2\.5/, /leave it unset for Consul's 10/]],
  ['rejects a stabilization time of 0', (stack) => new DockerDatacenter(stack, 'dc', { name: 'solo', serverStabilizationSeconds: 0 }),
    [/^bad\/dc: serverStabilizationSeconds must be a whole number/, /got: 0/]],
  ['rejects an API scheme that is not an ApiScheme', (stack) => new ExistingDatacenter(stack, 'dc', {
    name: 'dc1', address: '127.0.0.1:8500', scheme: 'ftp' as unknown as ApiScheme,
  }), [/^bad\/dc: scheme must be an ApiScheme/, /got: "ftp"/, /ApiScheme\.HTTP or ApiScheme\.HTTPS/]],
  ['rejects an empty image', pair({ image: '' }), [/^bad\/fed: image is not an image reference/, /got: ""/]],
  ['rejects an empty Envoy image', (stack) => pair()(stack).primary.addMeshGateway('gw', { envoyImage: '' }),
    [/^bad\/fed\/dc1\/gw: envoyImage is not an image reference/, /got: ""/]],
  // Ports Consul or Envoy already take.
  ['rejects a gateway port equal to Envoy\'s admin port', (stack) => pair()(stack).primary.addMeshGateway('gw', { port: 19000 }),
    [/\[bad\/fed\/dc1\/gw\] port 19000 of mesh gateway bad\/fed\/dc1\/gw is Envoy's admin port in the same process/, /got: 19000/]],
  ['rejects an ingress listener on Envoy\'s admin port', (stack) => new IngressGateway(stack, 'in', {
    datacenter: pair()(stack).primary, listeners: [{ port: 19000, services: [{ name: 'db' }] }],
  }), [/port 19000 of ingress gateway bad\/in is Envoy's admin port/, /got: 19000/]],
  ['names a reserved subnet as reserved, and the user\'s construct', (stack) => new DockerDatacenter(stack, 'dc', { name: 'solo', lanSubnet: '10.249.0.0/24' }),
    [/\[bad\/dc\] 10\.249\.0\.0\/24 is reserved for the network shared between datacenters/, /got: "10.249.0.0\/24"/, /another lanSubnet/]],
  // Python dicts inside lists arrive as they are (jsii converts only structs it expects directly): unknown keys are refused.
  ['rejects a snake_case key in a secondary (a Python dict)', pair({ secondaries: [{ name: 'dc2', http_port: 8600 } as any] }),
    [/^bad\/fed: secondaries\[0\] has an unknown key "http_port"/, /got: "http_port"/, /Use "httpPort"; from Python, pass DatacenterOptions\(http_port=\.\.\.\) rather than a dict\./]],
  ['rejects an unknown key in an upstream', (stack) => new MeshService(stack, 'web', {
    datacenter: pair()(stack).primary, service: 'web', port: 80, upstreams: [{ service: 'api', local_bind_port: 9000 } as any],
  }), [/^bad\/web: upstreams\[0\] has an unknown key "local_bind_port"/, /Use "localBindPort"/]],
  ['rejects an unknown key in an upstream override', (stack) => new ServiceDefaults(stack, 'sd', {
    datacenter: pair()(stack).primary, service: 'web', upstreamOverrides: [{ service: 'api', mesh_gateway_mode: MeshGatewayMode.local() } as any],
  }), [/^bad\/sd: upstreamOverrides\[0\] has an unknown key "mesh_gateway_mode"/, /Use "meshGatewayMode"/]],
  ['rejects an unknown key in an intention source', (stack) => new ServiceIntentions(stack, 'si', {
    datacenter: pair()(stack).primary, destination: 'api', sources: [{ name: 'web', action: IntentionAction.allow(), permissions: [] } as any],
  }), [/^bad\/si: sources\[0\] has an unknown key "permissions"/, /Known keys of IntentionSourceOptions: name, action, peer, namespace, description\./]],
  ['rejects an unknown key in an ingress listener and in its services', (stack) => new IngressGateway(stack, 'in', {
    datacenter: pair()(stack).primary, listeners: [{ port: 9000, services: [{ name: 'db', host_names: ['x'] } as any] }],
  }), [/^bad\/in: service of listener 9000 has an unknown key "host_names"/, /Known keys of IngressServiceOptions: name, hosts\./]],
  ['rejects an unknown key in a linked service', (stack) => new TerminatingGateway(stack, 'tg', {
    datacenter: pair()(stack).primary, services: [{ service: 'billing', ca_file: '/ca.pem' } as any],
  }), [/^bad\/tg: services\[0\] has an unknown key "ca_file"/, /Use "caFile"; from Python, pass LinkedServiceOptions\(ca_file=\.\.\.\)/]],
  ['rejects an unknown key in a peering\'s exported service', (stack) => {
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true }).stringValue;
    const east = new ExistingDatacenter(stack, 'east', { name: 'east', address: '127.0.0.1:8500', token });
    const west = new ExistingDatacenter(stack, 'west', { name: 'west', address: '127.0.0.1:8510', token });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, throughMeshGateways: false, exportedServices: [{ service: 'api', allowed_callers: ['web'] } as any] });
  }, [/^bad\/peering: exportedServices\[0\] has an unknown key "allowed_callers"/, /Use "allowedCallers"/]],
  ['names NaN as NaN', (stack) => pair()(stack).primary.addMeshGateway('gw', { replicas: NaN }),
    [/^bad\/fed\/dc1\/gw: replicas must be a whole number of at least 1/, /got: NaN/]],
];

describe('bad input', () => {
  test.each(cases)('%s, naming the path, the value and the fix, and writes no stack', (_name, build, expected) => {
    const { error, written } = attempt(build);
    for (const pattern of expected) expect(error).toMatch(pattern);
    expect(written).toEqual([]);
  });

  test('accepts the same entries in two clusters of one stack (their primaries differ)', () => {
    const { error, written } = attempt((stack) => {
      for (const name of ['east', 'west']) {
        const dc = new ExistingDatacenter(stack, name, { name, address: `${name}.example:8500` });
        new ProxyDefaults(stack, `pd-${name}`, { datacenter: dc, meshGatewayMode: MeshGatewayMode.local() });
        new ServiceDefaults(stack, `api-${name}`, { datacenter: dc, service: 'api' });
      }
    });
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });

  test('a mistake in a later stack writes no stack at all, the valid first one included', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'consul-mesh-'));
    const app = new App({ outdir });
    const token = (stack: TerraformStack) => new TerraformVariable(stack, 'token', { type: 'string', sensitive: true }).stringValue;
    const first = new TerraformStack(app, 'first');
    new ProxyDefaults(first, 'pd', { datacenter: new ExistingDatacenter(first, 'east', { name: 'east', address: '127.0.0.1:8500', token: token(first) }) });
    const second = new TerraformStack(app, 'second');
    // Found only when the tree is complete: a validation, not a constructor check.
    new ConsulFederation(second, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], method: FederationMethod.meshGateways() });
    expect(() => app.synth()).toThrow(/in stack second: \[second\/fed\/dc1\] mesh-gateway federation needs a mesh gateway in every datacenter/);
    expect(fs.existsSync(path.join(outdir, 'stacks')) ? fs.readdirSync(path.join(outdir, 'stacks')) : []).toEqual([]);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('accepts an IPv6 address for a datacenter that already runs', () => {
    const { error, written } = attempt((stack) => {
      const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
      new ExistingDatacenter(stack, 'east', { name: 'east', address: '[::1]:8500', token: token.stringValue });
      new ExistingDatacenter(stack, 'west', { name: 'west', address: '[fd00:10::7]:8501', token: token.stringValue });
    });
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });

  test.each([['[::1]', 'no port'], ['[::1]:99999', 'port out of range'], ['::1:8500', 'IPv6 without brackets'], ['host:0', 'port 0']])(
    'rejects the address %s (%s), naming the form', (address) => {
      const { error } = attempt((stack) => {
        const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
        new ExistingDatacenter(stack, 'east', { name: 'east', address, token: token.stringValue });
      });
      expect(error).toMatch(/^bad\/east: address must be host:port of the HTTP API/);
      expect(error).toContain(`got: ${JSON.stringify(address)}`);
      expect(error).toMatch(/\[::1\]:8500/);
    });

  test('a good federation with a reference as secret writes its stack (the harness can see success)', () => {
    const { error, written } = attempt((stack) => {
      const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
      pair({ managementToken: token.stringValue })(stack);
    });
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });
});

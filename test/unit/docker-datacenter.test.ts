// Datacenters on Docker hosts of their own (hostAddress), with a supplied CA
// (tls), federated across stacks (federationMethod / join): what they render,
// and the one clear error each mistake gets before anything is written.
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { ClusterPeering, ConsulFederation, DatacenterTls, DockerDatacenter, DockerDatacenterProps, FederationJoin, FederationMethod } from '../../lib';
import { outputsBesidesServerCounts, resourceAt, resourcesOf, synthJson, uploadedConfig } from '../support/synth';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** The CA, its key a sensitive variable of the stack (one per stack). */
function tlsIn(stack: TerraformStack): DatacenterTls {
  const key = (stack.node.tryFindChild('ca_key') as TerraformVariable | undefined) ?? new TerraformVariable(stack, 'ca_key', { type: 'string', sensitive: true });
  return { caCertificate: CERT, caPrivateKey: key.stringValue };
}

function hostStack(app = Testing.app(), id = 'dc1'): TerraformStack {
  return new TerraformStack(app, id);
}

function datacenter(stack: TerraformStack, props: Partial<DockerDatacenterProps> & { name: string }): DockerDatacenter {
  return new DockerDatacenter(stack, props.name, { hostAddress: '192.0.2.1', tls: tlsIn(stack), ...props });
}

/** A primary in one stack and a secondary in another of the same app, federated by `method`. */
function splitFederation(method: FederationMethod) {
  const app = Testing.app();
  const primaryStack = hostStack(app, 'primary');
  // Each stack drives its own host's engine.
  const engine = (stack: TerraformStack, host: string) => new DockerProvider(stack, 'docker', { host });
  const dc1 = datacenter(primaryStack, { name: 'dc1', federationMethod: method, dockerProvider: engine(primaryStack, 'ssh://dc1-host') });
  const gateway = dc1.addMeshGateway('gateway', { startEnvoy: true });
  const secondaryStack = hostStack(app, 'secondary');
  const dc2 = datacenter(secondaryStack, { name: 'dc2', hostAddress: '192.0.2.2', join: dc1.federationJoin(), dockerProvider: engine(secondaryStack, 'ssh://dc2-host') });
  dc2.addMeshGateway('gateway', { startEnvoy: true });
  return { app, primaryStack, secondaryStack, dc1, dc2, gateway };
}

describe('a datacenter on a host address', () => {
  test('publishes WAN gossip (TCP and UDP), server RPC and the HTTPS API there, and advertises it', () => {
    const stack = hostStack();
    datacenter(stack, { name: 'dc1', servers: 3 });
    const json = synthJson(stack);
    const server = (i: number) => resourceAt(json, 'docker_container', `dc1/Server${i}/Container`);
    expect(server(0).ports).toEqual([
      { internal: 8501, external: 8500, ip: '127.0.0.1' },
      { internal: 8501, external: 8500, ip: '192.0.2.1' },
      { internal: 8300, external: 8300, ip: '192.0.2.1' },
      { internal: 8302, external: 8302, ip: '192.0.2.1' },
      { internal: 8302, external: 8302, ip: '192.0.2.1', protocol: 'udp' },
    ]);
    // Servers sharing the address take ports of their own, and listen on them.
    expect(server(2).ports).toEqual([
      { internal: 8320, external: 8320, ip: '192.0.2.1' },
      { internal: 8322, external: 8322, ip: '192.0.2.1' },
      { internal: 8322, external: 8322, ip: '192.0.2.1', protocol: 'udp' },
    ]);
    const config = uploadedConfig(server(2));
    expect(config.advertise_addr_wan).toBe('192.0.2.1');
    expect(config.ports).toMatchObject({ server: 8320, serf_wan: 8322, https: 8501 });
    // The provider reads back ports in random order: ignored, and a label replaces the container when they change.
    expect(server(2).lifecycle.ignore_changes).toEqual(['image', 'upload', 'ports']);
    // Its own label kept beside the owner labels every container gets (scripts/adopt.ts).
    expect(server(2).labels).toEqual([{ label: 'cdktf-consul-mesh.published-ports', value: '192.0.2.1:8320->8320/tcp,192.0.2.1:8322->8322/tcp,192.0.2.1:8322->8322/udp' },
      { label: 'cdktf-consul-mesh.stack', value: 'dc1' }, { label: 'cdktf-consul-mesh.address', value: expect.stringMatching(/^docker_container\.dc1_Server2_Container_[0-9A-F]{8}$/) }]);
    // No shared WAN network on a host address.
    expect(Object.values(resourcesOf(json, 'docker_network')).map((n) => n.name)).toEqual(['consul-dc1']);
  });

  test('its servers hold certificates of the supplied CA naming the host address; the CA key goes only to the signing container, which deletes it', () => {
    const stack = hostStack();
    datacenter(stack, { name: 'dc1' });
    const json = synthJson(stack);
    const issue = resourceAt(json, 'docker_container', 'dc1/Server0/IssueCertificate');
    expect(issue.upload).toEqual([{ file: '/upload/ca.pem', content: CERT }, { file: '/upload/ca-key.pem', content: '${var.ca_key}' }]);
    expect(issue.command[0]).toContain('-additional-ipaddress 192.0.2.1');
    expect(issue.command[0]).toMatch(/; status=\$\?; rm -f \/upload\/ca-key\.pem; exit \$status$/);
    const config = uploadedConfig(resourceAt(json, 'docker_container', 'dc1/Server0/Container'));
    expect(config.tls.internal_rpc).toEqual({ verify_incoming: true, verify_server_hostname: true });
    expect(json.provider.consul).toEqual([
      { alias: 'dc1', address: '192.0.2.1:8500', scheme: 'https', ca_pem: CERT, datacenter: 'dc1', token: '${var.dc1_management_token}' },
    ]);
  });

  test('its mesh gateway advertises and publishes its port on the host address (replica r: port + r)', () => {
    const stack = hostStack();
    const dc = datacenter(stack, { name: 'dc1' });
    dc.addMeshGateway('gateway', { replicas: 2, startEnvoy: true });
    const json = synthJson(stack);
    for (const r of [0, 1]) {
      expect(resourceAt(json, 'docker_container', `dc1/gateway/Replica${r}/Registration`).command[0]).toContain(`-wan-address 192.0.2.1:${8443 + r}`);
      const envoy = resourceAt(json, 'docker_container', `dc1/gateway/Replica${r}/Envoy`);
      expect(envoy.ports).toEqual([{ internal: 8443, external: 8443 + r, ip: '192.0.2.1' }]);
      expect(envoy.networks_advanced).toHaveLength(1);
    }
  });

  test.each([
    ['a name', 'dc1.example.com'],
    ['loopback', '127.0.0.1'],
    ['any address', '0.0.0.0'],
    ['an octet over 255', '192.0.2.256'],
  ])('refuses %s as hostAddress, naming the construct', (_what, address) => {
    expect(() => datacenter(hostStack(), { name: 'dc1', hostAddress: address }))
      .toThrow(new RegExp(`dc1/dc1.*hostAddress must be an IPv4 address.*${address.replace(/\./g, '\\.')}`, 's'));
  });

  test('refuses a host address without a CA (the traffic would leave the host in plaintext)', () => {
    const stack = hostStack();
    expect(() => new DockerDatacenter(stack, 'dc1', { name: 'dc1', hostAddress: '192.0.2.1', federationMethod: FederationMethod.wanGossip() }))
      .toThrow(/dc1\/dc1.*federationMethod federates datacenters on different hosts.*Set hostAddress.*and tls/s);
  });

  test('refuses a host address without a CA, alone or in a federation', () => {
    expect(() => new DockerDatacenter(hostStack(), 'dc1', { name: 'dc1', hostAddress: '192.0.2.1' }))
      .toThrow(/dc1\/dc1.*on a host address sends RPC, gossip and API traffic off its host.*Pass tls/s);
    expect(() => new ConsulFederation(hostStack(), 'fed', { primary: { name: 'dc1', hostAddress: '192.0.2.1' }, secondaries: [{ name: 'dc2' }] }))
      .toThrow(/fed\/dc1.*Pass tls .* to the ConsulFederation/s);
  });

  test('refuses a literal CA key and a CA certificate that is no PEM', () => {
    const stack = hostStack();
    expect(() => new DockerDatacenter(stack, 'a', { name: 'a', tls: { caCertificate: CERT, caPrivateKey: '-----BEGIN EC PRIVATE KEY-----' } }))
      .toThrow(/tls\.caPrivateKey is a literal.*<redacted literal>/s);
    expect(() => new DockerDatacenter(stack, 'b', { name: 'b', tls: { caCertificate: 'ca.pem', caPrivateKey: 'x' } }))
      .toThrow(/tls\.caCertificate is not a PEM certificate.*ca\.pem/s);
  });
});

describe('a federation split across stacks', () => {
  test('the secondary dials the primary servers\' published WAN port, replicates with the token from the primary\'s stack, and leaves on the way down', () => {
    const { app, secondaryStack } = splitFederation(FederationMethod.wanGossip());
    app.synth();
    const json = synthJson(secondaryStack);
    const server = resourceAt(json, 'docker_container', 'dc2/Server0/Container');
    const config = uploadedConfig(server);
    expect(config).toMatchObject({ primary_datacenter: 'dc1', retry_join_wan: ['192.0.2.1:8302'], leave_on_terminate: true });
    expect(config.performance.leave_drain_time).toBe('1s');
    expect(server.destroy_grace_seconds).toBe(20);
    expect(config.acl.tokens.replication).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-primary\.outputs\.[^}]+\}$/);
    // Its servers' tokens are written in the primary, through the primary's HTTPS API.
    expect(json.provider.consul[1]).toEqual({ alias: 'dc2-global', address: '192.0.2.1:8500', scheme: 'https', ca_pem: CERT, datacenter: 'dc1', token: '${var.dc2_management_token}' });
  });

  test('the token crosses as a sensitive output of the primary\'s stack', () => {
    const { app, primaryStack } = splitFederation(FederationMethod.wanGossip());
    app.synth();
    const outputs = Object.values<any>(outputsBesidesServerCounts(synthJson(primaryStack)));
    expect(outputs).toEqual([{ sensitive: true, value: expect.stringMatching(/^\$\{data\.consul_acl_token_secret_id\.dc1_ReplicationTokenSecret_\w+\.secret_id\}$/) }]);
  });

  test('through mesh gateways: the secondary dials the primary\'s gateways on their host address', () => {
    const { app, secondaryStack, primaryStack } = splitFederation(FederationMethod.meshGateways());
    app.synth();
    const config = uploadedConfig(resourceAt(synthJson(secondaryStack), 'docker_container', 'dc2/Server0/Container'));
    expect(config).toMatchObject({ primary_gateways: ['192.0.2.1:8443'], connect: { enabled: true, enable_mesh_gateway_wan_federation: true } });
    expect(config.retry_join_wan).toBeUndefined();
    const primary = uploadedConfig(resourceAt(synthJson(primaryStack), 'docker_container', 'dc1/Server0/Container'));
    expect(primary.connect.enable_mesh_gateway_wan_federation).toBe(true);
    expect(resourceAt(synthJson(primaryStack), 'docker_container', 'dc1/gateway/Replica0/Registration').command[0]).toContain('-expose-servers');
  });

  test('a mesh gateway added to the primary after federationJoin() is an error: secondaries would not dial it', () => {
    const app = Testing.app();
    const stack = hostStack(app, 'primary');
    const dc1 = datacenter(stack, { name: 'dc1', federationMethod: FederationMethod.meshGateways() });
    dc1.addMeshGateway('gateway');
    dc1.federationJoin();
    dc1.addMeshGateway('late', { port: 8444 });
    expect(() => app.synth()).toThrow(/primary\/dc1.*mesh gateways were added after federationJoin\(\).*192\.0\.2\.1:8444.*Call federationJoin\(\) after adding/s);
  });

  test('federationJoin() on a datacenter with no federationMethod says what to set', () => {
    const dc = datacenter(hostStack(), { name: 'dc1' });
    expect(() => dc.federationJoin()).toThrow(/dc1\/dc1.*federationJoin\(\) is for the primary.*Set federationMethod/s);
  });

  test('a join of another app is checked: method, addresses, a token that is a reference', () => {
    const stack = hostStack();
    const token = new TerraformVariable(stack, 'replication_token', { type: 'string', sensitive: true }).stringValue;
    const join: FederationJoin = {
      primaryDatacenter: 'dc1', method: FederationMethod.wanGossip(), serverWanAddresses: ['192.0.2.1:8302'], meshGatewayWanAddresses: [],
      primaryApiAddress: '192.0.2.1:8500', replicationToken: token,
    };
    expect(() => datacenter(stack, { name: 'a', join: { ...join, serverWanAddresses: [] } }))
      .toThrow(/join\.serverWanAddresses is empty.*List the primary servers/s);
    expect(() => datacenter(stack, { name: 'b', join: { ...join, serverWanAddresses: ['192.0.2.1'] } }))
      .toThrow(/join\.serverWanAddresses\[0\] must be host:port.*192\.0\.2\.1/s);
    expect(() => datacenter(stack, { name: 'c', join: { ...join, replicationToken: 'd9f1e2c4-0000-4000-8000-000000000000' } }))
      .toThrow(/join\.replicationToken is a literal/);
    expect(() => datacenter(stack, { name: 'd', join: { ...join, method: 'wan-gossip' as any } }))
      .toThrow(/join\.method must be a FederationMethod/);
    expect(() => datacenter(stack, { name: 'e', join, federationMethod: FederationMethod.wanGossip() }))
      .toThrow(/either a primary \(federationMethod\) or joins one \(join\), not both/);
    expect(() => datacenter(stack, { name: 'dc1', join })).toThrow(/cannot join a federation whose primary has its own name "dc1"/);
    expect(() => datacenter(stack, { name: 'f', join: { ...join, extra: 1 } as any })).toThrow(/join has an unknown key "extra"/);
    // The good one renders.
    datacenter(stack, { name: 'dc2', join });
    expect(uploadedConfig(resourceAt(synthJson(stack), 'docker_container', 'dc2/Server0/Container')).acl.tokens).toEqual({ replication: '${var.replication_token}' });
  });
});

describe('Docker engines', () => {
  test('datacenters of one stack on two engines each get that engine\'s provider', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const stack = new TerraformStack(app, 'two-engines');
    const a = new DockerProvider(stack, 'a', { alias: 'a', host: 'unix:///a.sock' });
    const b = new DockerProvider(stack, 'b', { alias: 'b', host: 'unix:///b.sock' });
    datacenter(stack, { name: 'east', dockerProvider: a });
    datacenter(stack, { name: 'west', dockerProvider: b, hostAddress: '192.0.2.2' });
    const json = synthJson(stack);
    expect(resourceAt(json, 'docker_container', 'east/Server0/Container').provider).toBe('docker.a');
    expect(resourceAt(json, 'docker_container', 'west/Server0/Container').provider).toBe('docker.b');
    // Same host port, different engines: no clash.
    expect(resourceAt(json, 'docker_container', 'west/Server0/Container').ports[0]).toEqual({ internal: 8501, external: 8500, ip: '127.0.0.1' });
  });

  test('a ConsulFederation with a CA: server RPC TLS and HTTPS in WAN gossip too', () => {
    const stack = hostStack();
    const key = new TerraformVariable(stack, 'ca_key', { type: 'string', sensitive: true });
    new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], tls: { caCertificate: CERT, caPrivateKey: key.stringValue } });
    const json = synthJson(stack);
    for (const dc of ['dc1', 'dc2']) {
      const config = uploadedConfig(resourceAt(json, 'docker_container', `fed/${dc}/Server0/Container`));
      expect(config.tls.internal_rpc).toEqual({ verify_incoming: true, verify_server_hostname: true });
      expect(config.ports.https).toBe(8501);
    }
    expect(json.provider.consul.map((p: any) => p.scheme)).toEqual(['https', 'https']);
    expect(Object.keys(resourcesOf(json, 'docker_container')).filter((p) => p.endsWith('IssueCertificate'))).toEqual(['fed/dc1/Server0/IssueCertificate', 'fed/dc2/Server0/IssueCertificate']);
  });
});

describe('one stack across hosts', () => {
  function acrossHosts(method = FederationMethod.wanGossip()) {
    const stack = hostStack();
    const key = new TerraformVariable(stack, 'ca_key', { type: 'string', sensitive: true });
    const fed = new ConsulFederation(stack, 'fed', {
      primary: { name: 'dc1', hostAddress: '192.0.2.1', dockerProvider: new DockerProvider(stack, 'a', { alias: 'a', host: 'unix:///a.sock' }) },
      secondaries: [{ name: 'dc2', hostAddress: '192.0.2.2', dockerProvider: new DockerProvider(stack, 'b', { alias: 'b', host: 'unix:///b.sock' }) }],
      method,
      tls: { caCertificate: CERT, caPrivateKey: key.stringValue },
    });
    for (const dc of fed.datacenters) dc.addMeshGateway('gateway', { peering: true });
    return { stack, fed };
  }

  test('a ConsulFederation whose datacenters name their hosts federates over the host addresses, each on its engine', () => {
    const { stack } = acrossHosts();
    const json = synthJson(stack);
    const dc2 = resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container');
    expect(dc2.provider).toBe('docker.b');
    expect(uploadedConfig(dc2)).toMatchObject({ retry_join_wan: ['192.0.2.1:8302'], advertise_addr_wan: '192.0.2.2' });
    // dc2's global state is written at the primary's host address, through the primary's provider.
    expect(json.provider.consul.map((p: any) => p.address)).toEqual(['192.0.2.1:8500', '192.0.2.2:8501']);
    expect(resourceAt(json, 'consul_acl_token', 'fed/dc2/Server0/AgentToken').provider).toBe('consul.dc1');
    expect(Object.values(resourcesOf(json, 'docker_network')).map((n) => n.name)).toEqual(['consul-dc1', 'consul-dc2']);
  });

  test('through mesh gateways, the secondary dials the primary\'s gateway on its host address', () => {
    const { stack } = acrossHosts(FederationMethod.meshGateways());
    const json = synthJson(stack);
    expect(uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container')).primary_gateways).toEqual(['192.0.2.1:8443']);
  });

  test('peering through mesh gateways across hosts: each gateway advertises its host address', () => {
    const stack = hostStack();
    const key = new TerraformVariable(stack, 'ca_key', { type: 'string', sensitive: true });
    const tls = { caCertificate: CERT, caPrivateKey: key.stringValue };
    const east = new DockerDatacenter(stack, 'east', { name: 'east', hostAddress: '192.0.2.1', tls, dockerProvider: new DockerProvider(stack, 'a', { alias: 'a', host: 'unix:///a.sock' }) });
    const west = new DockerDatacenter(stack, 'west', { name: 'west', hostAddress: '192.0.2.2', tls, dockerProvider: new DockerProvider(stack, 'b', { alias: 'b', host: 'unix:///b.sock' }) });
    for (const dc of [east, west]) dc.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west });
    const json = synthJson(stack);
    expect(resourceAt(json, 'docker_container', 'east/gateway/Replica0/Registration').command[0]).toContain('-wan-address 192.0.2.1:8443');
    expect(resourceAt(json, 'docker_container', 'west/gateway/Replica0/Registration').command[0]).toContain('-wan-address 192.0.2.2:8443');
  });
});

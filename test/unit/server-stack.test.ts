// `serverStack`: a datacenter's servers in a stack applied before its own,
// so nothing the servers' stack holds is read through Consul, and a plain
// apply can recreate a dead server before the Consul side is refreshed.
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { ClusterPeering, ConsulFederation, DockerDatacenter, FederationMethod, MeshGatewayMode, ProxyDefaults, ServiceDefaults } from '../../lib';
import { outputsBesidesServerCounts, uploadedConfig } from '../support/synth';

function written(app: App, stack: string): any {
  return JSON.parse(fs.readFileSync(path.join(app.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
}

const paths = (block: Record<string, any> | undefined) =>
  Object.values<any>(block ?? {}).map((r) => String(r['//'].metadata.path).split('/').slice(1).join('/')).sort();

function splitApp(): { app: App; servers: TerraformStack; site: TerraformStack; dc: DockerDatacenter } {
  const app = Testing.app();
  const servers = new TerraformStack(app, 'dc1-servers');
  const site = new TerraformStack(app, 'dc1');
  const dc = new DockerDatacenter(site, 'dc1', { name: 'dc1', serverStack: servers, servers: 3 });
  dc.addMeshGateway('gateway');
  new ProxyDefaults(site, 'proxy-defaults', { datacenter: dc, meshGatewayMode: MeshGatewayMode.local() });
  return { app, servers, site, dc };
}

test('the servers, their volumes, network and secrets go to the servers\' stack; every Consul object, the agent tokens and the gateways stay', () => {
  const { app } = splitApp();
  app.synth();
  const servers = written(app, 'dc1-servers');
  const site = written(app, 'dc1');
  // terraform_data: the plan-time refusal of a shrink that loses the quorum, which reads the servers' own state.
  expect(Object.keys(servers.resource).sort()).toEqual(['docker_container', 'docker_image', 'docker_network', 'docker_volume', 'terraform_data']);
  // The gossip key rotation goes with the servers, which hold the key.
  expect(paths(servers.resource.docker_container)).toEqual(['dc1/GossipKeyring', 'dc1/Server0/Container', 'dc1/Server0/Upgrade', 'dc1/Server1/Container', 'dc1/Server1/Upgrade', 'dc1/Server2/Container', 'dc1/Server2/Upgrade']);
  expect(servers.provider.consul).toBeUndefined();
  // The secrets keep the names they have without serverStack.
  expect(Object.keys(servers.variable).sort()).toEqual(['dc1_gossip_key', 'dc1_management_token']);
  expect(site.variable).toBeUndefined();

  // The agent tokens keep their paths under the datacenter, in its stack.
  expect(paths(site.resource.consul_acl_token)).toEqual(['dc1/Server0/AgentToken', 'dc1/Server1/AgentToken', 'dc1/Server2/AgentToken', 'dc1/gateway/Acl/Token']);
  expect(paths(site.resource.docker_container)).toEqual([
    'dc1/Server0/SetAgentToken', 'dc1/Server1/SetAgentToken', 'dc1/Server2/SetAgentToken', 'dc1/gateway/Replica0/Envoy', 'dc1/gateway/Replica0/Registration',
  ]);
  // The Consul side reads the management token from the servers' state, never as a literal; it crosses as a sensitive output.
  expect(Object.values<any>(outputsBesidesServerCounts(servers))).toEqual([{ sensitive: true, value: '${var.dc1_management_token}' }]);
  expect(site.provider.consul[0].token).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-dc1-servers\.outputs\./);
});

test('the Consul side names the servers\' Docker objects instead of referencing them, and waits for them by stack order', () => {
  const { app, servers, site } = splitApp();
  app.synth();
  expect(site.dependencies).toEqual([servers]);
  const json = written(app, 'dc1');
  const containers = Object.values<any>(json.resource.docker_container);
  for (const container of containers) {
    // On the datacenter's network, or in a server's network namespace, both by name.
    expect(container.network_mode === undefined ? container.networks_advanced.map((n: any) => n.name) : [container.network_mode])
      .toEqual(expect.arrayContaining([expect.stringMatching(/^(consul-dc1|container:consul-dc1-server-[0-2])$/)]));
    // A dependency on the servers' containers would cross stacks: the stack order stands in for it.
    expect(JSON.stringify(container.depends_on ?? [])).not.toMatch(/docker_container\.dc1_Server/);
  }
  for (const entry of Object.values<any>(json.resource.consul_config_entry)) expect(entry.depends_on ?? []).toEqual([]);
  // The only thing read from the servers' stack is the management token.
  const remote = JSON.stringify(json).match(/terraform_remote_state\.[^.]+\.outputs\.[A-Za-z0-9_-]+/g) ?? [];
  expect(new Set(remote).size).toBe(1);
});

test('the server configuration is rendered into the servers\' stack even when only it is synthesized', () => {
  const { servers } = splitApp();
  const json = JSON.parse(Testing.synth(servers));
  const server = Object.values<any>(json.resource.docker_container).find((c) => c.upload !== undefined);
  expect(uploadedConfig(server)).toMatchObject({ datacenter: 'dc1', bootstrap_expect: 3 });
});

test('serverStack is refused when it is the datacenter\'s own stack, another app\'s, or no stack', () => {
  const app = Testing.app();
  const site = new TerraformStack(app, 'dc1');
  expect(() => new DockerDatacenter(site, 'own', { name: 'dc1', serverStack: site }))
    .toThrow(/dc1\/own: serverStack is the stack it is declared in \(got: "dc1"\)\. Pass another stack of the same app/);
  const other = new TerraformStack(Testing.app(), 'elsewhere');
  expect(() => new DockerDatacenter(site, 'foreign', { name: 'dc2', serverStack: other }))
    .toThrow(/dc1\/foreign: serverStack belongs to another app \(got: "elsewhere"\)/);
  expect(() => new DockerDatacenter(site, 'plain', { name: 'dc3', serverStack: {} as TerraformStack }))
    .toThrow(/dc1\/plain: serverStack must be a TerraformStack/);
});

test('without serverStack the servers stay in the datacenter\'s stack, and the Consul side waits on their containers', () => {
  const app = Testing.app();
  const site = new TerraformStack(app, 'dc1');
  const dc = new DockerDatacenter(site, 'dc1', { name: 'dc1' });
  expect(dc.readiness).toHaveLength(1);
  const { dc: split } = splitApp();
  expect(split.readiness).toEqual([]);
});

test('a secret the servers start with, declared in the datacenter\'s own stack, is refused by name (it would make the stacks a cycle); from the servers\' stack it is taken', () => {
  const twoStacks = () => {
    const app = Testing.app();
    return { app, servers: new TerraformStack(app, 'dc1-servers'), site: new TerraformStack(app, 'dc1') };
  };
  const sensitive = (stack: TerraformStack, id: string) => new TerraformVariable(stack, id, { type: 'string', sensitive: true }).stringValue;
  const a = twoStacks();
  expect(() => new DockerDatacenter(a.site, 'a', { name: 'a', serverStack: a.servers, gossipKey: sensitive(a.site, 'key') }))
    .toThrow(/dc1\/a: gossipKey comes from its own stack "dc1", which is applied after serverStack "dc1-servers".*Declare it in "dc1-servers"/);
  const b = twoStacks();
  expect(() => new DockerDatacenter(b.site, 'b', { name: 'b', serverStack: b.servers, tls: { caCertificate: '-----BEGIN CERTIFICATE-----x', caPrivateKey: sensitive(b.site, 'ca_key') } }))
    .toThrow(/dc1\/b: tls\.caPrivateKey comes from its own stack/);

  const c = twoStacks();
  new DockerDatacenter(c.site, 'c', { name: 'c', serverStack: c.servers, gossipKey: sensitive(c.servers, 'key') });
  c.app.synth();
  const server = Object.values<any>(written(c.app, 'dc1-servers').resource.docker_container).find((r) => r.upload !== undefined);
  expect(uploadedConfig(server).encrypt).toBe('${var.key}');
});

describe('a ConsulFederation with serverStack', () => {
  function federationApp(method?: FederationMethod) {
    const app = Testing.app();
    const servers = new TerraformStack(app, 'pair-servers');
    const site = new TerraformStack(app, 'pair');
    const fed = new ConsulFederation(site, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], serverStack: servers, method });
    return { app, servers, site, fed };
  }

  test('puts every server in the servers\' stack under the federation\'s id, and starts the secondaries without the replication token', () => {
    const { app, fed } = federationApp();
    new ProxyDefaults(fed, 'proxy-defaults', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local() });
    app.synth();
    const servers = written(app, 'pair-servers');
    expect(paths(servers.resource.docker_container)).toEqual(['fed/dc1/GossipKeyring', 'fed/dc1/Server0/Container', 'fed/dc1/Server0/Upgrade', 'fed/dc2/Server0/Container', 'fed/dc2/Server0/Upgrade']);
    expect(Object.keys(servers.variable).sort()).toEqual(['fed_gossip_key', 'fed_management_token']);
    const serverContainers = Object.values<any>(servers.resource.docker_container).filter((c) => c.upload !== undefined);
    const configs = serverContainers.map((c) => uploadedConfig(c));
    expect(configs.map((c) => [c.datacenter, c.acl.tokens.replication])).toEqual([['dc1', undefined], ['dc2', undefined]]);
    // Up = a leader: without the token, replication cannot run yet.
    const upgradeSteps = Object.values<any>(servers.resource.docker_container).filter((c) => c.name.endsWith('-upgrade'));
    expect(upgradeSteps.map((c) => c.command[0].split('\n')[1].includes('/v1/acl/replication'))).toEqual([false, false]);

    const site = written(app, 'pair');
    // One one-shot per secondary server hands over both its tokens: the agent's, then the replication token.
    const handOvers = Object.entries<any>(site.resource.docker_container).filter(([, c]) => /-(tokens|set-agent-token|replication-token)$/.test(c.name));
    expect(handOvers.map(([, c]) => c.name)).toEqual(['consul-dc1-server-0-set-agent-token', 'consul-dc2-server-0-tokens']);
    const [handOverId, handOver] = handOvers[1];
    expect(handOver.env).toContain('REPLICATION_TOKEN=${data.consul_acl_token_secret_id.fed_ReplicationTokenSecret_705D493C.secret_id}');
    expect(handOver.env).toContainEqual(expect.stringMatching(/^AGENT_TOKEN=\$\{data\.consul_acl_token_secret_id\.fed_dc2_Server0_AgentTokenSecret_[0-9A-F]+\.secret_id\}$/));
    // Then a probe entry, written in dc1 until dc2 has it (config entry replication lists with the token), and deleted.
    const steps = handOver.command[0].split('; ');
    expect(steps[0]).toBe('set -e');
    expect(steps[1]).toBe('consul acl set-agent-token agent "$AGENT_TOKEN"');
    expect(steps[2]).toBe('consul acl set-agent-token replication "$REPLICATION_TOKEN"');
    expect(handOver.command[0]).toMatch(/until \{ i=\$\(\(i\+1\)\); printf '\{"Kind":"service-defaults","Name":"cmesh-replication-probe-dc2-server-0",.*consul config write -datacenter dc1 - .*consul config read -kind service-defaults -name cmesh-replication-probe-dc2-server-0 -stale/);
    expect(steps[steps.length - 1]).toBe('consul config delete -kind service-defaults -name cmesh-replication-probe-dc2-server-0 -datacenter dc1');
    // Entries written to the primary wait until dc2 replicates: entry replication that began without a token would not look again.
    expect(Object.values<any>(site.resource.consul_config_entry)[0].depends_on).toEqual([`docker_container.${handOverId}`]);
    // The replication token itself cannot wait on the primary's readiness any more (that is the handover): the stack order covers its servers.
    expect(site.resource.consul_acl_policy.fed_ReplicationPolicy_3FB04556.depends_on).toBeUndefined();
  });

  test('a secondary\'s gateway registration waits for its own hand-over, its policy and token for none; an entry written through any datacenter waits for every other secondary\'s; the old replication token for all', () => {
    const app = Testing.app();
    const servers = new TerraformStack(app, 'pair-servers');
    const site = new TerraformStack(app, 'pair');
    const fed = new ConsulFederation(site, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }, { name: 'dc3' }], serverStack: servers, replicationTokenGeneration: 2 });
    for (const dc of fed.datacenters) dc.addMeshGateway('gateway', { startEnvoy: false });
    new ProxyDefaults(fed, 'proxy-defaults', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local() });
    new ServiceDefaults(fed, 'api', { datacenter: fed.datacenter('dc2'), service: 'api' });
    app.synth();
    const json = written(app, 'pair');
    const containers = Object.entries<any>(json.resource.docker_container);
    const id = (prefix: string) => `docker_container.${containers.find(([k]) => k.startsWith(prefix))![0]}`;
    const [dc2, dc3] = [id('fed_dc2_Server0_Tokens'), id('fed_dc3_Server0_Tokens')];
    const byPrefix = (type: string, prefix: string) => Object.entries<any>(json.resource[type]).find(([k]) => k.startsWith(prefix))![1];
    // A gateway's policy and token are written in the primary. Its registration reads the policy in its own datacenter:
    // a secondary that does not replicate policies yet asks the primary, which leaves out a policy scoped to another
    // datacenter (found at 16 datacenters: registrations refused until the hand-over, which they kept from its slot).
    const waits = (dc: string) => byPrefix('docker_container', `fed_${dc}_gateway_Replica0_Registration`).depends_on.filter((d: string) => d.startsWith('docker_container.'));
    for (const dc of ['dc1', 'dc2', 'dc3']) {
      expect(byPrefix('consul_acl_policy', `fed_${dc}_gateway_Acl_Policy`).datacenters).toEqual([dc]);
      expect(byPrefix('consul_acl_policy', `fed_${dc}_gateway_Acl_Policy`).depends_on).toBeUndefined();
    }
    expect([waits('dc1'), waits('dc2'), waits('dc3')]).toEqual([[], [dc2], [dc3]]);
    // Entries are replicated to every secondary: through the primary they wait for both hand-overs, through dc2 for dc3's and its own.
    expect(json.resource.consul_config_entry['proxy-defaults_dc1_global'].depends_on).toEqual([dc2, dc3]);
    const api = json.resource.consul_config_entry['service-defaults_dc1_api'];
    expect(api.provider).toBe('consul.dc1');
    expect(api.depends_on).toEqual([dc2, dc3]);
    // The old replication token goes once every secondary holds the new one.
    expect(byPrefix('docker_container', 'fed_RetireTokens').depends_on).toEqual([dc2, dc3]);
  });

  test('a peering made through a secondary still waits for its hand-over: the primary signs its Connect CA only once it holds the token', () => {
    const { app, site, fed } = federationApp();
    const east = new DockerDatacenter(site, 'east', { name: 'east', httpPort: 8510, lanSubnet: '10.249.9.0/24' });
    new ClusterPeering(site, 'peering', { acceptor: fed.datacenter('dc2'), dialer: east, throughMeshGateways: false });
    app.synth();
    const json = written(app, 'pair');
    const handOver = Object.keys(json.resource.docker_container).find((id) => id.startsWith('fed_dc2_Server0_Tokens'));
    const [token] = Object.values<any>(json.resource.consul_peering_token);
    expect(token.depends_on).toEqual([`docker_container.${handOver}`]);
  });

  test('is refused in mesh-gateway federation, and with a secret from the federation\'s own stack', () => {
    expect(() => federationApp(FederationMethod.meshGateways()))
      .toThrow(/pair\/fed: serverStack works with WAN gossip federation only.*\(got: "mesh-gateways"\)\. Use FederationMethod\.wanGossip\(\), or remove serverStack\./);
    const app = Testing.app();
    const servers = new TerraformStack(app, 'pair-servers');
    const site = new TerraformStack(app, 'pair');
    const token = new TerraformVariable(site, 'token', { type: 'string', sensitive: true });
    expect(() => new ConsulFederation(site, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], serverStack: servers, managementToken: token.stringValue }))
      .toThrow(/pair\/fed: managementToken comes from its own stack "pair"/);
  });
});

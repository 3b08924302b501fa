import { Container } from '@cdktf/provider-docker/lib/container';
import { ConsulFederation, FederationMethod } from '../../lib';
import { addressOf, newStack, resourceAt, resourcesOf, synthJson, uploadedConfig } from '../support/synth';

function pair(method = FederationMethod.wanGossip()) {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], method });
  return { stack, fed };
}

describe('ConsulFederation over WAN gossip', () => {
  test('renders a primary and a secondary with one primary_datacenter, ACLs default-deny and token persistence', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    const dc1 = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container'));
    const dc2 = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container'));

    expect(dc1).toMatchObject({ datacenter: 'dc1', primary_datacenter: 'dc1', server: true, bootstrap_expect: 1 });
    expect(dc2).toMatchObject({ datacenter: 'dc2', primary_datacenter: 'dc1' });
    for (const config of [dc1, dc2]) {
      expect(config.acl).toMatchObject({ enabled: true, default_policy: 'deny', enable_token_persistence: true });
      expect(config.connect).toEqual({ enabled: true });
      expect(config.encrypt).toBe('${var.fed_gossip_key}');
    }
    expect(dc1.acl.tokens).toEqual({ initial_management: '${var.fed_management_token}' });
    expect(dc1.acl.enable_token_replication).toBeUndefined();
    expect(dc2.acl.enable_token_replication).toBe(true);
    expect(dc2.acl.tokens.replication).toMatch(/^\$\{data\.consul_acl_token_secret_id\.fed_ReplicationTokenSecret_\w+\.secret_id\}$/);
  });

  test('joins secondaries to the primary servers over the WAN network', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    const primary = resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container');
    const secondary = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container'));
    const primaryWan = primary.networks_advanced[1].ipv4_address;
    expect(uploadedConfig(primary).advertise_addr_wan).toBe(primaryWan);
    expect(secondary.retry_join_wan).toEqual([primaryWan]);
    expect(secondary.primary_gateways).toBeUndefined();
  });

  test('gives each datacenter its own network, subnet and published HTTP port on loopback', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    expect(resourceAt(json, 'docker_network', 'fed/dc1/Lan')).toMatchObject({ name: 'consul-dc1', ipam_config: [{ subnet: '10.249.1.0/24' }] });
    expect(resourceAt(json, 'docker_network', 'fed/dc2/Lan')).toMatchObject({ name: 'consul-dc2', ipam_config: [{ subnet: '10.249.2.0/24' }] });
    expect(resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container').ports).toEqual([{ internal: 8500, external: 8500, ip: '127.0.0.1' }]);
    expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container').ports).toEqual([{ internal: 8500, external: 8501, ip: '127.0.0.1' }]);
    expect(json.provider.consul).toEqual([
      { alias: 'dc1', address: '127.0.0.1:8500', scheme: 'http', datacenter: 'dc1', token: '${var.fed_management_token}' },
      { alias: 'dc2', address: '127.0.0.1:8501', scheme: 'http', datacenter: 'dc2', token: '${var.fed_management_token}' },
      // dc2's global state goes to the primary's own API, not forwarded over the WAN by dc2's server, through dc1's
      // provider, configured just as dc2's own global one would be: one provider process fewer in each OpenTofu command.
    ]);
  });

  test('waits for a leader (and ACL replication in secondaries) in each server\'s step, never sleeps, and runs no health check in the servers', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    const primary = resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container');
    const secondary = resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container');
    // A Docker health check would run a process in every server every few seconds for as long as it lives.
    for (const server of [primary, secondary]) {
      expect(server).not.toHaveProperty('healthcheck');
      expect(server).not.toHaveProperty('wait');
    }
    // What reads through a server waits on its step, which waits first of all until the server is up (a busybox wget every 0.1 s, up to 180 s).
    const up = (dc: string) => resourceAt(json, 'docker_container', `fed/${dc}/Server0/Upgrade`).command[0].split('\n')[1];
    expect(up('dc1')).toMatch(/^n=0; until \{ wget -qO- http:\/\/10\.249\.1\.10:8500\/v1\/status\/leader 2>\/dev\/null \| grep -q ':8300'; \}; do .* -ge 1800 \]; then echo "dc1-server-0 did not come up \(a leader known\) within 180 s" >&2; exit 1; fi; sleep 0\.1; done$/);
    expect(up('dc2')).toContain('10.249.2.10:8500/v1/acl/replication');
    // A secondary that starts before the primary answers joins a second after it does, not 30 s.
    expect(uploadedConfig(secondary)).toMatchObject({ retry_join_wan: ['10.249.0.128'], retry_interval_wan: '1s', retry_interval: '1s' });
    // Only the upgrade steps and the keyring rotation poll (every 0.5 s, for a condition); nothing sleeps for a fixed time.
    expect(JSON.stringify(json).replace(/until [^\n]*?; do n=\$\(\(n\+1\)\); .*?; sleep 0\.5; done/g, '')).not.toMatch(/sleep/);
  });

  test('creates the replication token in the primary with acl/operator write and service/intention read', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    const policy = resourceAt(json, 'consul_acl_policy', 'fed/ReplicationPolicy');
    expect(policy.provider).toBe('consul.dc1');
    expect(policy.rules).toBe('acl = "write"\noperator = "write"\nservice_prefix "" {\n  policy     = "read"\n  intentions = "read"\n}\n');
    expect(policy.depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc1/Server0/Upgrade')]);
  });

  test('hands every server a node-identity agent token once it runs', () => {
    const { stack } = pair();
    const json = synthJson(stack);
    expect(resourceAt(json, 'consul_acl_token', 'fed/dc2/Server0/AgentToken')).toMatchObject({
      provider: 'consul.dc1', node_identities: [{ node_name: 'dc2-server-0', datacenter: 'dc2' }],
    });
    const setter = resourceAt(json, 'docker_container', 'fed/dc2/Server0/SetAgentToken');
    expect(setter.command).toEqual(['consul acl set-agent-token agent "$AGENT_TOKEN"']);
    expect(setter.env).toContain('CONSUL_HTTP_ADDR=http://10.249.2.10:8500');
    expect(setter.attach).toBe(true);
  });

  test('runs three servers that retry-join each other, with one published port', () => {
    const stack = newStack();
    new ConsulFederation(stack, 'fed', { primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }] });
    const json = synthJson(stack);
    const servers = [0, 1, 2].map((i) => resourceAt(json, 'docker_container', `fed/dc1/Server${i}/Container`));
    expect(servers.map((s) => uploadedConfig(s).bootstrap_expect)).toEqual([3, 3, 3]);
    expect(uploadedConfig(servers[1]).retry_join).toEqual(['10.249.1.10', '10.249.1.12']);
    expect(servers.map((s) => (s.ports ?? []).length)).toEqual([1, 0, 0]);
    expect(Object.keys(resourcesOf(json, 'docker_volume')).filter((p) => /^fed\/dc1\/Server\d\/Data$/.test(p))).toHaveLength(3);
  });

  test('uses the stack-wide Docker provider and the chosen image', () => {
    const stack = newStack();
    new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], image: 'consul-local:1.19.2' });
    expect(Testing_synth(stack)).toHaveResourceWithProperties(Container, { name: 'consul-dc1-server-0', provider: 'docker.consul_mesh_docker' });
    const json = synthJson(stack);
    expect(Object.values(json.resource.docker_image)).toEqual([expect.objectContaining({ name: 'consul-local:1.19.2', keep_locally: true })]);
  });
});

describe('ConsulFederation through mesh gateways', () => {
  function meshPair() {
    const { stack, fed } = pair(FederationMethod.meshGateways());
    const gateways = fed.datacenters.map((dc) => dc.addMeshGateway('gateway'));
    return { stack, fed, gateways, json: synthJson(stack) };
  }

  test('enables mesh-gateway federation and points secondaries at the primary gateways instead of WAN gossip', () => {
    const { json, gateways } = meshPair();
    const dc1 = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container'));
    const dc2 = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container'));
    expect(dc1.connect).toEqual({ enabled: true, enable_mesh_gateway_wan_federation: true });
    expect(dc2.primary_gateways).toEqual(gateways[0].wanAddresses);
    expect(dc2.primary_gateways).toEqual(['10.249.0.10:8443']);
    expect(dc2.retry_join_wan).toBeUndefined();
    expect(dc1.advertise_addr_wan).toBeUndefined();
  });

  test('gives servers TLS from a CA created inside a Docker volume', () => {
    const { json } = meshPair();
    const config = uploadedConfig(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container'));
    expect(config.tls.internal_rpc).toEqual({ verify_incoming: true, verify_server_hostname: true });
    const issue = resourceAt(json, 'docker_container', 'fed/dc2/Server0/IssueCertificate');
    expect(issue.command[0]).toContain('consul tls cert create -server -dc dc2 -node dc2-server-0');
    expect(resourceAt(json, 'docker_container', 'fed/CreateCa').command[0]).toContain('consul tls ca create');
  });

  test('issues a certificate unless one exists (a first apply must not stop at the existence test)', () => {
    const { json } = meshPair();
    const command: string = resourceAt(json, 'docker_container', 'fed/dc1/Server0/IssueCertificate').command[0];
    expect(command).toMatch(/^test -f \/consul\/tls\/server\.pem \|\| \(t=\$\(mktemp -d\) && cd \$t && consul tls cert create .* && mv dc1-server-consul-0\.pem \/consul\/tls\/server\.pem && echo "\$\(sha256sum < \/ca\/consul-agent-ca\.pem \| cut -c1-16\) 1" > \/consul\/tls\/issued .* && cp \/ca\/consul-agent-ca\.pem \/consul\/tls\/ca\.pem\)$/);
  });

  test('fails the apply when a one-shot container exits non-zero (the provider only records exit_code)', () => {
    const { json } = meshPair();
    for (const path of ['fed/CreateCa', 'fed/dc1/Server0/IssueCertificate', 'fed/dc1/Server0/SetAgentToken', 'fed/dc2/gateway/Replica0/Registration']) {
      const container = resourceAt(json, 'docker_container', path);
      // Those that run in a server's network namespace ignore the mode Docker records (the server's ID).
      const joins = container.network_mode?.startsWith('container:');
      expect({ path, attach: container.attach, must_run: container.must_run, lifecycle: container.lifecycle }).toEqual({
        path, attach: true, must_run: false,
        lifecycle: {
          postcondition: [{ condition: '${self.exit_code == 0}', error_message: expect.stringContaining(`${container.name} exited non-zero`) }],
          ...(joins ? { ignore_changes: ['network_mode', 'networks_advanced'] } : {}),
        },
      });
    }
  });

  test('one-shots that run once their server is ready share its network namespace; steps that restart a server stay on its network', () => {
    const { json } = meshPair();
    const containers = resourcesOf(json, 'docker_container');
    const mode = (path: string) => ({ mode: containers[path].network_mode, networks: containers[path].networks_advanced?.map((n: any) => n.name) });
    // Docker sets up no endpoint or DNS resolver for these: most of a one-shot's start.
    for (const dc of ['dc1', 'dc2']) {
      expect(mode(`fed/${dc}/gateway/Replica0/Registration`)).toEqual({ mode: `container:consul-${dc}-server-0`, networks: undefined });
      // A server's upgrade step restarts it (consul leave), which would take a shared namespace's network away mid-run.
      expect(mode(`fed/${dc}/Server0/Upgrade`)).toEqual({ mode: undefined, networks: [`\${${addressOf(json, 'docker_network', `fed/${dc}/Lan`)}.name}`] });
    }
    expect(mode('fed/dc1/Server0/SetAgentToken')).toEqual({ mode: 'container:consul-dc1-server-0', networks: undefined });
    // The registration starts only once the servers' steps are done (in this one-stack layout, by dependency).
    expect(containers['fed/dc2/gateway/Replica0/Registration'].depends_on).toContain(addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade'));
  });

  test('a secondary is up only once policies and tokens have replicated', () => {
    const { json } = meshPair();
    expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Upgrade').command[0].split('\n')[1])
      .toContain(`/v1/acl/replication 2>/dev/null | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`);
  });

  test('orders secondary servers after the primary gateway registration, and gateways expose servers', () => {
    const { json } = meshPair();
    const registrations = resourcesOf(json, 'docker_container');
    expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Container').depends_on)
      .toContain(addressOf(json, 'docker_container', 'fed/dc1/gateway/Replica0/Registration'));
    expect(registrations['fed/dc1/gateway/Replica0/Registration'].command[0]).toContain('-expose-servers');
    expect(registrations['fed/dc2/gateway/Replica0/Registration'].command[0]).toContain('-expose-servers');
  });

  test('fails validation when a datacenter has no mesh gateway', () => {
    const { stack, fed } = pair(FederationMethod.meshGateways());
    fed.primary.addMeshGateway('gateway');
    expect(() => synthJson(stack)).toThrow(/mesh-gateway federation needs a mesh gateway in every datacenter \(got: none in "dc2"\)/);
  });
});

// toHaveResourceWithProperties takes the synthesized string.
function Testing_synth(stack: Parameters<typeof synthJson>[0]): string {
  return JSON.stringify(synthJson(stack));
}

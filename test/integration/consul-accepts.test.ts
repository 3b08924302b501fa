// The Consul resources of the main example, sent to two real Consul servers
// (dc1 primary, dc2 secondary): what Consul stores, and what it enforces for
// the mesh gateway's token. Terraform itself cannot run the consul provider
// here (see README, Limits), so consul-api-apply sends each resource through
// the endpoint the provider uses.
import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { FederationMethod } from '../../lib';
import { Applied, applyConsulResources } from '../support/consul-api-apply';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { runRegistration } from '../support/registration';
import { eventually } from '../support/eventually';
import { requireTool } from '../support/tools';

const consulBin = requireTool('consul');
let cluster: ConsulCluster;
let stack: any;
let applied: Applied;

const byPath = (type: string, suffix: string): [string, any] => {
  const found = Object.entries<any>(stack.resource?.[type] ?? stack.data?.[type] ?? {}).find(([id]) => id.replace(/_[0-9A-F]{8}$/, '') === suffix);
  if (!found) throw new Error(`no ${type} ${suffix}`);
  return found;
};
const secretOf = (gateway: string) => applied.state.get(`data.consul_acl_token_secret_id.${byPath('consul_acl_token_secret_id', `fed_${gateway}_gateway_Acl_Secret`)[0]}`)!.secret_id as string;

/** What the provider's diff sees: zero scalars decode to nothing in Go; indices, Kind, Name and Hash are dropped. */
function normalized(value: any): any {
  if (Array.isArray(value)) return value.map(normalized);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value)
      .filter(([k, v]) => !['CreateIndex', 'ModifyIndex', 'Kind', 'Name', 'Hash'].includes(k) || typeof v !== 'number' && typeof v !== 'string')
      .filter(([, v]) => v !== '' && v !== 0 && v !== false && v !== null)
      .map(([k, v]) => [k, normalized(v)]));
  }
  return value;
}

/** Runs a registration container's command against dc1 and requires it to succeed. */
function register(command: string, token: string): { bootstrap: any } {
  const run = runRegistration(consulBin, cluster.dc1, command, token);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return { bootstrap: run.bootstrap };
}

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin });
  await cluster.waitForLeaders();
  stack = JSON.parse(Testing.synth(new FederatedPair(Testing.app(), 'pair', { startEnvoy: false }), true));
  // The example publishes dc1 on 127.0.0.1:8500 and dc2 on :8501; the harness agents stand in for them.
  applied = await applyConsulResources(cluster, stack, cluster.managementToken,
    (address) => ({ '127.0.0.1:8500': 'dc1', '127.0.0.1:8501': 'dc2' } as Record<string, Datacenter>)[address]);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('config entries', () => {
  const entries = () => Object.values<any>(stack.resource.consul_config_entry);

  test('the example writes proxy-defaults (local) and service-defaults api (remote)', () => {
    expect(entries().map((e) => `${e.kind}/${e.name}`).sort()).toEqual(['proxy-defaults/global', 'service-defaults/api']);
  });

  test.each(['dc1', 'dc2'] as Datacenter[])('read back from %s exactly as sent, so a plan after apply has nothing to change', async (dc) => {
    for (const entry of entries()) {
      const sent = normalized(JSON.parse(entry.config_json));
      const stored = await eventually(`${entry.kind}/${entry.name} in ${dc}`,
        () => cluster.api(dc, 'GET', `/v1/config/${entry.kind}/${entry.name}`, undefined, cluster.managementToken),
        (r) => r.status === 200);
      expect({ entry: `${entry.kind}/${entry.name}`, body: normalized(stored.json) }).toEqual({ entry: `${entry.kind}/${entry.name}`, body: sent });
      expect(stored.json.MeshGateway.Mode).toBe(entry.kind === 'proxy-defaults' ? 'local' : 'remote');
    }
  });
});

describe('mesh gateway token', () => {
  test('exists in its datacenter with exactly the intended policy', async () => {
    const [, policy] = byPath('consul_acl_policy', 'fed_dc1_gateway_Acl_Policy');
    const token = await cluster.api('dc1', 'GET', '/v1/acl/token/self', undefined, secretOf('dc1'));
    expect(token.status).toBe(200);
    expect(token.json.Policies.map((p: any) => p.Name)).toEqual(['mesh-gateway-dc1']);
    const stored = await cluster.api('dc1', 'GET', `/v1/acl/policy/name/mesh-gateway-dc1`, undefined, cluster.managementToken);
    expect(stored.json).toMatchObject({ Rules: policy.rules, Datacenters: ['dc1'] });
  });

  test('registers the gateway with the exact command the library runs, and the bootstrap is written', async () => {
    const [, registration] = byPath('docker_container', 'fed_dc1_gateway_Replica0_Registration');
    const { bootstrap } = register(registration.command[0], secretOf('dc1'));
    expect(bootstrap.node).toMatchObject({ id: 'mesh-gateway-0', cluster: 'mesh-gateway' });
    expect(bootstrap.admin.address.socket_address).toMatchObject({ address: '127.0.0.1', port_value: 19000 });

    const catalog = await cluster.api('dc1', 'GET', '/v1/catalog/service/mesh-gateway', undefined, cluster.managementToken);
    expect(catalog.json).toHaveLength(1);
    expect(catalog.json[0]).toMatchObject({
      ServiceKind: 'mesh-gateway',
      ServiceID: 'mesh-gateway-0',
      ServiceAddress: '10.249.1.11',
      ServicePort: 8443,
      ServiceTaggedAddresses: { wan: { Address: '10.249.0.12', Port: 8443 }, lan: { Address: '10.249.1.11', Port: 8443 } },
    });
    const agent = await cluster.api('dc1', 'GET', '/v1/agent/service/mesh-gateway-0', undefined, cluster.managementToken);
    expect(agent.json.Proxy.Config).toEqual({
      envoy_gateway_bind_addresses: { default: { Address: '0.0.0.0', Port: 8443 } }, envoy_gateway_no_default_bind: true,
    });
  });

  test('is refused everything else: another service, KV, ACL reads', async () => {
    const secret = secretOf('dc1');
    const other = await cluster.api('dc1', 'PUT', '/v1/agent/service/register', { Name: 'not-the-gateway', Port: 80 }, secret);
    const kv = await cluster.api('dc1', 'PUT', '/v1/kv/gateway-was-here', 'x', secret);
    const acl = await cluster.api('dc1', 'GET', '/v1/acl/tokens', undefined, secret);
    const policyWrite = await cluster.api('dc1', 'PUT', '/v1/acl/policy', { Name: 'escalate', Rules: 'acl = "write"' }, secret);
    expect([other.status, kv.status, acl.status, policyWrite.status]).toEqual([403, 403, 403, 403]);
    // And it can do what a gateway needs: read the catalog.
    expect((await cluster.api('dc1', 'GET', '/v1/catalog/services', undefined, secret)).status).toBe(200);
  });

  test('dc2\'s gateway token is refused in dc1: its policy is scoped to dc2', async () => {
    const inDc1 = await cluster.api('dc1', 'PUT', '/v1/agent/service/register',
      { Name: 'mesh-gateway', Kind: 'mesh-gateway', Port: 8443 }, secretOf('dc2'));
    expect(inDc1.status).toBe(403);
  });
});

describe('mesh-gateway federation registration', () => {
  test('the primary gateway registers with consul-wan-federation meta (-expose-servers)', async () => {
    const mesh = JSON.parse(Testing.synth(new FederatedPair(Testing.app(), 'mesh', { method: FederationMethod.meshGateways(), startEnvoy: false }), true));
    const [, registration] = Object.entries<any>(mesh.resource.docker_container).find(([id]) => id.startsWith('fed_dc1_gateway_Replica0_Registration'))!;
    register(registration.command[0].replace(/-proxy-id mesh-gateway-0/, '-proxy-id mesh-gateway-fed-0'), secretOf('dc1'));
    const service = await cluster.api('dc1', 'GET', '/v1/agent/service/mesh-gateway-fed-0', undefined, cluster.managementToken);
    expect(service.json).toMatchObject({ Kind: 'mesh-gateway', Meta: { 'consul-wan-federation': '1' } });
  });
});

describe('destroy', () => {
  test('leaves no config entry, policy or token behind', async () => {
    const policies = () => cluster.api('dc1', 'GET', '/v1/acl/policies', undefined, cluster.managementToken);
    const before = (await policies()).json.length;
    await applied.destroy();
    for (const entry of Object.values<any>(stack.resource.consul_config_entry)) {
      expect((await cluster.api('dc1', 'GET', `/v1/config/${entry.kind}/${entry.name}`, undefined, cluster.managementToken)).status).toBe(404);
    }
    const names = (await policies()).json.map((p: any) => p.Name);
    expect(names).not.toEqual(expect.arrayContaining(['mesh-gateway-dc1']));
    expect(names.filter((n: string) => /mesh-gateway|replication/.test(n))).toEqual([]);
    expect(before - names.length).toBe(Object.keys(stack.resource.consul_acl_policy).length);
    const tokens = (await cluster.api('dc1', 'GET', '/v1/acl/tokens', undefined, cluster.managementToken)).json;
    expect(tokens.filter((t: any) => /gateway|replication|Agent token of/.test(t.Description))).toEqual([]);
  });
});

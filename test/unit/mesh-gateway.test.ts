import { TerraformVariable } from 'cdktf';
import { ConsulFederation, ExistingDatacenter, MeshGateway } from '../../lib';
import { addressOf, newStack, resourceAt, resourcesOf, synthJson } from '../support/synth';

const MESH_RULES = [
  'mesh = "write"',
  'service "mesh-gateway" {\n  policy = "write"\n}',
  'service_prefix "" {\n  policy = "read"\n}',
  'node_prefix "" {\n  policy = "read"\n}',
  'agent_prefix "" {\n  policy = "read"\n}',
].join('\n') + '\n';

function federated() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  return { stack, fed };
}

describe('MeshGateway', () => {
  test('gets a policy with exactly the documented rules, scoped to its datacenter', () => {
    const { stack, fed } = federated();
    const gw = fed.primary.addMeshGateway('gw');
    const json = synthJson(stack);
    expect(gw.rules).toBe(MESH_RULES);
    expect(resourceAt(json, 'consul_acl_policy', 'fed/dc1/gw/Acl/Policy')).toMatchObject({
      name: 'mesh-gateway-dc1', rules: MESH_RULES, datacenters: ['dc1'], provider: 'consul.dc1',
    });
  });

  test('adds peering read only when peering is on', () => {
    const { stack, fed } = federated();
    fed.primary.addMeshGateway('peered', { serviceName: 'peer-gw', peering: true });
    const json = synthJson(stack);
    const rules: string = resourceAt(json, 'consul_acl_policy', 'fed/dc1/peered/Acl/Policy').rules;
    expect(rules.split('\n').slice(0, 3)).toEqual(['mesh = "write"', 'peering = "read"', 'service "peer-gw" {']);
    expect(MESH_RULES).not.toContain('peering');
  });

  test('reads its secret through consul_acl_token_secret_id and hands it to registration by reference', () => {
    const { stack, fed } = federated();
    fed.primary.addMeshGateway('gw');
    const json = synthJson(stack);
    const secretAddress = addressOf(json, 'data.consul_acl_token_secret_id', 'fed/dc1/gw/Acl/Secret');
    expect(Object.keys(json.data.consul_acl_token_secret_id)).toContain(secretAddress.split('.')[2]);
    const registration = resourceAt(json, 'docker_container', 'fed/dc1/gw/Replica0/Registration');
    expect(registration.env).toContain(`CONSUL_HTTP_TOKEN=\${${secretAddress}.secret_id}`);
    expect(registration.depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc1/Server0/Upgrade'), secretAddress]);
  });

  test('registers each replica with its LAN and WAN address and writes the Envoy bootstrap', () => {
    const { stack, fed } = federated();
    fed.datacenter('dc2').addMeshGateway('gw', { replicas: 2 });
    const json = synthJson(stack);
    const commands = [0, 1].map((r) => resourceAt(json, 'docker_container', `fed/dc2/gw/Replica${r}/Registration`).command[0]);
    expect(commands[0]).toBe('n=0; until consul connect envoy -gateway=mesh -register -service mesh-gateway -proxy-id mesh-gateway-0'
      + ' -address 10.249.2.11:8443 -wan-address 10.249.0.10:8443 -bind-address default=0.0.0.0:8443 -admin-bind 127.0.0.1:19000 -bootstrap'
      + ' > /bootstrap/envoy.json.tmp; do n=$((n+1)); if [ $n -ge 120 ]; then echo "the gateway did not register within 60 s" >&2; exit 1; fi; sleep 0.5; done'
      + ' && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json');
    expect(commands[1]).toContain('-proxy-id mesh-gateway-1 -address 10.249.2.12:8443 -wan-address 10.249.0.11:8443');
    const envoy = resourceAt(json, 'docker_container', 'fed/dc2/gw/Replica1/Envoy');
    expect(envoy.command).toEqual(['envoy', '--config-path', '/bootstrap/envoy.json']);
    expect(envoy.networks_advanced.map((n: any) => n.ipv4_address)).toEqual(['10.249.2.12', '10.249.0.11']);
    expect(envoy.depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc2/gw/Replica1/Registration')]);
  });

  test('leaves Envoy out when startEnvoy is false, keeping registration', () => {
    const { stack, fed } = federated();
    fed.primary.addMeshGateway('gw', { startEnvoy: false });
    const paths = Object.keys(resourcesOf(synthJson(stack), 'docker_container'));
    expect(paths).toContain('fed/dc1/gw/Replica0/Registration');
    expect(paths.filter((p) => p.endsWith('Envoy'))).toEqual([]);
  });

  test('in a datacenter that already runs: policy and token only, the process is the operator\'s', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const dc = new ExistingDatacenter(stack, 'east', { name: 'east', address: 'consul.internal:8500', token: token.stringValue });
    const gw = new MeshGateway(stack, 'gw', { datacenter: dc });
    const json = synthJson(stack);
    expect(json.resource.docker_container).toBeUndefined();
    expect(resourceAt(json, 'consul_acl_policy', 'gw/Acl/Policy')).toMatchObject({ rules: MESH_RULES, provider: 'consul.east' });
    expect(resourceAt(json, 'consul_acl_policy', 'gw/Acl/Policy').depends_on).toBeUndefined();
    expect(json.provider.consul).toEqual([{ alias: 'east', address: 'consul.internal:8500', scheme: 'http', datacenter: 'east', token: '${var.token}' }]);
    expect(gw.registrations).toEqual([]);
  });
});

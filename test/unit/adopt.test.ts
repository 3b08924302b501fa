// The adoption step (scripts/adopt.ts) on a synthesized stack, with the engine
// and Consul answered by the test: what it imports, what it refuses, what it
// leaves alone. The e2e faults suite runs it against real OpenTofu, Docker
// and Consul after killed applies.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { adopt, AdoptionTools, IMPORTS_FILE } from '../../scripts/adopt';

const json = JSON.parse(Testing.synth(new FederatedPair(Testing.app(), 'pair', { separateServers: false, startEnvoy: false }), true));
const containers = Object.entries<any>(json.resource.docker_container);
const networks = Object.entries<any>(json.resource.docker_network);
const policies = Object.entries<any>(json.resource.consul_acl_policy);
const labelsOf = (type: string, id: string, stack = 'pair') => ({ 'cdktf-consul-mesh.stack': stack, 'cdktf-consul-mesh.address': `${type}.${id}` });

let dir: string;
beforeEach(() => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-')), 'pair');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(json));
});
afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

function tools(over: Partial<AdoptionTools> = {}): AdoptionTools {
  return { stateList: async () => [], inspect: async () => undefined, policy: async () => undefined, ...over };
}

const importsWritten = () => JSON.parse(fs.readFileSync(path.join(dir, IMPORTS_FILE), 'utf8')).import;

test('every container and network the library labels as the stack\'s and the state lacks is imported, and policies whose description is the stack\'s', async () => {
  const [serverId, server] = containers.find(([, c]) => c.name === 'consul-dc1-server-0')!;
  const [lanId, lan] = networks.find(([, n]) => n.name === 'consul-dc1')!;
  const [policyId, policy] = policies[0];
  const result = await adopt(dir, tools({
    // The server is in state already; the network and a one-shot are not.
    stateList: async () => [`docker_container.${serverId}`],
    inspect: async (kind, name) => kind === 'network' && name === lan.name ? { Id: 'net123456789abc', Labels: labelsOf('docker_network', lanId) }
      : kind === 'container' && name === server.name ? { Id: 'srv', Config: { Labels: labelsOf('docker_container', serverId) } } : undefined,
    policy: async (provider, name) => (name === policy.name && provider === policy.provider ? { ID: 'pol-1', Description: policy.description } : undefined),
  }));
  expect(importsWritten()).toEqual([
    { to: `docker_network.${lanId}`, id: 'net123456789abc' },
    { to: `consul_acl_policy.${policyId}`, id: 'pol-1' },
  ]);
  expect(result).toEqual({ stack: 'pair', adopted: [`docker_network.${lanId} <- net123456789`, `consul_acl_policy.${policyId} <- pol-1`] });
});

test('objects in the way that are not the stack\'s are refused together, by name, and nothing is written', async () => {
  const [, server] = containers.find(([, c]) => c.name === 'consul-dc1-server-0')!;
  const [lanId, lan] = networks.find(([, n]) => n.name === 'consul-dc1')!;
  const [, policy] = policies[0];
  const attempt = adopt(dir, tools({
    inspect: async (kind, name) => kind === 'container' && name === server.name ? { Id: 'x', Config: { Labels: {} } }
      : kind === 'network' && name === lan.name ? { Id: 'y', Labels: labelsOf('docker_network', lanId, 'other-stack') } : undefined,
    policy: async (_p, name) => (name === policy.name ? { ID: 'p', Description: 'made by hand' } : undefined),
  }));
  await expect(attempt).rejects.toThrow(new RegExp([
    'stack pair: objects in the way that are not its own, left alone:',
    ` {2}container "consul-dc1-server-0" \\(wanted by docker_container\\.\\S+\\) is not one this library created`,
    ` {2}network "consul-dc1" \\(wanted by docker_network\\.${lanId}\\) is stack other-stack's docker_network\\.${lanId}`,
    ` {2}ACL policy "${policy.name}" \\(wanted by consul_acl_policy\\.\\S+\\) has the description "made by hand", not this stack's`,
    'Remove or rename them',
  ].join('\\n')));
  expect(fs.existsSync(path.join(dir, IMPORTS_FILE))).toBe(false);
});

test('with nothing to adopt, an earlier import file goes', async () => {
  fs.writeFileSync(path.join(dir, IMPORTS_FILE), '{"import": []}');
  expect(await adopt(dir, tools())).toEqual({ stack: 'pair', adopted: [] });
  expect(fs.existsSync(path.join(dir, IMPORTS_FILE))).toBe(false);
});

test('every container and network of the stack carries its owner labels: the stack and its own address', () => {
  for (const [type, entries] of [['docker_container', containers], ['docker_network', networks]] as const) {
    for (const [id, body] of entries) {
      expect({ id, labels: body.labels }).toEqual({ id, labels: expect.arrayContaining([
        { label: 'cdktf-consul-mesh.stack', value: 'pair' }, { label: 'cdktf-consul-mesh.address', value: `${type}.${id}` },
      ]) });
    }
  }
});

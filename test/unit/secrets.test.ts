import { Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { TerraformVariable } from 'cdktf';
import { DockerDatacenter, FederationMethod } from '../../lib';
import { newStack, outputsBesidesServerCounts, resourcesOf, synthApp, synthJson } from '../support/synth';

// What secrets look like: ACL token secrets are UUIDs, gossip keys 32 bytes of base64.
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const GOSSIP_KEY = /[A-Za-z0-9+/]{43}=/;

/** Every stack of the example (WAN gossip: its servers' stack too), as one list of documents. */
function synthesized(method: FederationMethod): any {
  const app = Testing.app();
  new FederatedPair(app, 'pair', { method });
  return Object.values(synthApp(app));
}

/** Every string in the document with the path it sits at. */
function strings(value: unknown, at = ''): [string, string][] {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

describe.each([['WAN gossip', FederationMethod.wanGossip()], ['mesh gateways', FederationMethod.meshGateways()]])('secrets in the %s federated pair', (_name, method) => {
  const json = synthesized(method);

  test('no token- or key-shaped literal appears anywhere in cdk.tf.json', () => {
    const leaks = strings(json).filter(([, s]) => UUID.test(s) || GOSSIP_KEY.test(s));
    expect(leaks).toEqual([]);
  });

  test('the management token, gossip key and state passphrase are sensitive variables, and whatever crosses stacks is a sensitive output', () => {
    const variables = Object.assign({}, ...json.map((doc: any) => doc.variable ?? {}));
    expect(Object.keys(variables).sort()).toEqual(['fed_gossip_key', 'fed_management_token', 'state_passphrase']);
    expect(variables.state_passphrase).toMatchObject({ sensitive: true, type: 'string' });
    expect(variables.fed_management_token).toMatchObject({ sensitive: true, type: 'string' });
    expect(variables.fed_gossip_key).toMatchObject({ sensitive: true, type: 'string' });
    const outputs = json.flatMap((doc: any) => Object.values<any>(outputsBesidesServerCounts(doc)));
    for (const output of outputs) expect(output.sensitive).toBe(true);
  });

  test('every place a secret goes holds a variable or data-source reference', () => {
    const secretPlaces = strings(json).filter(([at, s]) => /token|encrypt|TOKEN/.test(at + s) && /initial_management|replication"|encrypt|CONSUL_HTTP_TOKEN|AGENT_TOKEN|REPLICATION_TOKEN|\.token$/.test(at + s));
    expect(secretPlaces.length).toBeGreaterThan(5);
    for (const [at, s] of secretPlaces) {
      const values = [...s.matchAll(/"(?:initial_management|replication|encrypt)": "([^"]*)"|(?:CONSUL_HTTP_TOKEN|AGENT_TOKEN|REPLICATION_TOKEN)=(.*)$/g)].map((m) => m[1] ?? m[2]);
      const direct = at.endsWith('.token') ? [s] : [];
      for (const value of [...values, ...direct]) {
        // A variable, a token's secret read by a data source, or (from another stack of the app) its sensitive output.
        expect({ at, value }).toEqual({ at, value: expect.stringMatching(
          /^\$\{(var\.[a-z_]+|data\.consul_acl_token_secret_id\.\w+\.secret_id|data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]+)\}$/) });
      }
    }
  });
});

describe('secrets passed in as references', () => {
  test('get plan-time format checks on the first server (their variables validate nothing of ours), and the library\'s own variables do not', () => {
    const stack = newStack();
    const token = new TerraformVariable(stack, 'my_token', { type: 'string', sensitive: true });
    const key = new TerraformVariable(stack, 'my_key', { type: 'string', sensitive: true });
    new DockerDatacenter(stack, 'mine', { name: 'mine', managementToken: token.stringValue, gossipKey: key.stringValue });
    new DockerDatacenter(stack, 'theirs', { name: 'theirs', httpPort: 8501 });
    const containers = resourcesOf(synthJson(stack), 'docker_container');
    expect(containers['mine/Server0/Container'].lifecycle.precondition).toEqual([
      { condition: '${can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.my_token))}',
        error_message: 'The management token of test/mine must be a UUID, e.g. the output of uuidgen.' },
      { condition: '${can(regex("^[A-Za-z0-9+/]{43}=$", var.my_key))}',
        error_message: 'The gossip key of test/mine must be 32 bytes in base64, e.g. the output of consul keygen.' },
    ]);
    expect(containers['theirs/Server0/Container'].lifecycle).toEqual({ ignore_changes: ['image', 'upload'] });
  });
});

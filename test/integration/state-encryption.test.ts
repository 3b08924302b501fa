// StateEncryption with real OpenTofu against a real Consul: a stack whose
// state holds ACL secrets (a gateway's token, read back through a data
// source; the management token as a variable) is applied, planned,
// re-applied and destroyed with its state encrypted; the secrets, read from
// Consul itself, appear in no state, backup or plan file; a wrong or missing
// passphrase fails, naming the cause, and leaves the state as it was. The
// state is first written with OpenTofu's own key derivation count (600,000),
// as by releases before the library set its own, and stays readable when
// the stack changes to the default.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulCluster } from '../support/consul-cluster';
import { synthJson } from '../support/synth';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';
import { ConsulVersion, ExistingDatacenter, StateEncryption } from '../../lib';

const consulBin = requireTool('consul');
const passphrase = crypto.randomBytes(24).toString('base64');
let cluster: ConsulCluster;
let workspace: TerraformWorkspace;
/** The stack, encrypted with `iterations` key derivation rounds (the library's default when undefined). */
let encrypted: (iterations?: number) => object;

/** The PBKDF2 parameters OpenTofu stored beside the state's encrypted data. */
const derivation = (file: string) => JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(file, 'utf8')).meta['key_provider.pbkdf2.state'], 'base64').toString());

/** Every file OpenTofu left in the working directory (state, backup, plan), with its text. */
function filesOf(dir: string): [string, string][] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile() && !f.includes(`${path.sep}.terraform${path.sep}`))
    .map((f) => [path.relative(dir, f), fs.readFileSync(f, 'latin1')]);
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, secondary: false });
  await cluster.waitForLeaders();
  encrypted = (iterations) => {
    const stack = new TerraformStack(Testing.app(), 'encrypted');
    const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
    const dc = new ExistingDatacenter(stack, 'dc1', {
      name: 'dc1', address: cluster.dc1.httpAddr, token: token.stringValue, consulVersion: ConsulVersion.of(toolVersion('consul')),
    });
    dc.addMeshGateway('gateway');
    new StateEncryption(stack, 'state', { keyDerivationIterations: iterations });
    return synthJson(stack);
  };
  workspace = new TerraformWorkspace(encrypted(600_000), { vars: { token: cluster.managementToken, state_passphrase: passphrase }, prefix: 'state-encryption-tf-' });
  await workspace.apply();
}, 180_000);

afterAll(async () => {
  await workspace?.destroy().catch(() => undefined);
  workspace?.remove();
  await cluster?.stop();
});

test('a state written with OpenTofu\'s own 600,000 key derivation rounds is read by the default stack, which writes it back with 210,000 (PBKDF2-HMAC-SHA512)', async () => {
  const state = path.join(workspace.dir, 'terraform.tfstate');
  expect(derivation(state)).toMatchObject({ iterations: 600_000, hash_function: 'sha512' });
  workspace.write(encrypted());
  await workspace.expectNoChanges();
  await workspace.must(['apply', '-auto-approve', '-input=false', '-no-color']);
  expect(derivation(state)).toMatchObject({ iterations: 210_000, hash_function: 'sha512', key_length: 32 });
});

test('no state, backup or plan file holds a secret Consul knows: the gateway token\'s SecretID, the management token', async () => {
  // A second apply writes a backup; a saved plan is a file of its own.
  await workspace.must(['apply', '-auto-approve', '-input=false', '-no-color']);
  await workspace.must(['plan', '-out=saved.tfplan', '-input=false', '-no-color']);
  const tokens = (await cluster.api('dc1', 'GET', '/v1/acl/tokens', undefined, cluster.managementToken)).json as { AccessorID: string; Description: string }[];
  const gateway = tokens.find((t) => t.Description.startsWith('Mesh gateway mesh-gateway in dc1'));
  expect(gateway).toBeDefined();
  const secret = ((await cluster.api('dc1', 'GET', `/v1/acl/token/${gateway!.AccessorID}`, undefined, cluster.managementToken)).json as { SecretID: string }).SecretID;
  expect(secret).toMatch(/^[0-9a-f-]{36}$/);

  const files = filesOf(workspace.dir);
  expect(files.map(([f]) => f)).toEqual(expect.arrayContaining(['terraform.tfstate', 'terraform.tfstate.backup', 'saved.tfplan']));
  for (const [file, text] of files.filter(([f]) => f !== 'cdk.tf.json')) {
    expect({ file, secret: text.includes(secret), management: text.includes(cluster.managementToken), passphrase: text.includes(passphrase) })
      .toEqual({ file, secret: false, management: false, passphrase: false });
  }
  // Decrypted by OpenTofu with the passphrase, the state does hold the secret: the check above can fail.
  expect((await workspace.must(['state', 'pull'])).stdout).toContain(secret);
  await workspace.expectNoChanges();
});

test.each([
  ['a wrong passphrase', 'not-the-passphrase-at-all', /decryption failed for all provided methods/],
  ['no passphrase', undefined, /depends on var\.state_passphrase which is\s+not available/],
])('%s fails plan and apply with the cause, and leaves the state untouched', async (_name, given, message) => {
  const state = path.join(workspace.dir, 'terraform.tfstate');
  const before = sha(state);
  const env = { TF_VAR_state_passphrase: given };
  for (const args of [['plan', '-input=false', '-no-color'], ['apply', '-auto-approve', '-input=false', '-no-color']]) {
    const r = await workspace.run(args, env);
    expect(r.code).toBe(1);
    expect((r.stdout + r.stderr).replace(/\s+/g, ' ')).toMatch(new RegExp(message.source.replace(/\\s\+/g, ' ')));
  }
  expect(sha(state)).toBe(before);
});

test('destroy works with the passphrase and leaves Consul without the gateway\'s token', async () => {
  await workspace.destroy();
  const tokens = (await cluster.api('dc1', 'GET', '/v1/acl/tokens', undefined, cluster.managementToken)).json as { Description: string }[];
  expect(tokens.filter((t) => t.Description.includes('mesh-gateway'))).toEqual([]);
});

// A shrink that loses the quorum (3 -> 1, 5 -> 1, 7 -> 3) is refused by real
// OpenTofu at plan, from the server count the stack's own state recorded
// (lib/docker/server-removal-guard.ts). What runs is exactly what the
// library synthesizes for the guard (the stack's backend and state
// encryption, the recorded output, the read-back of its own state and the
// precondition), cut out of a Docker datacenter's stack: no engine or Consul
// is needed to plan it, and the servers themselves are the day-2 e2e's.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalBackend, TerraformStack, Testing } from 'cdktf';
import { DockerDatacenter, StateEncryption } from '../../lib';
import { synthJson } from '../support/synth';
import { TerraformWorkspace } from '../support/terraform';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-server-removal-'));
const statePath = path.join(dir, 'servers.tfstate');
const passphrase = crypto.randomBytes(24).toString('base64');
let workspace: TerraformWorkspace | undefined;

/** The guard's part of a datacenter's stack of `servers` (encrypted state, local backend at `statePath`). */
function guardOf(servers: number, allowUnsafeServerRemoval?: boolean): object {
  const stack = new TerraformStack(Testing.app(), 'servers');
  new LocalBackend(stack, { path: statePath });
  new DockerDatacenter(stack, 'dc1', { name: 'dc1', servers, allowUnsafeServerRemoval });
  new StateEncryption(stack, 'state');
  const json = synthJson(stack) as any;
  const guards = Object.fromEntries(Object.entries(json.resource.terraform_data ?? {}).filter(([id]) => id.startsWith('dc1_ServerRemovalGuard')));
  const { backend, encryption } = json.terraform;
  const config: Record<string, unknown> = { terraform: { backend, encryption }, variable: { state_passphrase: json.variable.state_passphrase }, output: json.output };
  // A datacenter of 5 or 7 has no check (no larger count loses its quorum going there): only its output is written.
  if (json.locals) config.locals = json.locals;
  if (json.data?.terraform_remote_state) config.data = { terraform_remote_state: json.data.terraform_remote_state };
  if (Object.keys(guards).length > 0) config.resource = { terraform_data: guards };
  return config;
}

async function deploy(servers: number, allowUnsafeServerRemoval?: boolean) {
  const config = guardOf(servers, allowUnsafeServerRemoval);
  if (workspace) workspace.write(config);
  else workspace = new TerraformWorkspace(config, { vars: { state_passphrase: passphrase }, prefix: 'server-removal-tf-' });
  await workspace.init();
  const r = await workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  return { code: r.code, out: (r.stdout + r.stderr).replace(/\s+/g, ' ') };
}

afterAll(() => {
  workspace?.remove();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the first deploy has no state to read and records its count; a shrink the datacenter can take deploys; one it cannot is refused at plan, naming both counts and what to do instead', async () => {
  // First deploy, of a count that has the check: no state yet (the plan's lock creates the file, empty), so nothing is read.
  let r = await deploy(3);
  expect(r.out).toContain('Apply complete!');
  expect(r.code).toBe(0);
  // The state at rest is encrypted, and the guard reads it back all the same.
  expect(fs.readFileSync(statePath, 'utf8')).toContain('"encrypted_data"');
  r = await deploy(1);
  expect(r.code).toBe(1);
  expect(r.out).toContain('Resource precondition failed');
  expect(r.out).toContain('servers/dc1: servers 3 -> 1 removes 2 at once, more than the 1 a datacenter of 3 can lose: it would lose its quorum'
    + ' (got: {"servers":1,"deployed":3}). A datacenter goes below 3 servers only once the servers to remove have left the peer set:'
    + ' for each server but consul-dc1-server-0, one at a time,');

  // Growing is never refused; 5 -> 1 is, 5 -> 3 keeps a majority.
  expect((await deploy(5)).code).toBe(0);
  r = await deploy(1);
  expect(r.code).toBe(1);
  expect(r.out).toContain('servers 5 -> 1 removes 4 at once, more than the 2 a datacenter of 5 can lose');

  // From 7, going to 3 is refused, and the fix names the step between.
  expect((await deploy(7)).code).toBe(0);
  r = await deploy(3);
  expect(r.code).toBe(1);
  expect(r.out).toContain('servers 7 -> 3 removes 4 at once, more than the 3 a datacenter of 7 can lose: it would lose its quorum (got: {"servers":3,"deployed":7}). Deploy 5 servers first (7 -> 5 keeps a majority), then 3.');
  expect((await deploy(5)).code).toBe(0);
  expect((await deploy(3)).code).toBe(0);

  // Once the servers to remove have left, the operator says so and the shrink deploys; the next plan reads 1.
  r = await deploy(1, true);
  expect(r.code).toBe(0);
  r = await deploy(1);
  expect(r.code).toBe(0);
}, 240_000);

// Team use: the federated pair, unchanged, with its two stacks' state in a
// real PostgreSQL (cdktf's PgBackend; Debian's server, started here on a unix
// socket, stopped by pid), encrypted (the example's StateEncryption). The
// Consul side reads the servers' outputs through the pg remote state; two
// applies of one stack at once meet the backend's lock (without a lock
// timeout the second fails naming the lock; with one it waits), and neither
// loses or corrupts the state: a plan after both is empty.
import { PgBackend, TerraformStack, Testing } from 'cdktf';
import { FederatedPair } from '../../examples/federated-pair/main';
import { AppDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { eventually } from '../support/eventually';
import { pairVariables, PORT } from '../support/pair-deployment';
import { Postgres } from '../support/postgres';
import { RunResult } from '../support/terraform';
import { requireTool } from '../support/tools';

const consulBin = requireTool('consul');
const { token, vars } = pairVariables(consulBin);
const schemaOf = (stack: string) => `cmesh_${stack.replace(/-/g, '_')}`;

let pg: Postgres;
let engine: DockerEngine;
let deployment: AppDeployment;

beforeAll(async () => {
  pg = await Postgres.start();
  engine = await startDockerEngine({ name: 'e2e-pg-backend' });
  const image = await ensureConsulImage(engine, consulBin);
  const app = Testing.app();
  new FederatedPair(app, 'pair', { image, startEnvoy: false });
  // OpenTofu runs in the engine's network namespace: it reaches Postgres on the socket, not on loopback.
  deployment = new AppDeployment(engine, app, vars, {
    backend: (stack: TerraformStack) => new PgBackend(stack, { connStr: pg.socketConnStr, schemaName: schemaOf(stack.node.id) }),
  });
  await deployment.clearEngine();
  await deployment.init();
  await deployment.apply();
}, 15 * 60_000);

afterAll(async () => {
  try {
    if (deployment) await deployment.destroy().catch(() => deployment.clearEngine());
  } finally {
    deployment?.remove();
    await engine?.stop();
    await pg?.stop();
  }
}, 5 * 60_000);

test('both stacks keep their state in Postgres, encrypted, and the Consul side read the servers\' outputs through it', async () => {
  expect(deployment.stacks.map((s) => s.json.terraform.backend)).toEqual([
    { pg: { conn_str: pg.socketConnStr, schema_name: 'cmesh_pair_servers' } },
    { pg: { conn_str: pg.socketConnStr, schema_name: 'cmesh_pair' } },
  ]);
  const remote = Object.values<any>(deployment.stacks[1].json.data.terraform_remote_state);
  expect(remote.map((r) => [r.backend, r.config.schema_name])).toEqual([['pg', 'cmesh_pair_servers']]);
  for (const stack of ['pair-servers', 'pair']) {
    const rows = pg.psql('terraform', `SELECT name, data FROM ${schemaOf(stack)}.states`).stdout.trim().split('\n');
    expect(rows).toHaveLength(1);
    const [name, data] = [rows[0].slice(0, rows[0].indexOf('|')), rows[0].slice(rows[0].indexOf('|') + 1)];
    expect(name).toBe('default');
    expect(JSON.parse(data)).toEqual(expect.objectContaining({ encrypted_data: expect.any(String) }));
    for (const secret of [vars.fed_management_token, vars.fed_gossip_key]) expect(data.includes(secret)).toBe(false);
  }
  // The deployment works: dc2 replicates ACLs from dc1 (its servers were given the token the Consul side created).
  const dc2 = `http://127.0.0.1:${await engine.publish(PORT.dc2)}`;
  await eventually('dc2 replicating', async () => (await fetch(`${dc2}/v1/acl/replication`, { headers: { 'X-Consul-Token': token } })).json(),
    (r: any) => r.Running && r.ReplicatedTokenIndex > 0, 60_000, 500);
}, 5 * 60_000);

test('two applies at once: without a lock timeout the second fails on the lock, with one it waits; the state stays whole', async () => {
  const workspace = deployment.of('pair').workspace;
  const both = (extra: string[]) => Promise.all([0, 1].map(() => workspace.start(['apply', '-auto-approve', '-input=false', '-no-color', ...extra]).done));
  const text = (r: RunResult) => (r.stdout + r.stderr).replace(/\s+/g, ' ');

  const racing = await both(['-lock-timeout=0s']);
  expect(racing.map((r) => r.code).sort()).toEqual([0, 1]);
  const loser = racing.find((r) => r.code === 1)!;
  expect(text(loser)).toMatch(/Error acquiring the state lock/);
  expect(text(loser)).toMatch(/already locked|lock/i);

  const waiting = await both(['-lock-timeout=120s']);
  expect(waiting.map((r) => r.code)).toEqual([0, 0]);
  expect(waiting.map((r) => /Apply complete! Resources: 0 added, 0 changed, 0 destroyed/.test(r.stdout))).toEqual([true, true]);
  await deployment.expectNoChanges();
}, 10 * 60_000);

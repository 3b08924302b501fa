// Servers in stacks of their own (`serverStack`), for real: a dead server is
// healed by a plain apply. Two Docker engines of the suite's own, each in a
// network namespace, joined by a veth pair (test/support/wan-link.ts); four
// stacks applied in order by OpenTofu, each from its own host's namespace:
// dc1-servers, dc1 (ACLs, config entries, gateway, agent tokens), then
// dc2-servers (which reads the replication token from dc1's state) and dc2.
// Then, with `docker kill` of one server at a time: the same four applies,
// nothing else, bring it back with its data, and every plan is empty after;
// the secondary applied while the primary is down fails at dc2's refresh
// (its tokens live in the primary) and converges once the primary returns;
// objects deleted by hand come back; destroy, in the reverse order, leaves
// nothing on either engine.
import { spawnSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { DockerDatacenter, FederationJoin, FederationMethod, MeshGatewayMode, ProxyDefaults } from '../../lib';
import { leftoversOn } from '../support/docker-deployment';
import { DockerEngine } from '../support/docker-engine';
import { CertificateAuthorityFiles, createCa, engineApi, EngineApiRequest, EngineApiResponse } from '../support/engine-api';
import { eventually } from '../support/eventually';
import { TerraformWorkspace } from '../support/terraform';
import { outputsBesidesServerCounts } from '../support/synth';
import { requireTool } from '../support/tools';
import { startLinkedEngines, tearDownLinked } from '../support/wan-link';

const consulBin = requireTool('consul');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-server-stacks-'));
const token = randomUUID();
const gossipKey = spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim();

type Dc = 'dc1' | 'dc2';
/** In apply order. */
const STACKS = ['dc1-servers', 'dc1', 'dc2-servers', 'dc2'] as const;
type StackName = typeof STACKS[number];

let engines: Record<Dc, DockerEngine>;
let addresses: [string, string];
let ca: CertificateAuthorityFiles;
const ws: Partial<Record<StackName, TerraformWorkspace>> = {};
const json: Partial<Record<StackName, string>> = {};
const timings: string[] = [];

const dcOf = (stack: StackName): Dc => (stack.startsWith('dc1') ? 'dc1' : 'dc2');

function api(dc: Dc, urlPath: string, options: Partial<EngineApiRequest> = {}): EngineApiResponse {
  return engineApi(engines[dc], urlPath, { caFile: ca.caFile, token, ...options });
}

const getJson = (dc: Dc, urlPath: string) => {
  const r = api(dc, urlPath);
  if (r.status !== 200) throw new Error(`GET ${urlPath} in ${dc}: ${r.status} ${r.error ?? r.body}`);
  return JSON.parse(r.body);
};

/** One datacenter in two stacks: its servers (with the secrets they start with), then its Consul side. */
function datacenter(app: App, name: Dc, options: { federationMethod?: FederationMethod; join?: FederationJoin; image: string }): DockerDatacenter {
  const servers = new TerraformStack(app, `${name}-servers`);
  const site = new TerraformStack(app, name);
  new LocalBackend(servers, { path: path.join(work, `${name}-servers.tfstate`) });
  new LocalBackend(site, { path: path.join(work, `${name}.tfstate`) });
  const engine = engines[name];
  const caCertificate = new TerraformVariable(servers, 'ca_certificate', { type: 'string' });
  const caPrivateKey = new TerraformVariable(servers, 'ca_private_key', { type: 'string', sensitive: true });
  const dc = new DockerDatacenter(site, name, {
    name,
    image: options.image,
    serverStack: servers,
    dockerProvider: new DockerProvider(servers, 'docker', { host: engine.host }),
    hostAddress: addresses[name === 'dc1' ? 0 : 1],
    tls: { caCertificate: caCertificate.stringValue, caPrivateKey: caPrivateKey.stringValue },
    federationMethod: options.federationMethod,
    join: options.join,
  });
  dc.addMeshGateway('gateway', { startEnvoy: false });
  return dc;
}

const varsOf = (stack: StackName): Record<string, string> => (stack.endsWith('-servers')
  ? { [`${dcOf(stack)}_management_token`]: token, [`${dcOf(stack)}_gossip_key`]: gossipKey, ca_certificate: ca.cert, ca_private_key: ca.key }
  : {});

/** What `cdktf deploy` does with the app: every stack, in dependency order, a plain apply. */
async function applyAll(stacks: readonly StackName[] = STACKS): Promise<void> {
  for (const stack of stacks) await timed(`apply ${stack}`, () => ws[stack]!.apply());
}

async function expectNoChangesAnywhere(): Promise<void> {
  for (const stack of STACKS) await ws[stack]!.expectNoChanges();
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

async function kill(dc: Dc): Promise<string> {
  const id = await engines[dc].mustDocker(['inspect', '--format', '{{.Id}}', `consul-${dc}-server-0`]);
  await engines[dc].mustDocker(['kill', `consul-${dc}-server-0`]);
  return id;
}

const serverId = (dc: Dc) => engines[dc].mustDocker(['inspect', '--format', '{{.Id}}', `consul-${dc}-server-0`]);

/** Both servers alive in the WAN pool, seen from `dc`. */
const wanAlive = (dc: Dc) => eventually(`both servers alive in ${dc}'s WAN pool`,
  async () => getJson(dc, '/v1/agent/members?wan=1') as any[], (members) => members.filter((m) => m.Status === 1).length === 2, 60_000, 500);

beforeAll(async () => {
  let image: string;
  ({ engines, addresses, image } = await startLinkedEngines('e2e-server-stacks'));
  ca = createCa(path.join(work, 'ca'));

  const app = new App({ outdir: path.join(work, 'out') });
  const primary = datacenter(app, 'dc1', { federationMethod: FederationMethod.wanGossip(), image });
  new ProxyDefaults(primary, 'proxy-defaults', { datacenter: primary, meshGatewayMode: MeshGatewayMode.local() });
  datacenter(app, 'dc2', { join: primary.federationJoin(), image });
  app.synth();
  for (const stack of STACKS) {
    json[stack] = fs.readFileSync(path.join(work, 'out', 'stacks', stack, 'cdk.tf.json'), 'utf8');
    ws[stack] = new TerraformWorkspace(json[stack]!, { vars: varsOf(stack), wrap: engines[dcOf(stack)].inEngineNetwork, prefix: `cmesh-server-stacks-${stack}-` });
  }
}, 10 * 60_000);

afterAll(async () => {
  await tearDownLinked([...STACKS].reverse().map((stack) => ws[stack]), Object.values(engines ?? {}));
  fs.rmSync(work, { recursive: true, force: true });
  if (timings.length > 0) console.log(`server-stacks timings: ${timings.join(', ')}`);
}, 5 * 60_000);

test('the servers\' stacks hold the containers and secrets, the datacenters\' stacks every Consul object, and no secret is in any JSON', () => {
  const resources = (stack: StackName) => Object.keys(JSON.parse(json[stack]!).resource).sort();
  for (const dc of ['dc1', 'dc2'] as Dc[]) {
    // terraform_data: the plan-time refusal of a shrink that loses the quorum (lib/docker/server-removal-guard.ts).
    expect(resources(`${dc}-servers`)).toEqual(['docker_container', 'docker_image', 'docker_network', 'docker_volume', 'terraform_data']);
    // Nothing the servers' stack holds is read through Consul: a dead server cannot fail its refresh.
    expect(json[`${dc}-servers`]).not.toMatch(/"provider": "consul/);
    expect(resources(dc)).toEqual(expect.arrayContaining(['consul_acl_policy', 'consul_acl_token']));
    expect(Object.keys(JSON.parse(json[dc]!).variable ?? {})).toEqual([]);
  }
  for (const text of Object.values(json)) {
    expect(text).not.toContain(token);
    expect(text).not.toContain(gossipKey);
    expect(text).not.toContain('PRIVATE KEY');
    for (const output of Object.values<any>(outputsBesidesServerCounts(JSON.parse(text!)))) expect(output.sensitive).toBe(true);
  }
});

test('the four stacks apply in order, the secondary federates, and no plan has anything to change', async () => {
  await applyAll();
  await expectNoChangesAnywhere();
  await wanAlive('dc1');
  expect(getJson('dc2', '/v1/acl/replication')).toMatchObject({ Running: true, SourceDatacenter: 'dc1' });
  expect(getJson('dc2', '/v1/catalog/service/mesh-gateway').map((s: any) => s.ServiceKind)).toEqual(['mesh-gateway']);
}, 10 * 60_000);

describe.each(['dc1', 'dc2'] as Dc[])('a killed %s server', (dc) => {
  test('is recreated by a plain apply of every stack, with its data: same ACLs and entries, federated again, nothing left to plan', async () => {
    const tokensBefore = getJson('dc1', '/v1/acl/tokens').map((t: any) => t.AccessorID).sort();
    const killed = await kill(dc);
    // dc1's Consul side alone cannot even refresh through its dead server: the order is what heals.
    // (dc2's reads go to the primary, where its tokens live.)
    expect((await ws[dc]!.plan()).code).toBe(dc === 'dc1' ? 1 : 0);
    await applyAll();
    expect(await serverId(dc)).not.toBe(killed);
    await expectNoChangesAnywhere();
    // The data volume carried everything: no token was created again (the agent token too).
    expect(getJson('dc1', '/v1/acl/tokens').map((t: any) => t.AccessorID).sort()).toEqual(tokensBefore);
    expect(getJson(dc, '/v1/config/proxy-defaults/global')).toMatchObject({ MeshGateway: { Mode: 'local' } });
    await wanAlive(dc);
    // The new container's agent has its token back from the volume: it syncs its node, and nothing is blocked.
    const logs = await eventually(`${dc}'s new agent synced`, async () => { const r = await engines[dc].docker(['logs', `consul-${dc}-server-0`]); return r.stdout + r.stderr; },
      (text) => text.includes('Synced node info'), 30_000, 500);
    expect(logs).not.toMatch(/blocked by ACLs/);
  }, 10 * 60_000);
});

test('the secondary applied while the primary is down fails at its refresh, and converges once the primary is back', async () => {
  await kill('dc1');
  // The secondary's servers' stack reads nothing of the primary: it applies (and changes nothing).
  await applyAll(['dc2-servers']);
  // Its Consul side does: its agent tokens live in the primary.
  const down = await ws.dc2!.plan();
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/192\.0\.2\.1:8500/);
  await applyAll();
  await expectNoChangesAnywhere();
  await wanAlive('dc2');
}, 10 * 60_000);

test('a config entry, a policy and a token deleted by hand come back with a plain apply', async () => {
  const state = await ws.dc1!.state();
  const policy = [...state.entries()].find(([address]) => address.startsWith('consul_acl_policy.') && address.includes('gateway'))![1];
  const gatewayToken = [...state.entries()].find(([address]) => address.startsWith('consul_acl_token.') && address.includes('gateway'))![1];
  for (const urlPath of ['/v1/config/proxy-defaults/global', `/v1/acl/policy/${policy.id}`, `/v1/acl/token/${gatewayToken.id}`]) {
    expect(api('dc1', urlPath, { method: 'DELETE' }).status).toBe(200);
  }
  expect((await ws.dc1!.plan()).code).toBe(2);
  await applyAll();
  await expectNoChangesAnywhere();
  expect(api('dc1', '/v1/config/proxy-defaults/global').status).toBe(200);
}, 10 * 60_000);

test('destroy, the Consul sides first, leaves nothing on either engine', async () => {
  for (const stack of [...STACKS].reverse()) await timed(`destroy ${stack}`, () => ws[stack]!.destroy());
  for (const dc of ['dc1', 'dc2'] as Dc[]) expect(await leftoversOn(engines[dc])).toEqual([]);
}, 10 * 60_000);

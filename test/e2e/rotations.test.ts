// Rotations, for real: a WAN-federated pair on a Docker engine of the suite's
// own (three servers in dc1, one in dc2, RPC between servers over TLS from a
// CA the test supplies, everything in one stack, a mesh gateway in dc2 whose
// Envoy is not started: no Envoy runs here) is deployed, then changed by one
// prop and deployed again each time, while a probe inside the engine reads
// the leader and a KV key every 200 ms in each datacenter and writes a key a
// second: a new gossip key, the replication token's generation, the gateway
// token's generation, a new CA, the server certificates' generation. No
// server restarts for any of them, so even a single-server datacenter keeps
// its leader. The figures go to stderr (the README's Day 2 table).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulFederation, ConsulVersion, MeshGatewayMode, ProxyDefaults } from '../../lib';
import { ChangeRun, poolsOnlyOn, startedAt, tokenOf as tokenIn } from '../support/changes';
import { AppDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { CertificateAuthorityFiles, createCa, engineApi } from '../support/engine-api';
import { eventually } from '../support/eventually';
import { xdsAt } from '../support/mesh-fixtures';
import { pairVariables } from '../support/pair-deployment';
import { ProbeFigures, startProbe } from '../support/probe';
import { requireTool, toolVersion } from '../support/tools';

const consulBin = requireTool('consul');
const consulVersion = ConsulVersion.of(toolVersion('consul'));
const { token, vars } = pairVariables(consulBin);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-rotations-'));
type Dc = 'dc1' | 'dc2';
const SERVER: Record<Dc, string> = { dc1: '10.249.1.10', dc2: '10.249.2.10' };
/** Every server's LAN address. */
const SERVERS: Record<Dc, string[]> = { dc1: ['10.249.1.10', '10.249.1.11', '10.249.1.12'], dc2: ['10.249.2.10'] };
const REPLICATION = 'ACL replication for secondary datacenters';
const GATEWAY = 'Mesh gateway mesh-gateway in dc2';

let engine: DockerEngine;
let image = '';
/** What the deploy has now: the gossip key, the two tokens' generations, the CA (and the one it replaced) and the certificates' generation. */
const current: { gossipKey: string; replication: number; gateway: number; ca: CertificateAuthorityFiles; previousCa?: string; tls: number } = {
  gossipKey: vars.fed_gossip_key, replication: 1, gateway: 1, ca: createCa(path.join(work, 'ca-1'), consulBin), tls: 1,
};
const run = new ChangeRun(() => engine, work, 'rotation figures');

/** The pair as `current` says, its state where every other synth of it keeps it. */
function pair(tag: string): AppDeployment {
  const app = new App({ outdir: path.join(work, `out-${tag}`) });
  const stack = new TerraformStack(app, 'rotations');
  const caPrivateKey = new TerraformVariable(stack, 'ca_private_key', { type: 'string', sensitive: true });
  const fed = new ConsulFederation(stack, 'fed', {
    primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image, replicationTokenGeneration: current.replication,
    tls: { caCertificate: current.ca.cert, caPrivateKey: caPrivateKey.stringValue, previousCaCertificate: current.previousCa }, tlsGeneration: current.tls,
  });
  fed.secondaries[0].addMeshGateway('gateway', { startEnvoy: false, tokenGeneration: current.gateway });
  new ProxyDefaults(fed, 'proxy-defaults', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local() });
  return run.track(new AppDeployment(engine, app, { ...vars, fed_gossip_key: current.gossipKey, ca_private_key: current.ca.key },
    { backend: (s) => new LocalBackend(s, { path: path.join(work, `${s.node.id}.tfstate`) }) }));
}

function api(dc: Dc, urlPath: string, options: { method?: string; body?: string } = {}) {
  const r = engineApi(engine, urlPath, { scheme: 'http', host: SERVER[dc], caFile: '', token, ...options });
  if (r.status !== 200) throw new Error(`${options.method ?? 'GET'} ${urlPath} in ${dc}: ${r.status} ${r.error ?? r.body}`);
  return JSON.parse(r.body);
}

/** The status of reading token `accessor` in dc1: 200 while it exists, 403 ("ACL not found") once deleted. */
const tokenStatus = (accessor: string) => engineApi(engine, `/v1/acl/token/${accessor}`, { scheme: 'http', host: SERVER.dc1, caFile: '', token }).status;

/** The one token of `description`: its accessor and secret. */
const tokenOf = (description: string) => tokenIn((p) => api('dc1', p), description);

/** When each server container last started: a rotation restarts none. */
const serversStarted = () => startedAt(engine, (['dc1', 'dc2'] as Dc[]).flatMap((dc) => SERVERS[dc].map((_, i) => `consul-${dc}-server-${i}`)));

/** Deploys the pair as `current` now says under a probe; returns what the probe saw. */
const deployUnderProbe = (label: string) => run.deployUnderProbe(label,
  startProbe(engine, (['dc1', 'dc2'] as Dc[]).map((dc) => ({ name: dc, servers: SERVERS[dc].map((a) => `${a}:8500`) })), token, 'rotations'),
  () => pair(label.replace(/\W+/g, '-')));

/** No server restarted, so a client saw nothing: no failed read, no time without a leader, nothing lost. */
function expectUnnoticed(probed: ProbeFigures[]): void {
  for (const f of probed) {
    expect(f.acknowledgedWrites).toBeGreaterThan(5);
    expect(f).toMatchObject({ failedReads: 0, lostWrites: 0 });
    expect(f.longestLeaderlessMs).toBeLessThanOrEqual(400);
  }
}

/** Replication runs with whatever token dc2 holds now: a policy and a config entry written in dc1 after the change reach dc2. */
async function expectReplicating(tag: string): Promise<void> {
  api('dc1', '/v1/acl/policy', { method: 'PUT', body: JSON.stringify({ Name: `after-${tag}`, Rules: 'key_prefix "" { policy = "read" }' }) });
  api('dc1', '/v1/config', { method: 'PUT', body: JSON.stringify({ Kind: 'service-defaults', Name: `after-${tag}`, Protocol: 'http' }) });
  const reads = (p: string) => engineApi(engine, p, { scheme: 'http', host: SERVER.dc2, caFile: '', token }).status;
  await eventually(`policy after-${tag} replicated to dc2`, async () => reads(`/v1/acl/policy/name/after-${tag}?stale`), (s) => s === 200, 60_000, 500);
  await eventually(`entry after-${tag} replicated to dc2`, async () => reads(`/v1/config/service-defaults/after-${tag}?stale`), (s) => s === 200, 60_000, 500);
  expect(api('dc2', '/v1/acl/replication')).toMatchObject({ Enabled: true, Running: true });
}

/** Written before any change, read after each. */
function expectDataKept(): void {
  for (const dc of ['dc1', 'dc2'] as Dc[]) {
    expect(api(dc, '/v1/config/proxy-defaults/global').MeshGateway).toEqual({ Mode: 'local' });
    expect(Buffer.from(api(dc, '/v1/kv/rotations/seed')[0].Value, 'base64').toString()).toBe(`written before, in ${dc}`);
  }
}

/** What dc2's Consul serves the gateway's Envoy over xDS with `secret` (a served configuration, or the refusal). */
function xdsWith(secret: string): { served: boolean; error?: string } {
  try {
    xdsAt(`${SERVER.dc2}:8502`, secret, 'mesh-gateway-0', 'mesh-gateway', consulVersion, (argv) => engine.inEngineNetwork(argv));
    return { served: true };
  } catch (e) {
    return { served: false, error: String(e) };
  }
}

beforeAll(async () => {
  engine = await startDockerEngine({ name: 'e2e-rotations' });
  image = await ensureConsulImage(engine, consulBin);
  run.deployed = pair('first');
  await run.deployed.clearEngine();
  await run.deployed.init();
  await run.deployed.apply();
  for (const dc of ['dc1', 'dc2'] as Dc[]) api(dc, '/v1/kv/rotations/seed', { method: 'PUT', body: `written before, in ${dc}` });
}, 15 * 60_000);

afterAll(() => run.finish(), 5 * 60_000);

test('a new gossip key: installed, used and the old one removed on every agent of both datacenters (LAN and WAN), no server restarted', async () => {
  const before = await serversStarted();
  const old = current.gossipKey;
  current.gossipKey = spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim();
  const probed = await deployUnderProbe('gossip key');

  const pools = api('dc1', '/v1/operator/keyring') as any[];
  // Each datacenter's LAN, and the WAN pool every server of both is in: every member on the new key alone.
  expect(poolsOnlyOn(pools, current.gossipKey)).toEqual([['WAN', 4], ['dc1 LAN', 3], ['dc2 LAN', 1]]);
  expect(JSON.stringify(pools)).not.toContain(old);
  // Still one federation: every server alive in the WAN pool, on the new key alone.
  expect((api('dc1', '/v1/agent/members?wan=1') as any[]).map((m) => [m.Name, m.Status]).sort())
    .toEqual([['dc1-server-0.dc1', 1], ['dc1-server-1.dc1', 1], ['dc1-server-2.dc1', 1], ['dc2-server-0.dc2', 1]]);
  expect(await serversStarted()).toEqual(before);
  expectUnnoticed(probed);
  expectDataKept();
  await expectReplicating('gossip');
  await run.deployed!.expectNoChanges();
}, 15 * 60_000);

test('replicationTokenGeneration + 1: a new token handed to dc2\'s running server before the old one is deleted; replication goes on', async () => {
  const before = await serversStarted();
  const old = tokenOf(REPLICATION);
  current.replication = 2;
  const probed = await deployUnderProbe('replication token');

  const now = tokenOf(REPLICATION);
  expect(now.accessor).not.toBe(old.accessor);
  expect(tokenStatus(old.accessor)).toBe(403);
  expect(await engine.mustDocker(['logs', 'consul-dc1-replication-retire-tokens'])).toBe(`deleted token ${old.accessor}`);
  // dc2 holds the new token (the step's hand-over), and replicates with it: the old one no longer exists.
  expect(await engine.mustDocker(['logs', 'consul-dc2-server-0-upgrade'])).toContain('dc2-server-0 runs Consul');
  await expectReplicating('replication');
  expect(await serversStarted()).toEqual(before);
  expectUnnoticed(probed);
  expectDataKept();
  await run.deployed!.expectNoChanges();
}, 15 * 60_000);

test('tokenGeneration + 1 of dc2\'s mesh gateway: registered again with a new token, which xDS serves; the old one is deleted and refused', async () => {
  const old = tokenOf(GATEWAY);
  expect(xdsWith(old.secret)).toEqual({ served: true });
  current.gateway = 2;
  const probed = await deployUnderProbe('gateway token');

  const now = tokenOf(GATEWAY);
  expect(now.accessor).not.toBe(old.accessor);
  expect(tokenStatus(old.accessor)).toBe(403);
  expect(await engine.mustDocker(['logs', 'consul-dc2-mesh-gateway-retire-tokens'])).toBe(`deleted token ${old.accessor}`);
  // The bootstrap Envoy starts from carries the new token, not the old.
  const bootstrap = await engine.mustDocker(['run', '--rm', '--entrypoint', 'cat', '-v', 'consul-dc2-mesh-gateway-0-bootstrap:/b', image, '/b/envoy.json']);
  expect(bootstrap).toContain(now.secret);
  expect(bootstrap).not.toContain(old.secret);
  expect(xdsWith(now.secret)).toEqual({ served: true });
  // Consul refuses a token it does not know at the first request: "ACL not found", or the stream ended before the reader sees why.
  expect(xdsWith(old.secret)).toMatchObject({ served: false, error: expect.stringMatching(/Unauthenticated desc = unauthenticated: ACL not found|v3\.Cluster: EOF/) });
  expect((api('dc2', '/v1/catalog/service/mesh-gateway') as any[]).map((s) => s.ServiceID)).toEqual(['mesh-gateway-0']);
  expectUnnoticed(probed);
  await run.deployed!.expectNoChanges();
}, 15 * 60_000);

/** What every server presents on its HTTPS port, checked against `caFile` (as `server.<dc>.consul`): 200 when that CA verifies it, else the client's error. */
const verifiedBy = (caFile: string) => (['dc1', 'dc2'] as Dc[]).flatMap((dc) => SERVERS[dc].map((host) => {
  const r = engineApi(engine, '/v1/status/leader', { scheme: 'https', port: 8501, host, servername: `server.${dc}.consul`, caFile, token });
  return r.status === 200 ? 200 : r.error;
}));

/** A TLS file of every server (from its TLS volume). */
const tlsFiles = (file: string) => Promise.all((['dc1', 'dc2'] as Dc[]).flatMap((dc) => SERVERS[dc].map((_, i) =>
  engine.mustDocker(['run', '--rm', '--entrypoint', 'cat', '-v', `consul-${dc}-server-${i}-tls:/t`, image, `/t/${file}`]))));

test('a new CA: every server trusts both, then presents a certificate of the new one, then trusts it alone, both datacenters in step; no restart, nothing noticed', async () => {
  const before = await serversStarted();
  const old = current.ca;
  expect(verifiedBy(old.caFile)).toEqual([200, 200, 200, 200]);
  current.previousCa = old.cert;
  current.ca = createCa(path.join(work, 'ca-2'), consulBin);
  const probed = await deployUnderProbe('new CA');

  // Every server presents a certificate of the new CA, which the old one no longer verifies.
  expect(verifiedBy(current.ca.caFile)).toEqual([200, 200, 200, 200]);
  expect(verifiedBy(old.caFile)).toEqual(Array(4).fill(expect.stringMatching(/certificate/)));
  // And trusts the new CA alone.
  expect((await tlsFiles('ca.pem')).map((f) => f.trim())).toEqual(Array(4).fill(current.ca.cert.trim()));
  for (const dc of ['dc1', 'dc2']) expect(await engine.mustDocker(['logs', `consul-${dc}-tls-rotation`])).toBe(`TLS rotated in ${dc}: every server trusts only the configured CA and presents a certificate of it`);
  expect(await serversStarted()).toEqual(before);
  expectUnnoticed(probed);
  expectDataKept();
  // Consul keeps the connections it had: new ones, on the new certificates and CA alone, from a server of each
  // datacenter restarted (hostnames verified both ways, within dc1 and across the WAN); replication runs on them.
  await engine.mustDocker(['restart', 'consul-dc1-server-1', 'consul-dc2-server-0']);
  const voters = () => (api('dc1', '/v1/operator/autopilot/health').Servers as any[]).filter((s) => s.Healthy && s.Voter).map((s) => s.Name).sort();
  await eventually('dc1-server-1 a healthy voter again', async () => { try { return voters(); } catch { return []; } },
    (names) => names.length === 3, 120_000, 1000);
  await eventually('dc2 with a leader again', async () => { try { return api('dc2', '/v1/status/leader'); } catch { return ''; } }, (l) => l !== '', 120_000, 1000);
  await expectReplicating('ca');
  await run.deployed!.expectNoChanges();
}, 15 * 60_000);

test('tlsGeneration + 1: every server presents a new certificate of the same CA; the CA being replaced no longer given', async () => {
  const before = await serversStarted();
  const certificates = await tlsFiles('server.pem');
  current.tls = 2;
  current.previousCa = undefined;
  const probed = await deployUnderProbe('certificates');

  const now = await tlsFiles('server.pem');
  now.forEach((cert, i) => expect(cert).not.toBe(certificates[i]));
  expect((await tlsFiles('issued')).map((mark) => mark.trim().split(' ')[1])).toEqual(['2', '2', '2', '2']);
  expect(verifiedBy(current.ca.caFile)).toEqual([200, 200, 200, 200]);
  expect(await serversStarted()).toEqual(before);
  expectUnnoticed(probed);
  await expectReplicating('certificates');
  await run.deployed!.expectNoChanges();
}, 15 * 60_000);

// Day 2, for real: a WAN-federated pair on a Docker engine of the suite's
// own (dc1 with three servers, dc2 with one; the servers in a stack of
// their own, as the example deploys them) is deployed with Consul 1.14.8
// (tools/consul-previous), then its image changed to 1.14.11 and deployed
// again while a probe inside the engine reads the leader and a KV key every
// 200 ms in each datacenter and writes a key a second. The figures go to
// stderr (the README's Day 2 table). Then a downgrade, refused before any
// server is touched, and a plain deploy of the right image converges.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { ConsulFederation, MeshGatewayMode, ProxyDefaults } from '../../lib';
import { AppDeployment } from '../support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../support/docker-engine';
import { engineApi } from '../support/engine-api';
import { eventually } from '../support/eventually';
import { pairVariables } from '../support/pair-deployment';
import { ProbeFigures, startProbe } from '../support/probe';
import { requireTool, toolVersion } from '../support/tools';

const consulBin = requireTool('consul');
const previousBin = requireTool('consul-previous');
const from = toolVersion('consul-previous');
const to = toolVersion('consul');
const { token, vars } = pairVariables(consulBin);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-day2-'));
const SERVERS = { dc1: ['10.249.1.10', '10.249.1.11', '10.249.1.12'], dc2: ['10.249.2.10'] } as const;
type Dc = keyof typeof SERVERS;

let engine: DockerEngine;
const images: Record<'from' | 'to', string> = { from: '', to: '' };
let deployed: AppDeployment | undefined;
const figures: string[] = [];

/** The pair with `image`, its states where every other synth of it keeps them (one deployment, two images). */
function pair(image: string, tag: string): AppDeployment {
  const app = new App({ outdir: path.join(work, `out-${tag}`) });
  const servers = new TerraformStack(app, 'day2-servers');
  const site = new TerraformStack(app, 'day2');
  const fed = new ConsulFederation(site, 'fed', { primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image, serverStack: servers });
  new ProxyDefaults(fed, 'proxy-defaults', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local() });
  return new AppDeployment(engine, app, vars, { backend: (stack) => new LocalBackend(stack, { path: path.join(work, `${stack.node.id}.tfstate`) }) });
}

function api(dc: Dc, urlPath: string, options: { method?: string; body?: string } = {}) {
  const r = engineApi(engine, urlPath, { scheme: 'http', host: SERVERS[dc][0], caFile: '', token, ...options });
  if (r.status !== 200) throw new Error(`${options.method ?? 'GET'} ${urlPath} in ${dc}: ${r.status} ${r.error ?? r.body}`);
  return JSON.parse(r.body);
}

/** Each server's name and the Consul version autopilot sees it run, and whether it is a healthy voter. */
const servers = (dc: Dc) => (api(dc, '/v1/operator/autopilot/health').Servers as any[])
  .map((s) => [s.Name, s.Version, s.Healthy && s.Voter]).sort();

const containerIds = async () => Promise.all(Object.entries(SERVERS).flatMap(([dc, list]) =>
  list.map((_, i) => engine.mustDocker(['inspect', '--format', '{{.Id}}', `consul-${dc}-server-${i}`]))));

function report(change: string, seconds: number, probe: ProbeFigures[]): void {
  for (const f of probe) {
    figures.push(`${change} ${f.datacenter}: deploy ${seconds.toFixed(1)}s, reads ${f.reads} failed ${f.failedReads} (${f.failedReadsPercent}%), `
      + `longest without a leader ${(f.longestLeaderlessMs / 1000).toFixed(1)}s, writes ${f.writes} acknowledged ${f.acknowledgedWrites} lost ${f.lostWrites}`);
  }
}

beforeAll(async () => {
  engine = await startDockerEngine({ name: 'e2e-day2' });
  images.from = await ensureConsulImage(engine, previousBin);
  images.to = await ensureConsulImage(engine, consulBin);
  deployed = pair(images.from, 'from');
  await deployed.clearEngine();
  await deployed.init();
  await deployed.apply();
  for (const dc of ['dc1', 'dc2'] as Dc[]) api(dc, '/v1/kv/day2/seed', { method: 'PUT', body: `written before, in ${dc}` });
}, 15 * 60_000);

afterAll(async () => {
  try {
    if (deployed) await deployed.destroy().catch(() => deployed!.clearEngine());
  } finally {
    await engine?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    if (figures.length > 0) process.stderr.write(`day-2 figures:\n  ${figures.join('\n  ')}\n`);
  }
}, 5 * 60_000);

test(`changing the image from Consul ${from} to ${to} upgrades one server at a time, followers first, the primary first: no write lost, data and replication kept`, async () => {
  expect(servers('dc1').map(([, version]) => version)).toEqual([from, from, from]);
  const leaderBefore = api('dc1', '/v1/status/leader') as string;
  const idsBefore = await containerIds();
  const probe = startProbe(engine, (Object.keys(SERVERS) as Dc[]).map((dc) => ({ name: dc, servers: SERVERS[dc].map((a) => `${a}:8500`) })), token, 'day2');
  await new Promise((r) => setTimeout(r, 3000));

  const upgrade = pair(images.to, 'to');
  await upgrade.init();
  const started = Date.now();
  await upgrade.apply();
  const seconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 3000));
  const probed = await probe.stop();
  deployed = upgrade;
  report(`upgrade ${from} -> ${to}`, seconds, probed);

  // Every server runs the new version, a healthy voter; the same containers, so the same data.
  expect(servers('dc1')).toEqual([['dc1-server-0', to, true], ['dc1-server-1', to, true], ['dc1-server-2', to, true]]);
  expect(servers('dc2')).toEqual([['dc2-server-0', to, true]]);
  expect(await containerIds()).toEqual(idsBefore);
  // One at a time, followers first, the leader last, dc1 before dc2: when each step ended.
  const ended = async (name: string) => Date.parse(await engine.mustDocker(['inspect', '--format', '{{.State.FinishedAt}}', `${name}-upgrade`]));
  const leaderIndex = SERVERS.dc1.findIndex((a) => leaderBefore.startsWith(`${a}:`));
  const dc1Ends = await Promise.all(SERVERS.dc1.map((_, i) => ended(`consul-dc1-server-${i}`)));
  const followers = dc1Ends.filter((_, i) => i !== leaderIndex);
  expect(Math.max(...followers)).toBeLessThan(dc1Ends[leaderIndex]);
  expect(await ended('consul-dc2-server-0')).toBeGreaterThan(Math.max(...dc1Ends));
  for (let i = 0; i < 3; i++) {
    expect(await engine.mustDocker(['logs', `consul-dc1-server-${i}-upgrade`])).toContain(`dc1-server-${i}: Consul ${from} -> ${to}`);
  }

  // What a client saw: nothing acknowledged was lost anywhere; with three servers, reads kept working.
  const [dc1, dc2] = probed;
  expect(dc1.acknowledgedWrites).toBeGreaterThan(10);
  expect([dc1.lostWrites, dc2.lostWrites]).toEqual([0, 0]);
  expect(dc1.failedReadsPercent).toBeLessThan(1);
  // Leadership moves before the leader leaves (Consul's transfer on leave): at most one 200 ms probe round without it.
  expect(dc1.longestLeaderlessMs).toBeLessThanOrEqual(400);
  // One server: down while it restarts, which the README states; nothing acknowledged is lost.
  expect(dc2.longestLeaderlessMs).toBeLessThan(15_000);

  // Written before: still there, and still replicated; replication runs after.
  expect(api('dc1', '/v1/config/proxy-defaults/global').MeshGateway).toEqual({ Mode: 'local' });
  expect(api('dc2', '/v1/config/proxy-defaults/global').MeshGateway).toEqual({ Mode: 'local' });
  for (const dc of ['dc1', 'dc2'] as Dc[]) expect(Buffer.from(api(dc, '/v1/kv/day2/seed')[0].Value, 'base64').toString()).toBe(`written before, in ${dc}`);
  api('dc1', '/v1/config', { method: 'PUT', body: JSON.stringify({ Kind: 'service-defaults', Name: 'after-upgrade', Protocol: 'http' }) });
  await eventually('an entry written after the upgrade reaches dc2', async () => engineApi(engine, '/v1/config/service-defaults/after-upgrade',
    { scheme: 'http', host: SERVERS.dc2[0], caFile: '', token }).status, (s) => s === 200, 60_000, 500);
  expect(api('dc2', '/v1/acl/replication')).toMatchObject({ Enabled: true, Running: true });
  await upgrade.expectNoChanges();
}, 20 * 60_000);

test(`a downgrade to ${from} is refused before any server is touched, naming the server, both versions and the fix; the next deploy converges`, async () => {
  const idsBefore = await containerIds();
  const downgrade = pair(images.from, 'downgrade');
  await downgrade.init();
  const servers1 = downgrade.of('day2-servers').workspace;
  const r = await servers1.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  expect(r.code).not.toBe(0);
  const output = (r.stdout + r.stderr).replace(/\s+/g, ' ');
  expect(output).toContain(`day2-servers/fed/dc1/Server0: dc1-server-0 runs Consul ${to}, and the image is Consul ${from}: a downgrade, which Consul does not support. Nothing was changed. Use an image of Consul ${to} or newer.`);
  expect(servers('dc1')).toEqual([['dc1-server-0', to, true], ['dc1-server-1', to, true], ['dc1-server-2', to, true]]);
  expect(servers('dc2')).toEqual([['dc2-server-0', to, true]]);
  expect(await containerIds()).toEqual(idsBefore);

  // The image put back: one plain deploy, then nothing to change.
  const again = pair(images.to, 'again');
  await again.init();
  await again.apply();
  deployed = again;
  await again.expectNoChanges();
}, 15 * 60_000);

// The README's main job, run exactly as a user runs it: `npm run up` deploys
// examples/federated-pair's two stacks through `cdktf deploy` (OpenTofu
// underneath) and reports both datacenters; run again after a server was
// killed, it heals it; `npm run down` destroys it through `cdktf destroy`
// and leaves nothing, a server killed just before included. On these
// machines no Docker engine runs, so the scripts start the project's own.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { connectDockerEngine } from '../support/docker-engine';
import { cacheDir } from '../support/tools';

const repo = path.resolve(__dirname, '..', '..');

/** The user's environment as a fresh shell has it: no engine or variables of this test run's own. */
const userEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_') && !k.startsWith('TF_VAR_')));

function npmRun(script: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const env = userEnv();
    const child = spawn('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

let upRan = false;
afterAll(async () => {
  // A failed test must not leave the pair (and its dockerd) running.
  if (upRan) await npmRun('down');
}, 5 * 60_000);

/** A lock file an earlier up left, from before the providers were rebuilt: same versions, other checksums. */
function staleLockFile(stack: string): string {
  const dir = path.join(repo, 'cdktf.out', 'stacks', stack);
  fs.mkdirSync(dir, { recursive: true });
  const entry = (source: string, version: string) => `provider "${source}" {\n  version     = "${version}"\n  constraints = "${version}"\n  hashes = [\n    "h1:${Buffer.alloc(32, 7).toString('base64')}",\n  ]\n}\n`;
  fs.writeFileSync(path.join(dir, '.terraform.lock.hcl'), entry('registry.opentofu.org/kreuzwerker/docker', '3.6.2') + entry('registry.opentofu.org/hashicorp/consul', '2.22.1'));
  return path.join(dir, '.terraform.lock.hcl');
}

test('npm run up deploys the federated pair and says where each datacenter answers, and which gateway each upstream uses', async () => {
  upRan = true;
  const stale = staleLockFile('federated-pair-servers');
  const up = await npmRun('up');
  expect({ code: up.code, tail: up.out.slice(-3000) }).toEqual({ code: 0, tail: expect.stringContaining('federated pair up in') });
  // A lock file of earlier provider builds is replaced, and says so, rather than stopping init.
  expect(up.out).toContain('federated-pair-servers: the providers were rebuilt since the last run; their checksums replace those of its lock file');
  expect(fs.readFileSync(stale, 'utf8')).not.toContain(Buffer.alloc(32, 7).toString('base64'));
  expect(up.out).toMatch(/dc1: API http:\/\/127\.0\.0\.1:8500 {2}UI http:\/\/127\.0\.0\.1:8500\/ui {2}\(Consul 1\.14\.11, leader 10\.249\.1\.10:8300\)/);
  expect(up.out).toMatch(/dc2: API http:\/\/127\.0\.0\.1:8501 {2}UI http:\/\/127\.0\.0\.1:8501\/ui {2}\(Consul 1\.14\.11, leader 10\.249\.2\.10:8300\)/);
  expect(up.out).toMatch(/web +dc1 +api +dc2 +local +proxy-defaults MeshGateway/);
  expect(up.out).toContain('npm run down');
  // One line per choice of tools (scripts/toolchain.ts): no engine runs here, so Consul is built for the project's own.
  expect(up.out).toMatch(/^cli: OpenTofu /m);
  expect(up.out).toMatch(/^providers: hashicorp\/consul 2\.22\.1 and kreuzwerker\/docker 3\.6\.2 /m);
  expect(up.out).toMatch(/^consul: built from source, for the image of the project's own Docker engine \(no engine of yours answers\)$/m);
  // The secrets are never printed: neither the management token nor the gossip key.
  const vars = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'main-job', 'vars.json'), 'utf8'));
  expect(fs.statSync(path.join(cacheDir(), 'main-job', 'vars.json')).mode & 0o077).toBe(0);
  for (const secret of [vars.fed_management_token, vars.fed_gossip_key]) {
    expect(typeof secret === 'string' && secret.length > 0).toBe(true);
    expect(up.out.includes(secret)).toBe(false);
  }
  // Both UIs answer.
  for (const port of [8500, 8501]) expect((await fetch(`http://127.0.0.1:${port}/ui/`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
}, 15 * 60_000);

/** Every file under `dir` (not following links; `skip` says which subtrees to leave out), with its bytes as text. */
function filesUnder(dir: string, skip: (rel: string) => boolean = () => false): [string, string][] {
  if (!fs.existsSync(dir)) return [];
  const out: [string, string][] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (skip(child)) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push([child, fs.readFileSync(path.join(dir, child), 'latin1')]);
    }
  };
  walk('');
  return out;
}

test('npm run explain -- --live finds every upstream of the running pair as predicted', async () => {
  const live = await npmRun('explain', '--live');
  expect({ code: live.code, out: live.out }).toEqual({ code: 0, out: expect.stringContaining('2 match, 0 differ, 0 unchecked') });
  expect(live.out).toMatch(/web +dc1 +api +dc2 +local +local +dc1's, then dc2's +match/);
  expect(live.out).toMatch(/web +dc1 +billing +dc1 +local +local +- \(same datacenter\) +match/);
  const vars = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'main-job', 'vars.json'), 'utf8'));
  expect(live.out.includes(vars.fed_management_token)).toBe(false);
}, 5 * 60_000);

test('after docker kill of dc1\'s server, npm run up again recreates it with its data: the same tokens, and the Consul side changes nothing', async () => {
  const { host } = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'main-job', 'engine.json'), 'utf8'));
  const engine = connectDockerEngine(host);
  const { fed_management_token: token } = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'main-job', 'vars.json'), 'utf8'));
  const tokens = async () => ((await (await fetch('http://127.0.0.1:8500/v1/acl/tokens', { headers: { 'X-Consul-Token': token }, signal: AbortSignal.timeout(5_000) })).json()) as any[])
    .map((t: any) => t.AccessorID).sort();
  const before = await tokens();
  const killed = await engine.mustDocker(['inspect', '--format', '{{.Id}}', 'consul-dc1-server-0']);
  await engine.mustDocker(['kill', 'consul-dc1-server-0']);

  const again = await npmRun('up');
  expect({ code: again.code, tail: again.out.slice(-3000) }).toEqual({ code: 0, tail: expect.stringContaining('federated pair up in') });
  // The servers' stack recreates the one container, and its upgrade step again (replaced with it: it waits until the
  // server is up); the Consul side, refreshed through it afterwards, has nothing to do.
  const applied = [...again.out.matchAll(/Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed/g)].map((m) => m.slice(1).join('/'));
  expect(applied).toEqual(['2/0/1', '0/0/0']);
  expect(await engine.mustDocker(['inspect', '--format', '{{.Id}}', 'consul-dc1-server-0'])).not.toBe(killed);
  expect(await tokens()).toEqual(before);
}, 10 * 60_000);

test('after two ups (a backup of each state written), no state, backup, plan or log holds a secret: the management token, the gossip key, any ACL token\'s SecretID', async () => {
  const home = path.join(cacheDir(), 'main-job');
  const vars = JSON.parse(fs.readFileSync(path.join(home, 'vars.json'), 'utf8'));
  const headers = { 'X-Consul-Token': vars.fed_management_token };
  const list = await (await fetch('http://127.0.0.1:8500/v1/acl/tokens', { headers, signal: AbortSignal.timeout(5_000) })).json() as { AccessorID: string }[];
  const secretIds: string[] = [];
  for (const { AccessorID } of list) {
    const token = await (await fetch(`http://127.0.0.1:8500/v1/acl/token/${AccessorID}`, { headers, signal: AbortSignal.timeout(5_000) })).json() as { SecretID: string };
    secretIds.push(token.SecretID);
  }
  // Two agents', two gateways', the replication token, the management token and anonymous.
  expect(secretIds.length).toBeGreaterThanOrEqual(7);
  const secrets = [vars.fed_management_token, vars.fed_gossip_key, ...secretIds.filter((id) => id !== 'anonymous')];

  const state = filesUnder(path.join(home, 'state'));
  expect(state.map(([f]) => f).sort()).toEqual(['federated-pair-servers.tfstate', 'federated-pair-servers.tfstate.backup', 'federated-pair.tfstate', 'federated-pair.tfstate.backup']);
  // In the repo: no state at all, and nothing secret in what cdktf wrote (plans, its .terraform, outputs), provider binaries aside.
  expect(fs.readdirSync(repo).filter((f) => f.includes('.tfstate'))).toEqual([]);
  const written = filesUnder(path.join(repo, 'cdktf.out'), (rel) => rel.endsWith(path.join('.terraform', 'providers')));
  const logs = filesUnder(home, (rel) => ['dockerd', 'state', 'vars.json', 'engine.json'].includes(rel));
  expect(logs.map(([f]) => f)).toContain('dockerd.log');
  const leaks = [...state, ...written, ...logs].flatMap(([file, text]) => secrets.filter((x) => text.includes(x)).map(() => file));
  expect(leaks).toEqual([]);
  // The state is there and holds them, for whoever has the passphrase: the check above can fail.
  const servers = fs.readFileSync(path.join(home, 'state', 'federated-pair.tfstate'), 'utf8');
  expect(JSON.parse(servers).encrypted_data).toEqual(expect.any(String));
}, 5 * 60_000);

test('npm run down destroys it and leaves nothing, even with a server killed just before', async () => {
  const { host } = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'main-job', 'engine.json'), 'utf8'));
  // dc1's: every Consul object is deleted through it.
  await connectDockerEngine(host).mustDocker(['kill', 'consul-dc1-server-0']);
  const down = await npmRun('down');
  upRan = false;
  expect({ code: down.code, tail: down.out.slice(-2000) }).toEqual({ code: 0, tail: expect.stringContaining('federated pair destroyed: no container, volume or network left') });
  expect(down.out).toMatch(/Destroy complete! Resources: \d+ destroyed/);
  await expect(fetch('http://127.0.0.1:8500/v1/status/leader', { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
}, 5 * 60_000);

test('an npm run up killed (SIGKILL, the whole process group) mid-apply is followed by one that adopts what it left and converges', async () => {
  // The pair is down (above): the killed run starts from nothing, as a first deploy would.
  upRan = true;
  const env = userEnv();
  const child = spawn('npm', ['run', '--silent', 'up'], { cwd: repo, env, stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => child.once('close', resolve));
  const engineFile = path.join(cacheDir(), 'main-job', 'engine.json');
  const deadline = Date.now() + 5 * 60_000;
  // Killed once dc1's server container exists: networks and containers made, none of it in state yet (written every 20 s at most).
  for (;;) {
    if (Date.now() > deadline) throw new Error('the first up never created dc1\'s server');
    if (fs.existsSync(engineFile)) {
      const names = await connectDockerEngine(JSON.parse(fs.readFileSync(engineFile, 'utf8')).host).docker(['ps', '-a', '--format', '{{.Names}}']);
      if (names.stdout.split('\n').includes('consul-dc1-server-0')) break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  process.kill(-child.pid!, 'SIGKILL');
  await exited;

  const again = await npmRun('up');
  expect({ code: again.code, tail: again.out.slice(-3000) }).toEqual({ code: 0, tail: expect.stringContaining('federated pair up in') });
  expect(again.out).toMatch(/federated-pair-servers: adopting \d+ objects a killed apply left \(imported by this apply\)/);
  const down = await npmRun('down');
  upRan = false;
  expect({ code: down.code, tail: down.out.slice(-2000) }).toEqual({ code: 0, tail: expect.stringContaining('federated pair destroyed: no container, volume or network left') });
}, 15 * 60_000);

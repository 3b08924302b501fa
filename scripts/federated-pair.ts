// npm run up / npm run down: the main job for real. `up` builds what is
// missing (tools/build.sh), picks a Docker engine, deploys
// examples/federated-pair with `cdktf deploy` (driving the OpenTofu the
// tools script built): its servers' stack, then its Consul side. It waits
// until both datacenters are healthy and federated, and prints where each
// answers and which gateway each upstream uses. Run again, it converges (a
// dead server is recreated with its data). `down` brings the servers' stack
// up to date (a dead server comes back), destroys both stacks with `cdktf
// destroy`, and checks nothing is left.
//
// Engine: the one DOCKER_HOST names, or the local default socket when a
// daemon answers there; otherwise a dockerd of the project's own (installed
// from Debian's docker.io if missing), with the Consul image built locally
// from the tools' Consul (no registry needed) and Envoy off, since no Envoy
// image can be had without a registry.
import { spawn, spawnSync } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { aptInstall, connectDockerEngine, DockerEngine, ensureConsulImage, isAlive, onPath } from '../test/support/docker-engine';
import { cacheDir, statePassphrase } from '../test/support/tools';
import { chooseToolchain } from './toolchain';
import { adopt, forgetImports, localTools } from './adopt';

const repo = path.resolve(__dirname, '..');
const STACK = 'federated-pair';
/** Both stacks of the example; cdktf applies the servers' first and destroys it last. */
const STACKS = [`${STACK}-servers`, STACK];
const home = path.join(cacheDir(), 'main-job');
const ownEngine = {
  socket: path.join(home, 'docker.sock'),
  pidFile: path.join(home, 'dockerd.pid'),
  dataRoot: path.join(home, 'dockerd'),
  // containerd's socket paths live under the exec root: keep it short.
  execRoot: '/tmp/cmesh-main-job',
};
const varsFile = path.join(home, 'vars.json');
/** The stacks' state, encrypted (StateEncryption): outside the repo, beside the secrets. */
const stateDir = path.join(home, 'state');
const engineFile = path.join(home, 'engine.json');
const API = { dc1: 8500, dc2: 8501 } as const;

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The tools' environment: the user's OpenTofu and providers where they have
 * them (scripts/toolchain.ts), the rest built if missing (tools/build.sh).
 */
function toolsEnv(ownEngine: boolean): Record<string, string> {
  const choice = chooseToolchain({ env: process.env, cacheDir: cacheDir(), ownEngine });
  for (const line of choice.lines) say(line);
  const env: Record<string, string> = {};
  if (choice.build.length > 0) {
    const run = spawnSync('bash', [path.join(repo, 'tools', 'build.sh'), '--only', choice.build.join(','), '--print-env'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (run.status !== 0) throw new Error('tools/build.sh failed (see above)');
    for (const line of run.stdout.split('\n')) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]] = spawnSync('bash', ['-c', `printf %s ${m[2]}`], { encoding: 'utf8' }).stdout;
    }
  }
  if (choice.cli) env.TERRAFORM_BINARY_NAME = choice.cli;
  // Empty is unset to the CLI.
  if (choice.clearCliConfig) env.TF_CLI_CONFIG_FILE = '';
  return env;
}

const answers = (host: string) => spawnSync('docker', ['-H', host, 'version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 10_000 }).status === 0;

/** Starts the project's own dockerd in the background (it outlives this script; `down` stops it by pid). */
async function startOwnEngine(): Promise<string> {
  const host = `unix://${ownEngine.socket}`;
  const pid = Number(fs.existsSync(ownEngine.pidFile) ? fs.readFileSync(ownEngine.pidFile, 'utf8') : 0);
  if (pid > 0 && isAlive(pid) && answers(host)) return host;
  aptInstall('docker.io', () => onPath('dockerd'));
  fs.mkdirSync(ownEngine.dataRoot, { recursive: true });
  const log = fs.openSync(path.join(home, 'dockerd.log'), 'a');
  // In the host's network namespace, so published ports are simply there on
  // 127.0.0.1. No iptables rules: nothing here needs NAT, and another engine's rules stay as they are.
  const dockerd = spawn('setsid', ['dockerd', `--host=${host}`, `--data-root=${ownEngine.dataRoot}`, `--exec-root=${ownEngine.execRoot}`,
    `--pidfile=${ownEngine.pidFile}`, '--iptables=false', '--ip-masq=false'], { detached: true, stdio: ['ignore', log, log] });
  dockerd.unref();
  fs.closeSync(log);
  for (let i = 0; i < 120; i++) {
    if (answers(host)) return host;
    await sleep(500);
  }
  throw new Error(`the project's dockerd did not answer on ${host}: see ${path.join(home, 'dockerd.log')}`);
}

/** The management token and gossip key, kept (mode 0600) for `down`; never printed. */
function variables(): Record<string, string> {
  if (fs.existsSync(varsFile)) return JSON.parse(fs.readFileSync(varsFile, 'utf8'));
  const vars = {
    fed_management_token: process.env.TF_VAR_fed_management_token ?? randomUUID(),
    // What `consul keygen` prints: 32 random bytes, base64.
    fed_gossip_key: process.env.TF_VAR_fed_gossip_key ?? randomBytes(32).toString('base64'),
  };
  fs.writeFileSync(varsFile, JSON.stringify(vars), { mode: 0o600 });
  return vars;
}

let cliReady = false;
function cdktf(args: string[], env: NodeJS.ProcessEnv): void {
  // cdktf-cli's native module has no binary for Node 24: built once (tools/node-pty.sh), a no-op where it loads.
  if (!cliReady && spawnSync('bash', [path.join(repo, 'tools', 'node-pty.sh')], { stdio: 'inherit' }).status !== 0) throw new Error('tools/node-pty.sh failed (see above)');
  cliReady = true;
  const run = spawnSync(path.join(repo, 'node_modules', '.bin', 'cdktf'), args, { cwd: repo, env, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`cdktf ${args.join(' ')} exited ${run.status ?? run.signal}`);
}

async function api(dc: keyof typeof API, token: string, route: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${API[dc]}${route}`, { headers: { 'X-Consul-Token': token }, signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${dc} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Both leaders, both servers alive on the WAN, dc2 replicating ACLs: polled, not slept. */
async function waitFederated(token: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  for (;;) {
    try {
      const leaders = [await api('dc1', token, '/v1/status/leader'), await api('dc2', token, '/v1/status/leader')];
      const wan = (await api('dc1', token, '/v1/agent/members?wan=1')).filter((m: any) => m.Status === 1).map((m: any) => m.Name).sort();
      const replication = await api('dc2', token, '/v1/acl/replication');
      last = JSON.stringify({ leaders, wan, replication: replication.ReplicatedTokenIndex });
      if (leaders.every(Boolean) && wan.length === 2 && replication.Running && replication.ReplicatedTokenIndex > 0) return;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`the pair did not federate within 120 s: ${last}`);
    await sleep(500);
  }
}

/** What cdktf and OpenTofu run with: the tools, the engine, the secrets as variables, the state's place and passphrase. */
function deployEnv(tools: Record<string, string>, knobs: Record<string, string>, host: string, vars: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env, ...tools, ...knobs, DOCKER_HOST: host, CHECKPOINT_DISABLE: '1',
    CONSUL_MESH_STATE_DIR: stateDir,
    TF_VAR_state_passphrase: statePassphrase(),
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`TF_VAR_${k}`, v])),
  };
}

const stackDir = (stack: string) => path.join(repo, 'cdktf.out', 'stacks', stack);

/**
 * What an apply killed before it wrote its state left on the engine (and in
 * Consul) is adopted by import, not hand work (scripts/adopt.ts); objects
 * in the way that the stacks did not create stop the run, by name.
 */
async function adoptLeftovers(env: NodeJS.ProcessEnv): Promise<void> {
  for (const stack of STACKS) {
    const dir = stackDir(stack);
    initStack(dir, env);
    const { adopted } = await adopt(dir, localTools(dir, env));
    if (adopted.length > 0) say(`${stack}: adopting ${adopted.length} objects a killed apply left (imported by this apply): ${adopted.join(', ')}`);
  }
}

/**
 * `tofu init` of a stack's working directory. The providers are built on this
 * machine (npm run tools), so a rebuild (a newer Go) changes their checksums,
 * and the lock file an earlier run left in cdktf.out then stops init ("doesn't
 * match any of the checksums previously recorded"): it is replaced, once, by
 * the checksums of the providers there are now.
 */
function initStack(dir: string, env: NodeJS.ProcessEnv): void {
  const init = () => spawnSync(env.TERRAFORM_BINARY_NAME ?? 'tofu', ['init', '-input=false', '-no-color'], { cwd: dir, env, encoding: 'utf8' });
  let run = init();
  if (run.status !== 0 && /doesn't match any of the checksums previously recorded/.test(`${run.stdout}${run.stderr}`.replace(/\s+/g, ' '))) {
    say(`${path.basename(dir)}: the providers were rebuilt since the last run; their checksums replace those of its lock file`);
    fs.rmSync(path.join(dir, '.terraform.lock.hcl'));
    run = init();
  }
  if (run.status !== 0) throw new Error(`tofu init in ${dir} failed:\n${run.stdout}${run.stderr}`);
}

/** State an earlier version of this script left in the repo, in plaintext: its deployment is not this one's to adopt. */
function refuseStateInRepo(): void {
  const found = STACKS.map((s) => path.join(repo, `terraform.${s}.tfstate`)).filter((f) => fs.existsSync(f));
  const holds = (f: string) => { try { return (JSON.parse(fs.readFileSync(f, 'utf8')).resources ?? []).length > 0; } catch { return true; } };
  const old = found.filter(holds);
  // Empty ones (a deployment taken down) go: nothing is lost.
  for (const f of found.filter((x) => !holds(x))) for (const g of [f, `${f}.backup`]) fs.rmSync(g, { force: true });
  if (old.length > 0) {
    throw new Error(`found state of an earlier npm run up in the repo, in plaintext: ${old.map((f) => path.relative(repo, f)).join(', ')}. `
      + 'State now lives encrypted outside the repo. Take that deployment down first (npm run down of the version that made it), '
      + 'or, if nothing of it runs any more, delete those files and their .backup.');
  }
}

/**
 * The backend each stack's working directory (cdktf.out) was last
 * initialised with: one that pointed elsewhere (the repo root, before state
 * moved) makes `init` stop and ask to migrate. Nothing is left there to
 * migrate (refuseStateInRepo), so it is forgotten and `init` starts afresh.
 */
function forgetOtherBackends(): void {
  for (const stack of STACKS) {
    const file = path.join(repo, 'cdktf.out', 'stacks', stack, '.terraform', 'terraform.tfstate');
    if (!fs.existsSync(file)) continue;
    const backend = JSON.parse(fs.readFileSync(file, 'utf8')).backend;
    if (backend?.type !== 'local' || backend?.config?.path !== path.join(stateDir, `${stack}.tfstate`)) fs.rmSync(file);
  }
}

async function up(): Promise<void> {
  refuseStateInRepo();
  forgetOtherBackends();
  fs.mkdirSync(home, { recursive: true });
  let host = process.env.DOCKER_HOST ?? '';
  const yours = host !== '' || answers('unix:///var/run/docker.sock');
  const tools = toolsEnv(!yours);
  let engine: DockerEngine;
  const knobs: Record<string, string> = {};
  if (yours) {
    host ||= 'unix:///var/run/docker.sock';
    engine = connectDockerEngine(host);
    say(`engine: ${host} (yours); images from your registry, Envoy on`);
  } else {
    host = await startOwnEngine();
    engine = connectDockerEngine(host);
    knobs.CONSUL_MESH_IMAGE = await ensureConsulImage(engine, tools.CONSUL_BIN);
    knobs.CONSUL_MESH_START_ENVOY = 'false';
    say(`engine: the project's own dockerd at ${host}; image ${knobs.CONSUL_MESH_IMAGE} built locally; Envoy off (no Envoy image without a registry)`);
  }
  fs.writeFileSync(engineFile, JSON.stringify({ host, knobs }));
  const vars = variables();
  const env = deployEnv(tools, knobs, host, vars);
  say(`state: ${stateDir}, encrypted (passphrase: TF_VAR_state_passphrase, else ${path.join(cacheDir(), 'state-passphrase')}, mode 0600)`);

  const started = Date.now();
  cdktf(['synth'], env);
  await adoptLeftovers(env);
  // --skip-provider-lock: cdktf would otherwise run `providers lock`, which asks the registry for checksums.
  cdktf(['deploy', ...STACKS, '--auto-approve', '--skip-provider-lock', '--skip-synth'], env);
  for (const stack of STACKS) forgetImports(stackDir(stack));
  await waitFederated(vars.fed_management_token);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  await registerServices(vars.fed_management_token);

  say('');
  say(`federated pair up in ${seconds}s (synth + OpenTofu apply + federation check)`);
  for (const dc of ['dc1', 'dc2'] as const) {
    const self = await api(dc, vars.fed_management_token, '/v1/agent/self');
    say(`  ${dc}: API http://127.0.0.1:${API[dc]}  UI http://127.0.0.1:${API[dc]}/ui  (Consul ${self.Config.Version}, leader ${await api(dc, vars.fed_management_token, '/v1/status/leader')})`);
  }
  say(`  management token: in ${varsFile} (mode 0600), as TF_VAR_fed_management_token`);
  say('');
  const table = path.join(repo, 'cdktf.out', 'stacks', STACK, 'mesh-gateway-modes.txt');
  if (fs.existsSync(table)) say(fs.readFileSync(table, 'utf8'));
  say('Registered web (dc1) and api (dc2) with their agents, so what Consul serves can be compared: npm run explain -- --live');
  say('Take it down (destroys every container, network and volume): npm run down');
}

/**
 * Registers the example's services (the definitions its MeshGatewayModeReport
 * writes) with their datacenters' agents: no process runs behind them, but
 * their sidecars' upstreams are what `npm run explain -- --live` checks.
 */
async function registerServices(token: string): Promise<void> {
  const dir = path.join(repo, 'cdktf.out', 'stacks', STACK, 'services');
  for (const file of fs.readdirSync(dir).sort()) {
    const dc = file.split('-')[0] as keyof typeof API;
    // The agent's API takes the definition's snake_case keys, as `consul services register` sends them.
    const { service } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const res = await fetch(`http://127.0.0.1:${API[dc]}/v1/agent/service/register`, {
      method: 'PUT', headers: { 'X-Consul-Token': token }, body: JSON.stringify(service), signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`registering ${file} with ${dc} failed: ${res.status} ${await res.text()}`);
  }
}

async function down(): Promise<void> {
  if (!fs.existsSync(engineFile)) {
    say('nothing to take down (no npm run up recorded)');
    return;
  }
  // The image is there already: nothing needs Consul's binary.
  const tools = toolsEnv(false);
  const { host, knobs } = JSON.parse(fs.readFileSync(engineFile, 'utf8')) as { host: string; knobs: Record<string, string> };
  const vars = JSON.parse(fs.readFileSync(varsFile, 'utf8')) as Record<string, string>;
  const own = host === `unix://${ownEngine.socket}`;
  if (own) await startOwnEngine();
  const env = deployEnv(tools, knobs, host, vars);
  forgetOtherBackends();
  // What up synthesized: its lock files may predate a rebuild of the providers (cdktf's own init would stop there).
  for (const stack of STACKS) if (fs.existsSync(path.join(stackDir(stack), 'cdk.tf.json'))) initStack(stackDir(stack), env);
  // The Consul side is destroyed through the servers: a server that died since is recreated first (from its
  // volume; the servers' stack reads nothing through Consul), so a teardown never waits on a manual step.
  cdktf(['deploy', STACKS[0], '--auto-approve', '--skip-provider-lock'], env);
  cdktf(['destroy', ...STACKS, '--auto-approve', '--skip-provider-lock'], env);
  const engine = connectDockerEngine(host);
  const left = [
    await engine.mustDocker(['ps', '-aq', '--filter', 'name=^consul-']),
    await engine.mustDocker(['volume', 'ls', '-q', '--filter', 'name=^consul-']),
    await engine.mustDocker(['network', 'ls', '-q', '--filter', 'name=^consul-']),
  ].join('').trim();
  if (left) throw new Error(`destroy left Docker objects behind on ${host}:\n${left}`);
  if (own) {
    const pid = Number(fs.readFileSync(ownEngine.pidFile, 'utf8'));
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 120 && isAlive(pid); i++) await sleep(500);
    say(`stopped the project's dockerd (pid ${pid})`);
  }
  fs.rmSync(varsFile, { force: true });
  fs.rmSync(engineFile, { force: true });
  // Only empty (encrypted) states are left in it.
  fs.rmSync(stateDir, { recursive: true, force: true });
  say('federated pair destroyed: no container, volume or network left');
}

const command = process.argv[2];
(command === 'up' ? up() : command === 'down' ? down() : Promise.reject(new Error('usage: federated-pair.ts up|down'))).catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
  process.exitCode = 1;
});

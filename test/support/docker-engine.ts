// A Docker engine of the e2e suite's own, and the Consul image it deploys.
//
// dockerd runs in a fresh network namespace (`unshare --net`): its bridges,
// iptables rules and published ports never meet the host's or another
// dockerd's (a second dockerd in the host namespace would flush the first
// one's iptables chains), and nothing a container sends can leave the
// machine, as that namespace has no route out. Ports the engine publishes on
// its 127.0.0.1 are relayed to a free port of the host's 127.0.0.1 through
// unix sockets, which cross network namespaces: suites on engines of their own
// never compete for a host port, and run side by side. OpenTofu runs inside
// the namespace (inEngineNetwork), where the stacks' providers find the ports
// they name. Images persist in a data root under the tools cache; everything
// else lives in a temp dir removed by stop().
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheDir, requireTool } from './tools';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DockerEngine {
  /** DOCKER_HOST of the engine. */
  readonly host: string;
  /** Runs the docker CLI against this engine (never an ambient DOCKER_HOST or context). */
  docker(args: string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<CliResult>;
  /** As docker(), but throws unless it exits 0; returns trimmed stdout. */
  mustDocker(args: string[], options?: { input?: string | Buffer; timeoutMs?: number }): Promise<string>;
  /**
   * Makes 127.0.0.1:<port> where the engine publishes ports reachable from
   * the host, and returns the host port that reaches it (a free one, on
   * 127.0.0.1; the same one on every call).
   */
  publish(port: number): Promise<number>;
  /**
   * The command line that runs `argv` where the engine's networks are
   * reachable (its containers' addresses): inside its network namespace.
   */
  inEngineNetwork(argv: string[]): string[];
  /** The engine's network namespace (`/proc/<pid>/ns/net`); none for an engine this suite did not start. */
  readonly netns?: string;
  /** Stops the relays and dockerd, by pid, and removes the temp dir. */
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Listens on `from`, pipes each connection to `to`; a number is a port on
// 127.0.0.1 (0: a free one), anything else a unix socket path. Prints the
// port it listens on (or "ready" on a socket) once listening.
const RELAY = `
const net = require('net');
const addr = (a) => /^[0-9]+$/.test(a) ? { host: '127.0.0.1', port: Number(a) } : { path: a };
const [from, to] = process.argv.slice(1).map(addr);
const server = net.createServer((inbound) => {
  const outbound = net.connect(to);
  inbound.pipe(outbound).pipe(inbound);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
}).listen(from, () => console.log(server.address().port ?? 'ready'));
`;

/**
 * Installs a Debian package when `probe` is missing (apt-get update only if
 * the first try fails). Suites run side by side: apt waits for another's
 * install to release dpkg's lock instead of failing.
 */
export function aptInstall(pkg: string, probe: () => boolean): void {
  if (probe()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const wait = ['-o', 'DPkg::Lock::Timeout=600'];
  const install = () => spawnSync('apt-get', [...wait, 'install', '-y', '--no-install-recommends', pkg], { env, stdio: ['ignore', process.stderr, process.stderr] });
  if (install().status !== 0) {
    spawnSync('apt-get', [...wait, 'update'], { env, stdio: ['ignore', process.stderr, process.stderr] });
    install();
  }
  if (!probe()) throw new Error(`apt-get install ${pkg} did not provide what the e2e suite needs`);
}

export const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * Spawns through `setpriv --pdeathsig`, which survives exec: the process gets
 * SIGTERM when this one dies, however it dies (a killed jest worker runs no
 * exit hooks), so no dockerd or relay outlives its test run.
 */
function spawnTied(argv: string[], stdio: ('ignore' | 'pipe' | number)[]): ChildProcess {
  return spawn('setpriv', ['--pdeathsig', 'TERM', '--', ...argv], { stdio });
}

/** Starts a relay; resolves with it and the first line it prints (the port it listens on). */
function spawnRelay(argv: string[]): Promise<{ child: ChildProcess; listening: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTied(argv, ['ignore', 'pipe', 'pipe']);
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    child.stdout!.once('data', (d) => resolve({ child, listening: String(d).trim() }));
    child.once('exit', (code) => reject(new Error(`relay ${argv.slice(-2).join(' -> ')} exited with ${code}: ${stderr.trim()}`)));
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(options.input);
  });
}

/**
 * An engine that already runs at `host` (the user's, or one a script
 * started): the docker CLI against it, ports published on the host as they
 * are, nothing to stop.
 */
export function connectDockerEngine(host: string): DockerEngine {
  return {
    host, ...dockerClient({ DOCKER_HOST: host, DOCKER_BUILDKIT: '0' }), publish: async (port) => port, inEngineNetwork: (argv) => argv, stop: async () => undefined,
  };
}

/** The docker CLI with `settings` instead of any DOCKER_* of this process (never an ambient DOCKER_HOST or context). */
function dockerClient(settings: Record<string, string>): Pick<DockerEngine, 'docker' | 'mustDocker'> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')));
  Object.assign(env, settings);
  const docker = (args: string[], options?: { input?: string | Buffer; timeoutMs?: number }) => run('docker', args, env, options);
  return {
    docker,
    async mustDocker(args, options) {
      const r = await docker(args, options);
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout.trim();
    },
  };
}

/**
 * Starts dockerd (installing docker.io if it is missing) and waits until it
 * answers. `name` picks its data root under the tools cache: two engines at
 * once need two names.
 */
export async function startDockerEngine(options: { name?: string } = {}): Promise<DockerEngine> {
  aptInstall('docker.io', () => onPath('dockerd'));
  const dataRoot = path.join(cacheDir(), options.name ?? 'dockerd');
  fs.mkdirSync(dataRoot, { recursive: true });
  // Short: containerd's socket paths live under it and unix paths max out at 108 bytes.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-dockerd-'));
  let lock: ReturnType<typeof lockDataRoot>;
  try {
    lock = lockDataRoot(dataRoot, runDir);
  } catch (e) {
    fs.rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
  const host = `unix://${path.join(runDir, 'docker.sock')}`;
  const client = dockerClient({
    DOCKER_HOST: host,
    // An empty client config: no credential helpers, no contexts of the user's.
    DOCKER_CONFIG: path.join(runDir, 'client'),
    // The classic builder needs no buildx plugin and builds FROM scratch offline.
    DOCKER_BUILDKIT: '0',
  });
  const logFile = path.join(runDir, 'dockerd.log');
  const log = fs.openSync(logFile, 'a');
  // setpriv, unshare and sh all exec, so the pid we hold is dockerd's.
  const dockerd = spawnTied(['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec dockerd "$@"', 'dockerd',
    `--host=${host}`, `--data-root=${dataRoot}`, `--exec-root=${path.join(runDir, 'exec')}`,
    `--pidfile=${path.join(runDir, 'dockerd.pid')}`], ['ignore', log, log]);
  fs.closeSync(log);
  lock.holdFor(dockerd.pid!);
  const exited = new Promise<void>((resolve) => dockerd.once('exit', () => resolve()));
  const alive = () => dockerd.exitCode === null && dockerd.signalCode === null;
  const relays: ChildProcess[] = [];

  const { docker } = client;
  const relayed = new Map<number, Promise<number>>();
  let stopped = false;
  const engine: DockerEngine = {
    host,
    ...client,
    publish(port) {
      let ready = relayed.get(port);
      if (!ready) {
        const sock = path.join(runDir, `port-${port}.sock`);
        ready = (async () => {
          const inside = await spawnRelay(['nsenter', `--net=/proc/${dockerd.pid}/ns/net`, '--', process.execPath, '-e', RELAY, sock, String(port)]);
          relays.push(inside.child);
          const outside = await spawnRelay([process.execPath, '-e', RELAY, '0', sock]);
          relays.push(outside.child);
          return Number(outside.listening);
        })();
        relayed.set(port, ready);
      }
      return ready;
    },
    inEngineNetwork: (argv) => ['nsenter', `--net=/proc/${dockerd.pid}/ns/net`, '--', ...argv],
    netns: `/proc/${dockerd.pid}/ns/net`,
    async stop() {
      if (stopped) return;
      stopped = true;
      relays.forEach((c) => c.kill('SIGTERM'));
      dockerd.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, 60_000); })]);
      clearTimeout(timer); // a pending timer would keep jest from exiting
      if (alive()) dockerd.kill('SIGKILL');
      await exited;
      removeRunDir(runDir);
      lock.release();
    },
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const version = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
    if (version.status === 0) return engine;
    if (!alive() || Date.now() > deadline) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      const why = alive() ? 'timeout' : `exit ${dockerd.exitCode ?? dockerd.signalCode}`;
      await engine.stop();
      throw new Error(`dockerd did not answer on ${host} (${why}):\n${tail}`);
    }
    await sleep(250);
  }
}

/**
 * One dockerd per data root: two would corrupt it. The lock names this
 * process, its dockerd (which may outlive this process by the seconds it takes
 * to stop its containers) and its run dir, which a killed run leaves behind
 * with network namespace mounts in it: the next run removes both.
 */
function lockDataRoot(dataRoot: string, runDir: string): { holdFor(pid: number): void; release(): void } {
  const file = `${dataRoot}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid} 0 ${runDir}`, { flag: 'wx' });
      return {
        holdFor: (pid) => fs.writeFileSync(file, `${process.pid} ${pid} ${runDir}`),
        release: () => fs.rmSync(file, { force: true }),
      };
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
      const [owner, dockerd, staleDir] = fs.readFileSync(file, 'utf8').split(' ');
      const holders = [owner, dockerd].map(Number).filter((pid) => pid > 0 && isAlive(pid));
      if (holders.length > 0) throw new Error(`${dataRoot} is in use by pid ${holders.join(' and ')} (an e2e run and its dockerd)`);
      if (staleDir?.startsWith(path.join(os.tmpdir(), 'cmesh-dockerd-'))) removeRunDir(staleDir);
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataRoot}`);
}

/** Removes a run dir, first unmounting the network namespaces dockerd leaves in it when it stops with containers. */
function removeRunDir(dir: string): void {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[1];
    if (mountPoint?.startsWith(`${dir}/`)) spawnSync('umount', [mountPoint]);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Whether a process of this pid runs (signal 0 only asks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when the ELF file has a PT_INTERP program header, i.e. needs a dynamic loader. */
function isDynamicElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    fs.readSync(fd, head, 0, head.length, 0);
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) {
      if (head.readUInt32LE(phoff + i * phentsize) === 3) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

function sha256(...files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(fs.readFileSync(file));
  return hash.digest('hex');
}

/** A consul binary that runs FROM scratch: tools/build.sh builds it static. */
function staticConsul(consulBin: string): string {
  if (isDynamicElf(consulBin)) throw new Error(`${consulBin} is dynamically linked and cannot run FROM scratch: run \`npm run tools\` to rebuild it static`);
  return consulBin;
}

const IMAGE_KEY_LABEL = 'cdktf-consul-mesh.image-key';

/**
 * Builds `cdktf-consul-mesh/consul:<version>` from tools/images/consul unless
 * the engine already has it from the same consul, busybox and Dockerfile
 * (their hash is the image's label). Returns the tag.
 */
export async function ensureConsulImage(engine: DockerEngine, consulBin: string = requireTool('consul')): Promise<string> {
  aptInstall('busybox-static', () => fs.existsSync('/bin/busybox') && !isDynamicElf('/bin/busybox'));
  const consul = staticConsul(consulBin);
  const version = /Consul v(\S+)/.exec(spawnSync(consul, ['version'], { encoding: 'utf8' }).stdout)?.[1];
  if (!version) throw new Error(`${consul} version printed no version`);
  const tag = `cdktf-consul-mesh/consul:${version}`;
  const dockerfile = path.join(repoRoot, 'tools', 'images', 'consul', 'Dockerfile');
  const key = sha256(consul, '/bin/busybox', dockerfile);
  const current = await engine.docker(['image', 'inspect', '--format', `{{index .Config.Labels "${IMAGE_KEY_LABEL}"}}`, tag]);
  if (current.status === 0 && current.stdout.trim() === key) return tag;

  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-image-'));
  try {
    // Copies, not symlinks: the build context is sent as a tar, which would keep links as links.
    fs.copyFileSync(dockerfile, path.join(context, 'Dockerfile'));
    fs.copyFileSync(consul, path.join(context, 'consul'));
    fs.copyFileSync('/bin/busybox', path.join(context, 'busybox'));
    await engine.mustDocker(['build', '--network', 'none', '--label', `${IMAGE_KEY_LABEL}=${key}`, '-t', tag, context], { timeoutMs: 600_000 });
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return tag;
}

// What a client of Consul sees while the servers change under it: a process
// inside the engine's network namespace that, in each datacenter, reads the
// leader and a KV key every 200 ms and writes one key a second, trying the
// datacenter's servers in turn as a client agent does (the next one when a
// server does not answer, or answers that it has no leader), and following
// the live servers as they join and leave (a server that does not answer
// within 300 ms counts as not answering). A read fails
// when no server answers it well; the datacenter is without a leader while
// no server names one. Stopped, it reads every acknowledged write back.
import { ChildProcess, spawn } from 'child_process';
import { DockerEngine } from './docker-engine';

export interface ProbedDatacenter {
  readonly name: string;
  /** The servers' HTTP API addresses (host:port) inside the engine, to start with: the probe then follows the live servers. */
  readonly servers: string[];
}

export interface ProbeFigures {
  readonly datacenter: string;
  /** Leader and KV reads made, and how many failed (no server answered, an error status, or no leader). */
  readonly reads: number;
  readonly failedReads: number;
  readonly failedReadsPercent: number;
  /** The longest time from a read that found no leader to the next that found one. */
  readonly longestLeaderlessMs: number;
  readonly writes: number;
  readonly acknowledgedWrites: number;
  /** Writes Consul acknowledged that are not there when read back. */
  readonly lostWrites: number;
}

export interface Probe {
  /** Stops probing, reads the writes back, and returns the figures per datacenter. */
  stop(): Promise<ProbeFigures[]>;
}

const SCRIPT = `
const http = require('http');
const { datacenters, token, prefix, apiPort } = JSON.parse(process.env.PROBE);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const once = (addr, method, path, body) => new Promise((resolve) => {
  const [host, port] = addr.split(':');
  const req = http.request({ host, port: Number(port), method, path, headers: { 'X-Consul-Token': token }, timeout: 300 }, (res) => {
    let text = ''; res.on('data', (d) => text += d); res.on('end', () => resolve({ status: res.statusCode, body: text }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve(null));
  req.end(body);
});
// Servers in turn, until one answers well: as a client agent moves on to the next server when one does not
// answer or answers that it has no leader (a write that failed so was not applied; KV writes are idempotent anyway).
let turn = 0;
async function ask(dc, method, path, body, good) {
  turn += 1;
  let last = null;
  for (let i = 0; i < dc.servers.length; i++) {
    const r = await once(dc.servers[(turn + i) % dc.servers.length], method, path, body);
    if (r && good(r)) return r;
    last = r ?? last;
  }
  return last;
}
const ok = (r) => r.status === 200;
const led = (r) => { try { return r.status === 200 && JSON.parse(r.body) !== ''; } catch { return false; } };
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
// Its test gone (stdin closed with it): stop, rather than probe forever.
process.stdin.on('end', () => process.exit(2));
process.stdin.resume();
const figures = datacenters.map((dc) => ({ dc, reads: 0, failedReads: 0, leaderless: null, longestLeaderlessMs: 0, writes: 0, acked: [] }));
async function reads(f) {
  while (!stopping) {
    const t = Date.now();
    const leader = await ask(f.dc, 'GET', '/v1/status/leader', undefined, led);
    const hasLeader = leader !== null && led(leader);
    const kv = await ask(f.dc, 'GET', '/v1/kv/' + prefix + '/seed', undefined, ok);
    f.reads += 2;
    f.failedReads += (hasLeader ? 0 : 1) + (kv !== null && kv.status === 200 ? 0 : 1);
    if (!hasLeader && f.leaderless === null) f.leaderless = t;
    if (hasLeader && f.leaderless !== null) { f.longestLeaderlessMs = Math.max(f.longestLeaderlessMs, t - f.leaderless); f.leaderless = null; }
    await sleep(Math.max(0, 200 - (Date.now() - t)));
  }
  if (f.leaderless !== null) f.longestLeaderlessMs = Math.max(f.longestLeaderlessMs, Date.now() - f.leaderless);
}
// Servers come and go (a resize): follow the live ones, as a client agent hears of them over LAN gossip.
async function follow(f) {
  while (!stopping) {
    const r = await ask(f.dc, 'GET', '/v1/agent/members', undefined, ok);
    try {
      const live = (r !== null && r.status === 200 ? JSON.parse(r.body) : []).filter((m) => m.Status === 1 && m.Tags.role === 'consul');
      if (live.length > 0) f.dc.servers = live.map((m) => m.Addr + ':' + apiPort);
    } catch {}
    await sleep(1000);
  }
}
async function writes(f) {
  for (let n = 1; !stopping; n++) {
    const t = Date.now();
    f.writes += 1;
    const r = await ask(f.dc, 'PUT', '/v1/kv/' + prefix + '/writes/' + n, String(n), ok);
    if (r !== null && r.status === 200 && r.body.trim() === 'true') f.acked.push(n);
    await sleep(Math.max(0, 1000 - (Date.now() - t)));
  }
}
async function readBack(f) {
  for (let i = 0; i < 120; i++) {
    const r = await ask(f.dc, 'GET', '/v1/kv/' + prefix + '/writes/?keys', undefined, (a) => a.status === 200 || a.status === 404);
    if (r !== null && r.status === 200) return new Set(JSON.parse(r.body));
    if (r !== null && r.status === 404) return new Set();
    await sleep(500);
  }
  throw new Error('could not read the writes back in ' + f.dc.name);
}
(async () => {
  await Promise.all(figures.flatMap((f) => [reads(f), writes(f), follow(f)]));
  const out = [];
  for (const f of figures) {
    const present = await readBack(f);
    out.push({
      datacenter: f.dc.name, reads: f.reads, failedReads: f.failedReads,
      failedReadsPercent: f.reads === 0 ? 0 : Math.round(f.failedReads / f.reads * 10000) / 100,
      longestLeaderlessMs: f.longestLeaderlessMs, writes: f.writes, acknowledgedWrites: f.acked.length,
      lostWrites: f.acked.filter((n) => !present.has(prefix + '/writes/' + n)).length,
    });
  }
  // stdin, kept open to notice the test going, would keep the process alive.
  process.stdout.write(JSON.stringify(out) + '\\n', () => process.exit(0));
})().catch((e) => { console.error(e.stack); process.exit(1); });
`;

/**
 * Starts probing `datacenters` (their servers reached inside `engine`) with
 * `token`, under the KV prefix `prefix` (its `seed` key must exist: the
 * reads count a missing one as failed).
 */
export function startProbe(engine: DockerEngine, datacenters: ProbedDatacenter[], token: string, prefix: string): Probe {
  const argv = engine.inEngineNetwork([process.execPath, '-e', SCRIPT]);
  const child: ChildProcess = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, PROBE: JSON.stringify({ datacenters, token, prefix, apiPort: 8500 }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    async stop() {
      // nsenter passes the signal on to node, which finishes its round and reads back.
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`probe exited ${code}: ${stderr}`);
      return JSON.parse(stdout) as ProbeFigures[];
    },
  };
}

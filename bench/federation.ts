// How a real deploy grows with the federation: for each N, a ConsulFederation
// of N datacenters (dc1 the primary; WAN gossip; the servers in a stack of
// their own, as the example deploys them; a mesh gateway per datacenter,
// Envoy off; proxy-defaults and a service-defaults) is applied with real OpenTofu on the project's
// own dockerd, waited on until every datacenter has a leader, every server is
// alive in the WAN pool, every secondary replicates ACLs and has the primary's
// service-defaults (config entries replicate), planned (must be
// empty), measured (the engine's container memory; the machine's busy cores
// from the first apply until healthy: where that nears all of them, the
// deploy waits for CPU, not for a join point), and destroyed (nothing may be
// left). Prints each step per N and its ratio to the smallest N.
// Asserts nothing but correctness; the figures are for the README.
//
//   npm run bench:federation -- --datacenters 2,4,8,16
import { spawnSync } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { ConsulFederation, FederationMethod, MeshGatewayMode, ProxyDefaults, ServiceDefaults } from '../lib';
import { AppDeployment } from '../test/support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../test/support/docker-engine';

interface Sample {
  readonly n: number;
  readonly apply: Record<string, number>;
  readonly healthy: number;
  /** The machine's cores busy (of all), on average, from the first apply until healthy: 1 each when CPU is what it waits for. */
  readonly coresBusy: number;
  readonly plan: number;
  readonly destroy: number;
  readonly memoryMiB: number;
  readonly containers: number;
}

function argList(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const list = process.argv[i + 1].split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 2 || n > 30)) throw new Error(`--${name}: whole numbers from 2 to 30, e.g. 2,4,8,16`);
  return list;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Jiffies of all the machine's cores since boot: busy (neither idle nor waiting for I/O) and in all. */
function cpuJiffies(): { busy: number; total: number } {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - fields[4], total };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - started) / 1e6, value];
}

/** The federation of `n` datacenters, as the example builds its pair. */
function federationApp(n: number, image: string): App {
  const app = new App({ outdir: `${process.env.TMPDIR ?? '/tmp'}/cmesh-bench-federation-${n}-${process.pid}` });
  const consulSide = new TerraformStack(app, 'fed');
  const servers = new TerraformStack(app, 'fed-servers');
  const federation = new ConsulFederation(consulSide, 'fed', {
    primary: { name: 'dc1' },
    secondaries: Array.from({ length: n - 1 }, (_, i) => ({ name: `dc${i + 2}` })),
    method: FederationMethod.wanGossip(),
    image,
    serverStack: servers,
  });
  for (const dc of federation.datacenters) dc.addMeshGateway('gateway', { startEnvoy: false });
  new ProxyDefaults(consulSide, 'proxy-defaults', { datacenter: federation.primary, meshGatewayMode: MeshGatewayMode.local() });
  new ServiceDefaults(consulSide, 'api', { datacenter: federation.primary, service: 'api' });
  return app;
}

/** Every datacenter led, every server alive on the WAN, every secondary replicating ACLs and holding the primary's service-defaults. */
async function waitHealthy(engine: DockerEngine, n: number, token: string): Promise<void> {
  const consul = (dc: number, args: string[]) => engine.mustDocker(['exec', '-e', `CONSUL_HTTP_TOKEN=${token}`, `consul-dc${dc}-server-0`, 'consul', ...args]);
  // Each datacenter's API on its published port (ConsulFederation: 8500 + its index), read inside the engine's namespace.
  const api = async (dc: number, route: string) => {
    const [cmd, ...args] = engine.inEngineNetwork(['curl', '-sf', '--max-time', '5', '-H', `X-Consul-Token: ${token}`, `http://127.0.0.1:${8500 + dc - 1}${route}`]);
    const run = spawnSync(cmd, args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`dc${dc} ${route}: curl exit ${run.status}`);
    return JSON.parse(run.stdout);
  };
  const deadline = Date.now() + 300_000;
  let last = '';
  for (;;) {
    try {
      const leaders = await Promise.all(Array.from({ length: n }, (_, i) => api(i + 1, '/v1/status/leader')));
      const wan = (await consul(1, ['members', '-wan'])).split('\n').filter((l) => / alive /.test(l)).length;
      const replication = await Promise.all(Array.from({ length: n - 1 }, (_, i) => api(i + 2, '/v1/acl/replication')));
      // A service-defaults written in the primary, read from each datacenter's own state (`stale`). Not proxy-defaults,
      // which anyone may read, so a replicator without its token copies them: this one reaches a secondary only once
      // its replicator lists with the token (see lib/docker/server-tokens.ts).
      const entries = await Promise.all(Array.from({ length: n }, (_, i) => api(i + 1, '/v1/config/service-defaults/api?stale').then(() => true, () => false)));
      const seen = {
        leaders: leaders.filter(Boolean).length, wan, replicating: replication.filter((r) => r.Running && r.ReplicatedTokenIndex > 0).length,
        entries: entries.filter(Boolean).length,
      };
      last = JSON.stringify(seen);
      if (seen.leaders === n && seen.wan === n && seen.replicating === n - 1 && seen.entries === n) return;
    } catch (e) {
      last = String(e).slice(0, 300);
    }
    if (Date.now() > deadline) throw new Error(`N=${n}: not healthy within 300 s: ${last}`);
    await sleep(250);
  }
}

/** The engine's containers' memory, summed (docker stats, one sample). */
async function memory(engine: DockerEngine): Promise<{ mib: number; containers: number }> {
  const lines = (await engine.mustDocker(['stats', '--no-stream', '--format', '{{.MemUsage}}'])).split('\n').filter(Boolean);
  const mib = lines.reduce((sum, l) => {
    const m = /^([\d.]+)(KiB|MiB|GiB|B)/.exec(l);
    const unit = { B: 1 / 1048576, KiB: 1 / 1024, MiB: 1, GiB: 1024 } as Record<string, number>;
    return sum + (m ? Number(m[1]) * unit[m[2]] : 0);
  }, 0);
  return { mib, containers: lines.length };
}

/** The last lines of every container that exited non-zero. */
async function printFailedContainers(engine: DockerEngine): Promise<void> {
  const exited = (await engine.mustDocker(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}'])).split('\n');
  for (const line of exited.filter((l) => /Exited \([1-9]/.test(l))) {
    const name = line.split(' ')[0];
    const logs = await engine.docker(['logs', '--tail', '15', name]);
    process.stderr.write(`--- ${line}\n${logs.stdout}${logs.stderr}\n`);
  }
}

async function sample(engine: DockerEngine, image: string, n: number): Promise<Sample> {
  const token = randomUUID();
  const vars = { fed_management_token: token, fed_gossip_key: randomBytes(32).toString('base64') };
  const deployment = new AppDeployment(engine, federationApp(n, image), vars);
  try {
    // Providers installed before timing, as on a user's second deploy.
    await deployment.init();
    const apply: Record<string, number> = {};
    const cpuBefore = cpuJiffies();
    const [healthy] = await timed(async () => {
      for (const { name, deployment: stack } of deployment.stacks) {
        const [ms, run] = await timed(() => stack.apply());
        apply[name] = ms;
        // BENCH_APPLY_LOG=dir keeps each apply's and destroy's output (what took how long), for a closer look.
        if (process.env.BENCH_APPLY_LOG) fs.writeFileSync(path.join(process.env.BENCH_APPLY_LOG, `apply-${n}-${name}.log`), run.stdout);
      }
      await waitHealthy(engine, n, token);
    });
    const cpuAfter = cpuJiffies();
    const coresBusy = os.cpus().length * (cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total);
    const { mib, containers } = await memory(engine);
    const [plan] = await timed(() => deployment.expectNoChanges());
    const [destroy, runs] = await timed(() => deployment.destroy());
    if (process.env.BENCH_APPLY_LOG) {
      deployment.stacks.forEach(({ name }, i) => fs.writeFileSync(path.join(process.env.BENCH_APPLY_LOG!, `destroy-${n}-${name}.log`), runs[i].stdout));
    }
    const left = await deployment.leftovers();
    if (left.length > 0) throw new Error(`N=${n}: destroy left ${left.join(', ')}`);
    return { n, apply, healthy, coresBusy, plan, destroy, memoryMiB: mib, containers };
  } catch (e) {
    // The engine goes with the run: what the failed one-shots said is printed before the teardown.
    await printFailedContainers(engine).catch(() => undefined);
    await deployment.destroy().catch(() => undefined);
    throw e;
  } finally {
    deployment.remove();
  }
}

async function main(): Promise<void> {
  const sizes = argList('datacenters', [2, 4, 8, 16]);
  const engine = await startDockerEngine({ name: 'bench-federation' });
  try {
    const image = await ensureConsulImage(engine);
    await new AppDeployment(engine, federationApp(2, image), {}).clearEngine();
    const samples: Sample[] = [];
    for (const n of sizes) {
      const s = await sample(engine, image, n);
      samples.push(s);
      process.stderr.write(`N=${n}: ${Object.entries(s.apply).map(([k, v]) => `apply ${k} ${secs(v)}`).join(', ')}, healthy after ${secs(s.healthy)} (${s.coresBusy.toFixed(2)} cores busy), `
        + `plan ${secs(s.plan)}, destroy ${secs(s.destroy)}, ${s.containers} containers ${s.memoryMiB.toFixed(0)} MiB\n`);
    }
    const base = samples[0];
    const total = (s: Sample) => Object.values(s.apply).reduce((a, b) => a + b, 0);
    console.log(`\nfederation of N datacenters (WAN gossip, servers' stack + Consul side, a mesh gateway each, Envoy off), one run per N, on the project's own dockerd`);
    console.log(`cores busy: of the machine's ${os.cpus().length}, on average from the first apply until healthy`);
    console.log('| N | apply fed-servers | apply fed | apply total | to healthy | cores busy | plan after | destroy | memory (containers) | apply / N=' + base.n + ' | destroy / N=' + base.n + ' |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of samples) {
      console.log(`| ${s.n} | ${secs(s.apply['fed-servers'])} | ${secs(s.apply.fed)} | ${secs(total(s))} | ${secs(s.healthy)} | ${s.coresBusy.toFixed(2)} | ${secs(s.plan)} | ${secs(s.destroy)} | `
        + `${s.memoryMiB.toFixed(0)} MiB (${s.containers}) | ${(total(s) / total(base)).toFixed(2)} | ${(s.destroy / base.destroy).toFixed(2)} |`);
    }
  } finally {
    await engine.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

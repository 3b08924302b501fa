// A realistic mesh at scale, deployed for real: N services (service-defaults in
// mixed modes and protocols, an intention each, a resolver per ten services,
// exports; test/support/scale-mesh.ts) on Consul 1.14.11 servers on loopback
// (one for each way, started alike), by real OpenTofu, two ways in one run,
// each step taken by both back to back, alternating which goes first:
//   library  the library's stack (ExistingDatacenter and the typed entries);
//   raw      the same consul_config_entry resources as raw provider constructs
//            at the stack's top, with the same depends_on edges.
// Each round: apply, a second apply (no changes), --plans plans with and
// without refresh (the latter reads nothing from Consul: OpenTofu's own
// share), destroy; every step must succeed and Consul must hold exactly the
// declared entries. Prints each step's time and the ratio library/raw, and
// the plans' growth between sizes.
// With --unordered, it first applies the raw entries once without the edges,
// as written before the library ordered them, and counts Consul's refusals.
// Then synthesizes the library's mesh of --synth services in a fresh process:
// time and peak RSS. Asserts nothing about time.
//
// Usage: npm run bench:entries -- [--services 1000,5000] [--rounds 3,1] [--plans 1] [--synth 10000] [--unordered]
//   --rounds: per size (the last one repeats for the sizes after it).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, dependable, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { ConfigEntry } from '@cdktf/provider-consul/lib/config-entry';
import { ConsulProvider } from '@cdktf/provider-consul/lib/provider';
import { ConsulVersion } from '../lib';
import { ConsulCluster } from '../test/support/consul-cluster';
import { declareScaleMesh } from '../test/support/scale-mesh';
import { TerraformWorkspace } from '../test/support/terraform';
import { requireTool, toolVersion } from '../test/support/tools';

type Json = Record<string, any>;
type Step = 'apply' | 're-apply' | 'plan' | 'plan -refresh=false' | 'destroy';
const STEPS: Step[] = ['apply', 're-apply', 'plan', 'plan -refresh=false', 'destroy'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** The library's stack for `services` services, synthesized. */
function libraryStack(services: number, address: string): Json {
  const stack = new TerraformStack(Testing.app(), 'scale');
  declareScaleMesh(stack, { services, address, consulVersion: ConsulVersion.of(toolVersion('consul')) });
  return JSON.parse(Testing.synth(stack, true));
}

/**
 * The same entries as raw provider constructs: one provider, one
 * consul_config_entry per entry with the same kind, name and body, and (unless
 * `edges` is false) the same depends_on.
 */
function rawStack(library: Json, edges: boolean, address: string): Json {
  const stack = new TerraformStack(Testing.app(), 'raw');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const [providerConfig] = library.provider.consul;
  const provider = new ConsulProvider(stack, 'consul', { address, datacenter: providerConfig.datacenter, token: token.stringValue });
  const entries = Object.entries<Json>(library.resource.consul_config_entry);
  const byAddress = new Map<string, ConfigEntry>();
  for (const [id, entry] of entries) {
    byAddress.set(`consul_config_entry.${id}`, new ConfigEntry(stack, id, { provider, kind: entry.kind, name: entry.name, configJson: entry.config_json }));
  }
  if (edges) {
    for (const [id, entry] of entries) {
      if (!entry.depends_on) continue;
      byAddress.get(`consul_config_entry.${id}`)!.dependsOn = entry.depends_on.map((d: string) => {
        const target = byAddress.get(d);
        if (!target) throw new Error(`${id} depends on ${d}, which the raw stack lacks`);
        return dependable(target);
      });
    }
  }
  return JSON.parse(Testing.synth(stack, true));
}

/** The server's config entries of one kind. */
async function entriesOf(cluster: ConsulCluster, kind: string): Promise<Json[]> {
  return (await cluster.api('dc1', 'GET', `/v1/config/${kind}`, undefined, cluster.managementToken)).json ?? [];
}

/** Deletes every config entry of the server: what a failed run leaves. */
async function clearEntries(cluster: ConsulCluster): Promise<void> {
  for (const kind of ['exported-services', 'service-intentions', 'service-resolver', 'service-defaults', 'proxy-defaults']) {
    for (const entry of await entriesOf(cluster, kind)) {
      await cluster.api('dc1', 'DELETE', `/v1/config/${kind}/${entry.Name}`, undefined, cluster.managementToken);
    }
  }
}

async function expectEntries(cluster: ConsulCluster, services: number, variant: string): Promise<void> {
  const count = async (kind: string) => (await entriesOf(cluster, kind)).length;
  const got = [await count('service-defaults'), await count('service-intentions'), await count('service-resolver')];
  const want = [services, services, services / 10];
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${variant}: Consul holds ${got} service-defaults/intentions/resolvers, expected ${want}`);
}

/** Applies the raw entries without edges once: how many writes Consul refuses, and what is left. */
async function unordered(cluster: ConsulCluster, library: Json, services: number): Promise<void> {
  const ws = new TerraformWorkspace(rawStack(library, false, cluster.dc1.httpAddr), { vars: { token: cluster.managementToken }, prefix: 'bench-entries-unordered-' });
  try {
    await ws.init();
    const applied = await ws.run(['apply', '-auto-approve', '-input=false', '-no-color']);
    const refused = (applied.stdout + applied.stderr).match(/Error: failed to set '[^']+' config entry/g) ?? [];
    const defaults = (await entriesOf(cluster, 'service-defaults')).length;
    const sample = (applied.stdout + applied.stderr).match(/failed to set '[^']+' config entry: [^\n]+/)?.[0];
    console.log(`unordered (raw, no edges), ${services} services: apply exit ${applied.code}, ${refused.length} writes refused, `
      + `${defaults} of ${services} service-defaults written${sample ? `\n  e.g. ${sample}` : ''}`);
    if (applied.code === 0) {
      const destroyed = await ws.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
      const refusedDestroy = (destroyed.stdout + destroyed.stderr).match(/Error: /g) ?? [];
      console.log(`  destroy exit ${destroyed.code}, ${refusedDestroy.length} errors`);
    }
  } finally {
    await clearEntries(cluster);
    ws.remove();
  }
}

/** A variant's stack and the Consul server it deploys to. */
interface Target { readonly stack: Json; readonly cluster: ConsulCluster }

async function measure(clusters: Record<'library' | 'raw', ConsulCluster>, services: number, rounds: number, plans: number): Promise<Record<string, Record<Step, number[]>>> {
  const library = libraryStack(services, clusters.library.dc1.httpAddr);
  const targets: Record<string, Target> = {
    library: { stack: library, cluster: clusters.library },
    raw: { stack: rawStack(library, true, clusters.raw.dc1.httpAddr), cluster: clusters.raw },
  };
  // What the ratio compares: the same resources, bodies and edges; only the provider (aliased in the library) differs.
  const entries = (stack: Json) => JSON.stringify(Object.entries<Json>(stack.resource.consul_config_entry)
    .map(([id, e]) => [id, e.kind, e.name, e.config_json, e.depends_on ?? []]));
  if (entries(library) !== entries(targets.raw.stack) || Object.keys(library.resource).length !== 1) {
    throw new Error('the raw stack does not hold the same consul_config_entry resources as the library\'s, or the library\'s holds more');
  }
  const results: Record<string, Record<Step, number[]>> = {};
  const workspaces: Record<string, TerraformWorkspace> = {};
  for (const [variant, { stack, cluster }] of Object.entries(targets)) {
    results[variant] = { 'apply': [], 're-apply': [], 'plan': [], 'plan -refresh=false': [], 'destroy': [] };
    workspaces[variant] = new TerraformWorkspace(stack, { vars: { token: cluster.managementToken }, prefix: `bench-entries-${variant}-` });
    await workspaces[variant].init();
  }
  try {
    for (let round = 0; round < rounds; round++) {
      // Each step is taken by both variants back to back, alternating which goes first each round, so a
      // machine that speeds up or slows down over a round's minutes weighs on both alike. Each variant has a
      // server of its own, so both stay deployed through the steps that change nothing.
      const order = round % 2 === 0 ? ['library', 'raw'] : ['raw', 'library'];
      const step = async (name: Step, fn: (ws: TerraformWorkspace, variant: string) => Promise<unknown>) => {
        for (const variant of order) results[variant][name].push(await time(() => fn(workspaces[variant], variant)));
      };
      await step('apply', async (ws, variant) => {
        await ws.apply();
        await expectEntries(targets[variant].cluster, services, variant);
      });
      await step('re-apply', async (ws, variant) => {
        const again = await ws.apply();
        if (!again.stdout.includes('0 added, 0 changed, 0 destroyed')) throw new Error(`${variant}: the second apply changed something`);
      });
      // Plans change nothing, so each round takes several (a steadier median); without refresh, a plan reads nothing
      // from Consul: OpenTofu's own share.
      for (let p = 0; p < plans; p++) {
        await step('plan', (ws) => ws.expectNoChanges());
        await step('plan -refresh=false', (ws) => ws.expectNoChanges(['-refresh=false']));
      }
      await step('destroy', async (ws, variant) => {
        await ws.destroy();
        const left = (await entriesOf(targets[variant].cluster, 'service-defaults')).length;
        if (left !== 0) throw new Error(`${variant}: destroy left ${left} service-defaults`);
      });
      for (const variant of order) {
        const r = results[variant];
        console.log(`  ${services} services, round ${round + 1}, ${variant}: ${STEPS.map((s) => `${s} ${r[s].slice(-(s.startsWith('plan') ? plans : 1)).map(secs).join('/')}`).join(', ')}`);
      }
    }
  } finally {
    Object.values(workspaces).forEach((ws) => ws.remove());
  }
  return results;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `--synth-only N`: this process synthesizes N services and prints time and peak RSS (a fresh process, as `cdktf synth`). */
function synthOnly(services: number): void {
  const started = process.hrtime.bigint();
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-entries-synth-')) });
  const stack = new TerraformStack(app, 'scale');
  declareScaleMesh(stack, { services, address: '127.0.0.1:8500', consulVersion: ConsulVersion.of('1.14.11') });
  app.synth();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  fs.rmSync(app.outdir, { recursive: true, force: true });
  console.log(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  if (process.argv.includes('--synth-only')) return synthOnly(Number(arg('synth-only', '10000')));
  const sizes = arg('services', '1000,5000').split(',').map(Number);
  const roundsOf = arg('rounds', '1').split(',').map(Number);
  const rounds = (i: number) => roundsOf[Math.min(i, roundsOf.length - 1)];
  const synthSize = Number(arg('synth', '10000'));
  const plans = Number(arg('plans', '1'));
  const consulBin = requireTool('consul');
  // One server for each variant, started alike.
  const clusters = { library: await ConsulCluster.start({ consulBin, secondary: false }), raw: await ConsulCluster.start({ consulBin, secondary: false }) };
  const all: Record<number, Record<string, Record<Step, number[]>>> = {};
  try {
    for (const cluster of Object.values(clusters)) await cluster.waitForLeaders();
    if (process.argv.includes('--unordered')) await unordered(clusters.raw, libraryStack(sizes[0], clusters.raw.dc1.httpAddr), sizes[0]);
    for (const [i, services] of sizes.entries()) all[services] = await measure(clusters, services, rounds(i), plans);
  } finally {
    for (const cluster of Object.values(clusters)) await cluster.stop();
  }

  console.log(`\nConsul ${toolVersion('consul')}, one server on loopback for each variant; OpenTofu ${toolVersion('terraform')}; medians of the rounds`);
  console.log(`plans: ${plans} a round, the median of all`);
  console.log('| services | entries | rounds | step | library | raw | library/raw |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [i, services] of sizes.entries()) {
    const entries = services * 2 + services / 10 + 2;
    for (const step of STEPS) {
      const l = median(all[services].library[step]);
      const r = median(all[services].raw[step]);
      console.log(`| ${services} | ${entries} | ${rounds(i)} | ${step} | ${secs(l)} | ${secs(r)} | ${(l / r).toFixed(2)} |`);
    }
  }
  if (sizes.length > 1) {
    const [a, b] = [sizes[0], sizes[sizes.length - 1]];
    for (const step of ['plan', 'plan -refresh=false'] as Step[]) {
      for (const variant of ['library', 'raw']) {
        console.log(`${step} growth ${a} -> ${b} services (${variant}): ${(median(all[b][variant][step]) / median(all[a][variant][step])).toFixed(2)}x`);
      }
    }
  }
  const synth = spawnSync(process.execPath, ['-r', 'ts-node/register', __filename, '--synth-only', String(synthSize)], {
    encoding: 'utf8', env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.dev.json'), TS_NODE_TRANSPILE_ONLY: '1' },
  });
  if (synth.status !== 0) throw new Error(`synth of ${synthSize} services failed:\n${synth.stderr}`);
  const { ms, maxRssMiB } = JSON.parse(synth.stdout.trim().split('\n').pop()!);
  console.log(`synth of ${synthSize} services (${synthSize * 2 + synthSize / 10 + 2} entries), fresh process: ${secs(ms)}, peak RSS ${maxRssMiB.toFixed(0)} MiB`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

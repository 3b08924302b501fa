// Synth cost of the library against the same resources written directly with
// the provider constructs, measured in one run. Prints ratios; asserts nothing
// about time (see README: Performance).
//
// Every sample is one fresh node process (timing starts after module loading),
// so no variant inherits another's heap or JIT state; the variants are
// interleaved, and ratios are taken per round before the median, so drift of
// the machine falls on both sides of each ratio.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { ConfigEntry } from '@cdktf/provider-consul/lib/config-entry';
import { ConsulProvider } from '@cdktf/provider-consul/lib/provider';
import { Construct } from 'constructs';
import { ConsulFederation, ExistingDatacenter, MeshGatewayMode, MeshService, Protocol, ProxyDefaults, ServiceDefaults } from '../lib';

const DATACENTERS = ['dc1', 'dc2'];
// The same complete body the library writes (see ServiceDefaults._renderBody).
const BODY = JSON.stringify({ Protocol: 'http', TransparentProxy: {}, MeshGateway: { Mode: 'local' }, Expose: {} });

type Variant = (stack: TerraformStack, services: number) => void;

const rawProvider = (stack: TerraformStack, name: string, i: number) => {
  const token = new TerraformVariable(stack, `${name}_token`, { type: 'string', sensitive: true, nullable: false });
  return new ConsulProvider(stack, `${name}-provider`, {
    alias: name, address: `127.0.0.1:${8500 + i}`, scheme: 'http', datacenter: name, token: token.stringValue,
  });
};

const VARIANTS: Record<string, Variant> = {
  library: (stack, services) => DATACENTERS.forEach((name, i) => {
    const dc = new ExistingDatacenter(stack, name, { name, address: `127.0.0.1:${8500 + i}` });
    for (let s = 0; s < services; s++) {
      new ServiceDefaults(dc, `svc${s}`, { datacenter: dc, service: `svc${s}`, protocol: Protocol.HTTP, meshGatewayMode: MeshGatewayMode.local() });
    }
  }),
  // What a user writes without the library: one resource per entry at the stack's top.
  raw: (stack, services) => DATACENTERS.forEach((name, i) => {
    const provider = rawProvider(stack, name, i);
    for (let s = 0; s < services; s++) {
      new ConfigEntry(stack, `${name}-svc${s}`, { provider, kind: 'service-defaults', name: `svc${s}`, configJson: BODY });
    }
  }),
  // The raw resources in the library's tree shape (datacenter / entry / Resource):
  // separates the cost of that shape from the cost of the library's own code.
  rawInTree: (stack, services) => DATACENTERS.forEach((name, i) => {
    const provider = rawProvider(stack, name, i);
    const dc = new Construct(stack, name);
    for (let s = 0; s < services; s++) {
      new ConfigEntry(new Construct(dc, `svc${s}`), 'Resource', { provider, kind: 'service-defaults', name: `svc${s}`, configJson: BODY });
    }
  }),
};

/**
 * The federated pair with N mesh services (two upstreams each, half of them
 * across datacenters) and a service-defaults each: how synth scales with
 * the services whose modes are resolved at synth.
 */
function meshServices(stack: TerraformStack, services: number): void {
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  new ProxyDefaults(stack, 'proxy-defaults', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.local() });
  for (let i = 0; i < services; i++) {
    new ServiceDefaults(stack, `sd${i}`, { datacenter: fed.primary, service: `svc${i}`, protocol: Protocol.HTTP });
    new MeshService(stack, `svc${i}`, {
      datacenter: i % 2 === 0 ? fed.primary : fed.datacenter('dc2'), service: `svc${i}`, port: 8080,
      upstreams: [
        { service: `svc${(i + 1) % services}`, datacenter: 'dc2', localBindPort: 9001 },
        { service: `svc${(i + 2) % services}`, localBindPort: 9002 },
      ],
    });
  }
}

/** Child: synthesize one variant once; print the time and a digest of what was written. */
function child(variant: string, services: number): void {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const start = process.hrtime.bigint();
  const app = new App({ outdir });
  (variant === 'meshServices' ? meshServices : VARIANTS[variant])(new TerraformStack(app, 'bench'), services);
  app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'bench', 'cdk.tf.json'), 'utf8'));
  fs.rmSync(outdir, { recursive: true, force: true });
  // What every variant must agree on: each entry's provider, kind, name and body.
  const entries = Object.values<any>(json.resource?.consul_config_entry ?? {})
    .map((e) => `${e.provider} ${e.kind} ${e.name} ${e.config_json}`).sort();
  const digest = createHash('sha256').update(entries.join('\n')).digest('hex');
  process.stdout.write(JSON.stringify({ ms, entries: entries.length, digest }) + '\n');
}

interface Sample { ms: number; entries: number; digest: string }

function sample(variant: string, services: number): Sample {
  const run = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', variant, String(services)],
    { encoding: 'utf8', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, maxBuffer: 1 << 20 });
  if (run.status !== 0) throw new Error(`bench child ${variant} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  return s[Math.floor(at)] + (s[Math.ceil(at)] - s[Math.floor(at)]) * (at - Math.floor(at));
};
const median = (xs: number[]) => quantile(xs, 0.5);

interface Measurement {
  /** Median wall time of each variant. */
  readonly ms: Record<string, number>;
  /** Per round a / b, as median and interquartile range. */
  ratio(a: string, b: string): { median: number; q1: number; q3: number };
}

function measure(services: number, rounds: number): Measurement {
  const names = Object.keys(VARIANTS);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const written = order.map((n) => { const s = sample(n, services); times[n].push(s.ms); return s; });
    if (written.some((s) => s.digest !== written[0].digest || s.entries !== services * DATACENTERS.length)) {
      throw new Error('the variants did not write the same config entries: the comparison would be meaningless');
    }
  }
  return {
    ms: Object.fromEntries(names.map((n) => [n, median(times[n])])),
    ratio: (a, b) => {
      const paired = times[a].map((t, i) => t / times[b][i]);
      return { median: median(paired), q1: quantile(paired, 0.25), q3: quantile(paired, 0.75) };
    },
  };
}

function main(): void {
  const small = Number(process.env.BENCH_SMALL ?? 1000);
  const large = Number(process.env.BENCH_LARGE ?? 10000);
  const roundsSmall = Number(process.env.BENCH_ROUNDS_SMALL ?? 25);
  const roundsLarge = Number(process.env.BENCH_ROUNDS_LARGE ?? 7);
  const s = measure(small, roundsSmall);
  const l = measure(large, roundsLarge);
  const r = (x: { median: number; q1: number; q3: number }) => `${x.median.toFixed(3)} (${x.q1.toFixed(2)}-${x.q3.toFixed(2)})`.padEnd(20);
  const row = (n: number, m: Measurement) => [
    String(n * DATACENTERS.length).padStart(7),
    ...['library', 'raw', 'rawInTree'].map((v) => `${m.ms[v].toFixed(0)} ms`.padStart(10)),
    '  ' + r(m.ratio('library', 'raw')), r(m.ratio('rawInTree', 'raw')), r(m.ratio('library', 'rawInTree')),
  ].join(' ');
  console.log(`synth of ${DATACENTERS.length} datacenters × N service-defaults, one fresh node process per sample, variants interleaved, `
    + `${roundsSmall} and ${roundsLarge} rounds (node ${process.version}, ${os.cpus().length} cpus)`);
  console.log('entries    library        raw tree shape   library/raw (IQR)    tree shape/raw       library/tree shape');
  console.log(row(small, s));
  console.log(row(large, l));
  console.log('"tree shape": the raw resources nested as the library nests them (datacenter / entry / Resource)');
  console.log(`scaling ${large / small}x services: library ${(l.ms.library / s.ms.library).toFixed(2)}x time, raw ${(l.ms.raw / s.ms.raw).toFixed(2)}x time`);

  // Mesh services: every upstream's mode is resolved at synth (one pass per stack).
  const meshSmall = Number(process.env.BENCH_MESH_SMALL ?? 1000);
  const meshLarge = Number(process.env.BENCH_MESH_LARGE ?? 10000);
  const meshRounds = Number(process.env.BENCH_MESH_ROUNDS ?? 5);
  const mesh = (n: number) => median(Array.from({ length: meshRounds }, () => sample('meshServices', n).ms));
  const [ms1, ms2] = [mesh(meshSmall), mesh(meshLarge)];
  console.log(`\nfederated pair with N mesh services (2 upstreams each, half across datacenters) + N service-defaults, ${meshRounds} rounds:`);
  console.log(`  ${meshSmall}: ${ms1.toFixed(0)} ms   ${meshLarge}: ${ms2.toFixed(0)} ms   ${meshLarge / meshSmall}x the services: ${(ms2 / ms1).toFixed(2)}x the time`);
}

if (process.argv[2] === '--child') child(process.argv[3], Number(process.argv[4]));
else main();

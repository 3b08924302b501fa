// Synth cost of the library against the same resources written directly with
// the provider constructs, measured in one run with the variants interleaved.
// Prints ratios; asserts nothing about time (see README: Performance).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { ConfigEntry } from '@cdktf/provider-consul/lib/config-entry';
import { ConsulProvider } from '@cdktf/provider-consul/lib/provider';
import { ExistingDatacenter, MeshGatewayMode, ServiceDefaults } from '../lib';

const DATACENTERS = ['dc1', 'dc2'];

type Variant = (stack: TerraformStack, services: number) => void;

const library: Variant = (stack, services) => {
  DATACENTERS.forEach((name, i) => {
    const dc = new ExistingDatacenter(stack, name, { name, address: `127.0.0.1:${8500 + i}` });
    for (let s = 0; s < services; s++) {
      new ServiceDefaults(dc, `svc${s}`, { datacenter: dc, service: `svc${s}`, protocol: 'http', meshGatewayMode: MeshGatewayMode.local() });
    }
  });
};

const raw: Variant = (stack, services) => {
  DATACENTERS.forEach((name, i) => {
    const token = new TerraformVariable(stack, `${name}_token`, { type: 'string', sensitive: true, nullable: false });
    const provider = new ConsulProvider(stack, `${name}-provider`, {
      alias: name, address: `127.0.0.1:${8500 + i}`, scheme: 'http', datacenter: name, token: token.stringValue,
    });
    for (let s = 0; s < services; s++) {
      new ConfigEntry(stack, `${name}-svc${s}`, {
        provider, kind: 'service-defaults', name: `svc${s}`,
        // The same complete body the library writes (see ServiceDefaults._renderBody).
        configJson: JSON.stringify({ Protocol: 'http', TransparentProxy: {}, MeshGateway: { Mode: 'local' }, Expose: {} }),
      });
    }
  });
};

function synthOnce(variant: Variant, services: number): { ms: number; bodies: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  (global as { gc?: () => void }).gc?.();
  const start = process.hrtime.bigint();
  const app = new App({ outdir });
  variant(new TerraformStack(app, 'bench'), services);
  app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'bench', 'cdk.tf.json'), 'utf8'));
  fs.rmSync(outdir, { recursive: true, force: true });
  // What both variants must agree on: every entry's provider, kind, name and body.
  const bodies = Object.values<any>(json.resource.consul_config_entry)
    .map((e) => `${e.provider} ${e.kind} ${e.name} ${e.config_json}`).sort().join('\n');
  return { ms, bodies };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(services: number, reps: number): { library: number; raw: number } {
  synthOnce(library, Math.min(services, 200)); // warm up both paths
  synthOnce(raw, Math.min(services, 200));
  const times = { library: [] as number[], raw: [] as number[] };
  for (let r = 0; r < reps; r++) {
    // Alternate the order so drift (GC, heat) falls on both equally.
    const order: [keyof typeof times, Variant][] = r % 2 === 0 ? [['library', library], ['raw', raw]] : [['raw', raw], ['library', library]];
    const written: Record<string, string> = {};
    for (const [name, variant] of order) {
      const { ms, bodies } = synthOnce(variant, services);
      written[name] = bodies;
      times[name].push(ms);
    }
    if (written.library !== written.raw || written.library.split('\n').length !== services * DATACENTERS.length) {
      throw new Error('the two variants did not write the same config entries: the comparison would be meaningless');
    }
  }
  return { library: median(times.library), raw: median(times.raw) };
}

const small = Number(process.env.BENCH_SMALL ?? 1000);
const large = Number(process.env.BENCH_LARGE ?? 10000);
const s = measure(small, Number(process.env.BENCH_REPS_SMALL ?? 7));
const l = measure(large, Number(process.env.BENCH_REPS_LARGE ?? 3));
const row = (n: number, m: { library: number; raw: number }) =>
  `${String(n * 2).padStart(6)} service-defaults  library ${m.library.toFixed(0).padStart(6)} ms  raw ${m.raw.toFixed(0).padStart(6)} ms  ratio ${(m.library / m.raw).toFixed(3)}`;
console.log(`synth of ${DATACENTERS.length} datacenters (median of runs, variants interleaved, node ${process.version}, ${os.cpus().length} cpus)`);
console.log(row(small, s));
console.log(row(large, l));
console.log(`scaling ${large / small}x services: library ${(l.library / s.library).toFixed(2)}x time, raw ${(l.raw / s.raw).toFixed(2)}x time`);

// Would `terraform plan` show a diff for a consul_config_entry right after
// apply? The provider cannot run here (see README, Limits), so provider-diff/
// (Go) repeats the provider's own decision with Consul's own API module:
// Read through the API client, then DiffSuppressFunc's decode-and-DeepEqual.
// A JSON comparison misses what this catches: `[]` sent where Consul returns
// nothing, or `{}` returned for a pointer field that was not sent.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir } from './tools';

const source = path.join(__dirname, 'provider-diff');

export interface PlanQuery {
  /** host:port of the HTTP API. */
  readonly address: string;
  readonly token: string;
  /** The provider's `datacenter` (sent as ?dc=). */
  readonly datacenter: string;
  readonly kind: string;
  readonly name: string;
  /** The config_json as synthesized. */
  readonly config_json: string;
}

export interface PlanAnswer {
  readonly kind: string;
  readonly name: string;
  /** config_json as the provider's Read would store it. */
  readonly state?: string;
  /** True when the plan shows no change. */
  readonly equal: boolean;
  /** Both sides as decoded, when they differ. */
  readonly decoded_state?: string;
  readonly decoded_config?: string;
  readonly error?: string;
}

let binary: string | undefined;

/** Builds provider-diff once per source version into the tools cache; later runs reuse it. */
export function providerDiffBinary(): string {
  if (binary) return binary;
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(source, file)));
  const out = path.join(cacheDir(), 'bin', `provider-diff-${hash.digest('hex').slice(0, 16)}`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const build = spawnSync('go', ['build', '-o', `${out}.tmp`, '.'], {
      cwd: source,
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '-mod=readonly', GOWORK: 'off', CGO_ENABLED: '0' },
    });
    if (build.error || build.status !== 0) {
      throw new Error(`building test/support/provider-diff failed (needs the go toolchain and the module cache \`npm run tools\` fills): `
        + `${build.error?.message ?? ''}${build.stderr}`);
    }
    fs.renameSync(`${out}.tmp`, out);
  }
  binary = out;
  return out;
}

/** Asks provider-diff about each entry, as the provider would see it after apply. */
export function planAfterApply(queries: PlanQuery[]): PlanAnswer[] {
  const run = spawnSync(providerDiffBinary(), [], { input: JSON.stringify(queries), encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0) throw new Error(`provider-diff: ${run.error?.message ?? ''}${run.stderr}`);
  return JSON.parse(run.stdout) as PlanAnswer[];
}

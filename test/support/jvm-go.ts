// The library as a Java or Go user builds against it: the Maven repository
// and the Go module `npm run package` (scripts/package.sh) writes from this
// build's assembly, with the bindings of cdktf and the providers that
// scripts/bindings.sh generates once into the cache outside the repo (no
// registry serves them to these machines), and what the registries serve
// (the jsii runtimes, constructs; cdktf for Go). A second run reuses that
// cache, Maven's local repository in it and Go's module and build caches.
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const repo = path.resolve(__dirname, '..', '..');
const example = path.join(repo, 'examples', 'federated-pair');

/** The env knobs examples/federated-pair/main.ts reads, set (the other run leaves them unset). */
export function knobs(dir: string): Record<string, string> {
  // A state dir written as a user might: path.join normalizes it, and so must the ports.
  return { CONSUL_MESH_IMAGE: 'hashicorp/consul:1.19.2', CONSUL_MESH_START_ENVOY: 'false', CONSUL_MESH_STATE_DIR: `${dir}/state/./pair/` };
}

/**
 * What a synth with `knobs(dir)` must show, beside matching the TypeScript:
 * the state dir (normalized), the image, no Envoy container.
 */
export function expectKnobsApplied(out: string, dir: string): void {
  const stack = filesIn(out)[path.join('stacks', 'federated-pair', 'cdk.tf.json')];
  expect(stack).toContain(`"path": "${path.join(dir, 'state', 'pair', 'federated-pair.tfstate')}"`);
  expect(stack).toContain('hashicorp/consul:1.19.2');
  expect(stack).not.toContain('envoyproxy/envoy');
}

/** The environment of a synth: the knobs given and no others, CDKTF_OUTDIR, the jsii runtime's end-of-life Node banner silenced. */
function synthEnv(outdir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of ['CONSUL_MESH_IMAGE', 'CONSUL_MESH_START_ENVOY', 'CONSUL_MESH_STATE_DIR', 'CDKTF_OUTDIR']) delete base[k];
  return { ...base, ...env, CDKTF_OUTDIR: outdir, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.versions.node.split('.')[0] };
}

export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd, env: options.env ?? process.env, timeout: 10 * 60_000, maxBuffer: 64 << 20 });
}

export function must(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const r = run(command, args, options);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every file an outdir holds (manifest, each stack's cdk.tf.json and the mode report beside it): relative path -> content. */
export function filesIn(outdir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else files[path.relative(outdir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(outdir)) walk(outdir);
  return files;
}

/**
 * A scratch directory for one language: `dist/` from scripts/package.sh
 * (that language only) and `cwd/`, the working directory every synth runs
 * in, TypeScript's too, so the local state paths cdktf writes (under the
 * working directory) are the same and the files compare byte for byte.
 */
export class Workspace {
  readonly dir: string;
  readonly dist: string;
  readonly cwd: string;
  /** The cache scripts/bindings.sh keeps the dependency bindings in. */
  readonly bindings: string;

  constructor(readonly language: 'java' | 'go') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `cmesh-${language}-`));
    this.dist = path.join(this.dir, 'dist');
    this.cwd = path.join(this.dir, 'cwd');
    fs.mkdirSync(this.cwd);
    // As `npm run package` builds it, from this build's assembly, for this language only.
    must('bash', [path.join(repo, 'scripts', 'package.sh'), '-o', this.dist, '--targets', language], { cwd: repo });
    this.bindings = must('bash', [path.join(repo, 'scripts', 'bindings.sh'), language], { cwd: repo }).trim();
  }

  /** examples/federated-pair/main.ts synthesized into `<dir>/<name>` with `env` (knobs) set; returns the outdir. */
  synthTypeScript(name: string, env: Record<string, string> = {}): string {
    const out = path.join(this.dir, name);
    must(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), path.join(example, 'main.ts')], {
      cwd: this.cwd, env: { ...synthEnv(out, env), TS_NODE_PROJECT: path.join(repo, 'tsconfig.dev.json') },
    });
    return out;
  }

  /** Runs a program of the port in the shared working directory with CDKTF_OUTDIR `<dir>/<name>` and `env` (knobs) set. */
  synth(name: string, command: string, args: string[], env: Record<string, string> = {}): { out: string; run: SpawnSyncReturns<string> } {
    const out = path.join(this.dir, name);
    return { out, run: run(command, args, { cwd: this.cwd, env: synthEnv(out, env) }) };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The Maven project examples/federated-pair/java, copied, with a settings file naming the repositories it builds from. */
export function javaProject(ws: Workspace): { pom: string; settings: string; sources: string } {
  const project = path.join(ws.dir, 'java');
  fs.cpSync(path.join(example, 'java'), project, { recursive: true, filter: (src) => path.basename(src) !== 'target' });
  const repository = (id: string, dir: string) => `<repository><id>${id}</id><url>file://${dir}</url></repository>`;
  const settings = path.join(ws.dir, 'settings.xml');
  fs.writeFileSync(settings, `<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <localRepository>${path.join(ws.bindings, 'm2')}</localRepository>
  <interactiveMode>false</interactiveMode>
  <profiles>
    <profile>
      <id>cdktf-consul-mesh</id>
      <repositories>
        ${repository(`cdktf-consul-mesh-${path.basename(ws.dir)}`, path.join(ws.dist, 'java'))}
        ${repository('local-cdktf', path.join(ws.bindings, 'node_modules', 'cdktf', 'dist', 'java'))}
        ${repository('local-cdktf-provider-consul', path.join(ws.bindings, 'node_modules', '@cdktf', 'provider-consul', 'dist', 'java'))}
        ${repository('local-cdktf-provider-docker', path.join(ws.bindings, 'node_modules', '@cdktf', 'provider-docker', 'dist', 'java'))}
      </repositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>cdktf-consul-mesh</activeProfile></activeProfiles>
</settings>
`);
  return { pom: path.join(project, 'pom.xml'), settings, sources: path.join(project, 'src', 'main', 'java') };
}

/** The Go module examples/federated-pair/go, copied, with `replace` lines for the modules no proxy serves. */
export function goModule(ws: Workspace): string {
  const module = path.join(ws.dir, 'go');
  fs.cpSync(path.join(example, 'go'), module, { recursive: true });
  const generated = (pkg: string, dir: string) => path.join(ws.bindings, 'node_modules', pkg, 'dist', 'go', dir);
  const replace = {
    'github.com/cdktf-consul-mesh/cdktf-consul-mesh-go/cdktfconsulmesh': path.join(ws.dist, 'go', 'cdktfconsulmesh'),
    'github.com/cdktf/cdktf-provider-consul-go/consul/v10': generated('@cdktf/provider-consul', 'consul'),
    'github.com/cdktf/cdktf-provider-docker-go/docker/v12': generated('@cdktf/provider-docker', 'docker'),
  };
  must('go', ['mod', 'edit', ...Object.entries(replace).map(([from, to]) => `-replace=${from}=${to}`)], { cwd: module });
  return module;
}

// Real Terraform for the suites: a synthesized stack in a directory of its
// own, driven by the open-source CLI tools/build.sh builds (OpenTofu), with
// the providers from the tools mirror and one shared plugin cache.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadToolchain, requireTool } from './tools';

export interface RunResult {
  readonly args: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** One resource or data source instance of the state, by address (`docker_container.x`, `data.consul_…`). */
export type StateValues = Map<string, Record<string, any>>;

export interface WorkspaceOptions {
  /** Values of the stack's variables, passed as TF_VAR_<name>. */
  readonly vars?: Record<string, string>;
  /** Extra environment (e.g. DOCKER_HOST for the docker provider). */
  readonly env?: Record<string, string>;
  /** Directory name prefix under the OS temp dir. */
  readonly prefix?: string;
  /** Wraps the command line, e.g. to run it in an engine's network namespace (DockerEngine.inEngineNetwork). */
  readonly wrap?: (argv: string[]) => string[];
}

/** A stack's working directory, as `cdktf deploy` would leave it in cdktf.out/stacks/<stack>. */
export class TerraformWorkspace {
  public readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly wrap: (argv: string[]) => string[];
  private initialized = false;
  private requiredProviders?: string;

  constructor(stack: string | object, options: WorkspaceOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'cmesh-tf-'));
    this.write(stack);
    this.wrap = options.wrap ?? ((argv) => argv);
    const toolchain = loadToolchain();
    requireTool('provider-consul', toolchain);
    requireTool('provider-docker', toolchain);
    this.env = {
      ...process.env,
      ...toolchain.env,
      TF_IN_AUTOMATION: '1',
      // A plugin cache shared by workspaces that init side by side is rewritten under the others (see tools/build.sh).
      TF_PLUGIN_CACHE_DIR: '',
      ...Object.fromEntries(Object.entries(options.vars ?? {}).map(([k, v]) => [`TF_VAR_${k}`, v])),
      ...options.env,
    };
  }

  /**
   * Replaces the stack (a re-synth), keeping state and providers. A stack
   * that requires other providers (or versions) is initialised again before
   * its next command: tofu refuses to plan with providers `init` did not install.
   */
  public write(stack: string | object): void {
    const text = typeof stack === 'string' ? stack : JSON.stringify(stack, null, 2);
    const providers = JSON.stringify(JSON.parse(text).terraform?.required_providers ?? {});
    if (providers !== this.requiredProviders) this.initialized = false;
    this.requiredProviders = providers;
    fs.writeFileSync(path.join(this.dir, 'cdk.tf.json'), text);
  }

  /**
   * Starts `tofu <args>` without waiting: for interrupting it. With `group`,
   * it leads a process group of its own (with its provider plugins), which
   * `process.kill(-child.pid, signal)` reaches as a whole.
   */
  public start(args: string[], options: { group?: boolean; env?: Record<string, string | undefined> } = {}): { child: ChildProcess; done: Promise<RunResult> } {
    const started = Date.now();
    const [cmd, ...argv] = this.wrap([requireTool('terraform'), ...args]);
    // `env` goes over the workspace's; a key given as undefined is unset.
    const env = Object.fromEntries(Object.entries({ ...this.env, ...options.env }).filter(([, v]) => v !== undefined));
    const child = spawn(cmd, argv, { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
    let stdout = '';
    let stderr = '';
    // CMESH_TF_TIMESTAMPS=1 prefixes each output line with the seconds since start (where an apply spends its time).
    let lineStart = true;
    const stamp = process.env.CMESH_TF_TIMESTAMPS !== '1' ? (text: string) => text : (text: string) => {
      const at = `[${((Date.now() - started) / 1000).toFixed(2).padStart(6)}] `;
      const out = (lineStart ? at : '') + text.replace(/\n(?=.)/g, `\n${at}`);
      lineStart = text.endsWith('\n');
      return out;
    };
    child.stdout!.on('data', (d) => { stdout += stamp(String(d)); });
    child.stderr!.on('data', (d) => { stderr += d; });
    const done = new Promise<RunResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ args, code, signal, stdout, stderr, ms: Date.now() - started }));
    });
    return { child, done };
  }

  /** Runs `tofu <args>` to the end, with `env` over the workspace's (see start). */
  public run(args: string[], env?: Record<string, string | undefined>): Promise<RunResult> {
    return this.start(args, { env }).done;
  }

  /** As run(), but throws with the CLI's output unless it exits 0. */
  public async must(args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`tofu ${args.join(' ')} in ${this.dir} exited ${r.code ?? r.signal}:\n${tail(r.stderr || r.stdout)}`);
    return r;
  }

  public async init(): Promise<RunResult | undefined> {
    if (this.initialized) return undefined;
    const r = await this.must(['init', '-input=false', '-no-color']);
    this.initialized = true;
    return r;
  }

  public async apply(): Promise<RunResult> {
    await this.init();
    return this.must(['apply', '-auto-approve', '-input=false', '-no-color']);
  }

  /** `plan -detailed-exitcode` (and `options`, e.g. `-refresh=false`): code 0 = no changes, 2 = changes, 1 = error. */
  public async plan(options: string[] = []): Promise<RunResult> {
    await this.init();
    return this.run(['plan', '-detailed-exitcode', '-input=false', '-no-color', ...options]);
  }

  /** Throws unless a plan (with `options`) finds nothing to change, showing what it would change. */
  public async expectNoChanges(options: string[] = []): Promise<void> {
    const r = await this.plan(options);
    if (r.code !== 0) throw new Error(`plan after apply is not empty (exit ${r.code}):\n${tail(r.stdout + r.stderr, 120)}`);
  }

  public async destroy(): Promise<RunResult> {
    await this.init();
    return this.must(['destroy', '-auto-approve', '-input=false', '-no-color']);
  }

  /** Attributes of every resource and data source in the state, by address. */
  public async state(): Promise<StateValues> {
    const r = await this.must(['show', '-json', '-no-color']);
    const values = new Map<string, Record<string, any>>();
    const json = JSON.parse(r.stdout);
    const walk = (module: any) => {
      for (const res of module?.resources ?? []) values.set(res.address, res.values);
      for (const child of module?.child_modules ?? []) walk(child);
    };
    walk(json.values?.root_module);
    return values;
  }

  /** Addresses `tofu state list` names. */
  public async stateList(): Promise<string[]> {
    const r = await this.run(['state', 'list', '-no-color']);
    return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  }

  /** Removes the working directory (after destroy). */
  public remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function tail(text: string, lines = 40): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

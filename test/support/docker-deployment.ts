// A synthesized Docker stack deployed for real: OpenTofu with the docker and
// consul providers, against the suite's own Docker engine. OpenTofu runs in
// the engine's network namespace, where the consul providers reach the
// datacenters on the ports the stack publishes on 127.0.0.1; the tests reach
// them through the engine's relays (DockerEngine.publish).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { DockerEngine } from './docker-engine';
import { RunResult, StateValues, TerraformWorkspace } from './terraform';

type Json = Record<string, any>;

export class DockerDeployment {
  public readonly workspace: TerraformWorkspace;

  constructor(private readonly engine: DockerEngine, stack: Json, vars: Record<string, string>) {
    this.workspace = new TerraformWorkspace(stack, {
      vars, env: { DOCKER_HOST: engine.host }, prefix: 'cmesh-e2e-', wrap: (argv) => engine.inEngineNetwork(argv),
    });
  }

  public apply(): Promise<RunResult> {
    return this.workspace.apply();
  }

  /** `tofu apply -target=...`: those resources and what they depend on. */
  public async applyTargets(addresses: string[]): Promise<RunResult> {
    await this.workspace.init();
    return this.workspace.must(['apply', '-auto-approve', '-input=false', '-no-color', ...addresses.map((a) => `-target=${a}`)]);
  }

  public plan(): Promise<RunResult> {
    return this.workspace.plan();
  }

  public expectNoChanges(): Promise<void> {
    return this.workspace.expectNoChanges();
  }

  public destroy(): Promise<RunResult> {
    return this.workspace.destroy();
  }

  public state(): Promise<StateValues> {
    return this.workspace.state();
  }

  /** See clearEngine(). */
  public clearEngine(): Promise<void> {
    return clearEngine(this.engine);
  }

  /** See leftoversOn(). */
  public leftovers(): Promise<string[]> {
    return leftoversOn(this.engine);
  }
}

/**
 * Every stack of an app deployed as `cdktf deploy '*'` would: in dependency
 * order, each a plain apply (destroy: the reverse). Each stack's state is a
 * local file in a work dir of its own, where the others' remote state reads it.
 */
export class AppDeployment {
  /** The stacks' deployments, in apply order. */
  public readonly stacks: { readonly name: string; readonly json: Json; readonly deployment: DockerDeployment }[];
  /** Every stack's blocks in one object (`resource`, `data`), for lookups by type and id. */
  public readonly json: Json;
  private readonly work: string;

  /**
   * Synthesizes `app` (adding a backend to each stack: a local file in a work
   * dir, unless `backend` adds another) and readies a workspace per stack;
   * `vars` go to every stack.
   */
  constructor(private readonly engine: DockerEngine, app: App, vars: Record<string, string>, options: { backend?: (stack: TerraformStack) => void } = {}) {
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-app-'));
    const ordered: TerraformStack[] = [];
    const visit = (stack: TerraformStack) => {
      if (ordered.includes(stack)) return;
      stack.dependencies.forEach(visit);
      ordered.push(stack);
    };
    app.node.children.filter((c): c is TerraformStack => c instanceof TerraformStack).forEach(visit);
    for (const stack of ordered) {
      if (options.backend) options.backend(stack);
      else new LocalBackend(stack, { path: path.join(this.work, `${stack.node.id}.tfstate`) });
    }
    app.synth();
    this.stacks = ordered.map((stack) => {
      const json = JSON.parse(fs.readFileSync(path.join(app.outdir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'));
      return { name: stack.node.id, json, deployment: new DockerDeployment(engine, json, vars) };
    });
    const merged: Json = { resource: {}, data: {} };
    for (const { json } of this.stacks) {
      for (const block of ['resource', 'data']) {
        for (const [type, byId] of Object.entries<Json>(json[block] ?? {})) merged[block][type] = { ...merged[block][type], ...byId };
      }
    }
    this.json = merged;
  }

  /** The deployment of stack `name`. */
  public of(name: string): DockerDeployment {
    const found = this.stacks.find((s) => s.name === name);
    if (!found) throw new Error(`no stack ${name} (have: ${this.stacks.map((s) => s.name).join(', ')})`);
    return found.deployment;
  }

  public async init(): Promise<void> {
    for (const { deployment } of this.stacks) await deployment.workspace.init();
  }

  /** A plain apply of every stack, in order. */
  public async apply(): Promise<RunResult[]> {
    const results: RunResult[] = [];
    for (const { deployment } of this.stacks) results.push(await deployment.apply());
    return results;
  }

  public async expectNoChanges(): Promise<void> {
    for (const { deployment } of this.stacks) await deployment.expectNoChanges();
  }

  /** Destroys every stack, the last applied first; each one's output at its place in `stacks`. */
  public async destroy(): Promise<RunResult[]> {
    const results: RunResult[] = [];
    for (let i = this.stacks.length - 1; i >= 0; i--) results[i] = await this.stacks[i].deployment.destroy();
    return results;
  }

  /** Every stack's state in one map (addresses do not collide: logical ids carry the construct path). */
  public async state(): Promise<StateValues> {
    const merged: StateValues = new Map();
    for (const { deployment } of this.stacks) for (const [address, values] of await deployment.state()) merged.set(address, values);
    return merged;
  }

  /** Whether any stack still has something in its state. */
  public async deployed(): Promise<boolean> {
    for (const { deployment } of this.stacks) if ((await deployment.workspace.stateList()).length > 0) return true;
    return false;
  }

  public clearEngine(): Promise<void> {
    return clearEngine(this.engine);
  }

  public leftovers(): Promise<string[]> {
    return leftoversOn(this.engine);
  }

  /** Removes the workspaces and the states' dir (after destroy). */
  public remove(): void {
    for (const { deployment } of this.stacks) deployment.workspace.remove();
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/**
 * Removes whatever an interrupted earlier run left on the engine (its data
 * root persists across runs): every container, volume and non-default
 * network. The engine is the suite's own; images stay.
 */
export async function clearEngine(engine: DockerEngine): Promise<void> {
  const ids = async (args: string[]) => (await engine.mustDocker(args)).split('\n').filter(Boolean);
  const containers = await ids(['ps', '-aq']);
  if (containers.length > 0) await engine.mustDocker(['rm', '-f', '-v', ...containers]);
  const volumes = await ids(['volume', 'ls', '-q']);
  if (volumes.length > 0) await engine.mustDocker(['volume', 'rm', '-f', ...volumes]);
  const networks = (await ids(['network', 'ls', '--format', '{{.Name}}'])).filter((n) => !['bridge', 'host', 'none'].includes(n));
  if (networks.length > 0) await engine.mustDocker(['network', 'rm', ...networks]);
}

/**
 * What is left on the engine besides images: its containers, volumes and
 * networks (other than Docker's own). The engine is the suite's own, so
 * after destroy every line is a leftover.
 */
export async function leftoversOn(engine: DockerEngine): Promise<string[]> {
  const lines = async (args: string[]) => (await engine.mustDocker(args)).split('\n').filter(Boolean);
  return [
    ...(await lines(['ps', '-a', '--format', 'container {{.Names}}'])),
    ...(await lines(['volume', 'ls', '--format', 'volume {{.Name}}'])),
    ...(await lines(['network', 'ls', '--format', 'network {{.Name}}'])).filter((n) => !['network bridge', 'network host', 'network none'].includes(n)),
  ];
}

/** Resource names of one type in the state (`docker_container`), for messages and counts. */
export function addressesOf(state: StateValues, type: string): string[] {
  return [...state.keys()].filter((a) => a.startsWith(`${type}.`));
}

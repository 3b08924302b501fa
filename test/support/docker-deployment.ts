// A synthesized Docker stack deployed for real: OpenTofu with the docker and
// consul providers, against the suite's own Docker engine. The consul
// providers reach the datacenters on the ports the stack publishes on
// 127.0.0.1, which the engine relays out of its network namespace.
import { DockerEngine } from './docker-engine';
import { RunResult, StateValues, TerraformWorkspace } from './terraform';

type Json = Record<string, any>;

export class DockerDeployment {
  public readonly workspace: TerraformWorkspace;
  private readonly ports: number[];

  constructor(private readonly engine: DockerEngine, stack: Json, vars: Record<string, string>) {
    this.workspace = new TerraformWorkspace(stack, { vars, env: { DOCKER_HOST: engine.host }, prefix: 'cmesh-e2e-' });
    this.ports = publishedPorts(stack);
  }

  /** Relays the ports the stack publishes to the host, where the consul providers reach them. */
  public async publishPorts(): Promise<void> {
    for (const port of this.ports) await this.engine.publish(port);
  }

  /** `tofu apply`, once the published ports are relayed to the host. */
  public async apply(): Promise<RunResult> {
    await this.publishPorts();
    return this.workspace.apply();
  }

  /** `tofu apply -target=...`: those resources and what they depend on. */
  public async applyTargets(addresses: string[]): Promise<RunResult> {
    await this.publishPorts();
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

/** Host ports the stack's containers publish on 127.0.0.1. */
function publishedPorts(stack: Json): number[] {
  return Object.values<Json>(stack.resource?.docker_container ?? {})
    .flatMap((c) => c.ports ?? [])
    .filter((p: Json) => p.ip === '127.0.0.1' && typeof p.external === 'number')
    .map((p: Json) => p.external as number);
}

/** Resource names of one type in the state (`docker_container`), for messages and counts. */
export function addressesOf(state: StateValues, type: string): string[] {
  return [...state.keys()].filter((a) => a.startsWith(`${type}.`));
}

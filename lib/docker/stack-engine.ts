import { TerraformStack } from '../internal/tf';
import { Construct, IConstruct } from 'constructs';
import { validationMessage } from '../internal/errors';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { Container, ContainerConfig, DockerProvider, Image, Network } from '../internal/providers';

const RUNTIME_ID = 'ConsulMeshDocker';

/**
 * Labels on every container and network the library creates: its stack and
 * its Terraform address. After a killed apply (whose state never recorded
 * them) they say which objects are the stack's own to adopt by import, and
 * which are someone else's (scripts/adopt.ts). Volumes need none: creating
 * one that exists takes it over.
 */
export const OWNER_LABELS = { stack: 'cdktf-consul-mesh.stack', address: 'cdktf-consul-mesh.address' } as const;
/** The Docker network datacenters on one engine share (WAN gossip, mesh gateways' WAN side). */
export const WAN_NETWORK = 'consul-mesh-wan';

/** A /24 network of the project's own, handing out fixed addresses in order. */
export class AddressPool {
  private next: number;
  constructor(public readonly subnet: string, first: number) {
    this.next = first;
  }

  public allocate(): string {
    if (this.next > 254) throw new Error(`subnet ${this.subnet} has no free address left`);
    return `${this.prefix}.${this.next++}`;
  }

  public get prefix(): string {
    return this.subnet.split('.').slice(0, 3).join('.');
  }
}

export interface PublishedPorts {
  readonly owner: IConstruct;
  /** Read when the stack is validated: gateways gain listeners after construction. */
  readonly ports: () => number[];
  /** How the owner gets another port. */
  readonly fix: string;
}

/** Per app: the runtimes that use the default Docker engine, in creation order. */
const DEFAULT_ENGINE = new WeakMap<IConstruct, StackEngine[]>();

/**
 * One per stack and Docker engine (provider): the provider, the image
 * resources (one per name) and the WAN network every datacenter on the
 * engine shares. Also the registry of host ports and subnets, so collisions
 * between datacenters are caught.
 * @internal
 */
export class StackEngine extends Construct implements IFinalizable {
  public static of(scope: IConstruct, provider?: DockerProvider): StackEngine {
    const stack = TerraformStack.of(scope);
    const runtimes = stack.node.children.filter((c): c is StackEngine => c instanceof StackEngine);
    const existing = runtimes.find((r) => r.givenProvider === provider);
    // The stack's first engine keeps the plain id, so its resources' addresses do not change when a second engine arrives.
    return existing ?? new StackEngine(stack, runtimes.length === 0 ? RUNTIME_ID : `${RUNTIME_ID}${runtimes.length + 1}`, provider);
  }

  public readonly provider: DockerProvider;
  public readonly wanPool = new AddressPool('10.249.0.0/24', 10);
  private _wan?: Network;
  private readonly images = new Map<string, Image>();
  private readonly ports: PublishedPorts[] = [];
  private readonly subnets: { owner: IConstruct; subnet: string }[] = [];
  private lanCount = 0;

  private constructor(scope: Construct, id: string, private readonly givenProvider?: DockerProvider) {
    super(scope, id);
    this.provider = givenProvider === undefined ? new DockerProvider(this, 'Provider', { alias: 'consul_mesh_docker' })
      : TerraformStack.of(givenProvider) === TerraformStack.of(this) ? givenProvider : mirrorProvider(this, givenProvider);
    if (!givenProvider) {
      const onDefaultEngine = DEFAULT_ENGINE.get(this.node.root) ?? [];
      DEFAULT_ENGINE.set(this.node.root, [...onDefaultEngine, this]);
    }
    FinalizePass.of(this).add(this);
  }

  /**
   * Labels each container and network of this engine in the stack with its
   * owner (OWNER_LABELS), once their addresses are final, keeping labels of
   * their own.
   * @internal
   */
  public _finalize(): void {
    const stack = TerraformStack.of(this);
    const owned = Object.values(OWNER_LABELS) as string[];
    for (const c of stack.node.findAll()) {
      if (!(c instanceof Container || c instanceof Network) || c.provider !== this.provider) continue;
      const own = (c.labelsInput as { label: string; value: string }[] | undefined ?? []).filter((l) => !owned.includes(l.label));
      c.putLabels([...own,
        { label: OWNER_LABELS.stack, value: stack.node.id },
        { label: OWNER_LABELS.address, value: `${c.terraformResourceType}.${c.friendlyUniqueId}` }]);
    }
  }

  /** The network WAN gossip and mesh gateways' WAN addresses live on. */
  public get wan(): Network {
    this._wan ??= this.network(this, 'Wan', WAN_NETWORK, this.wanPool.subnet);
    return this._wan;
  }

  public network(scope: Construct, id: string, name: string, subnet: string): Network {
    return new Network(scope, id, {
      provider: this.provider,
      name,
      ipamConfig: [{ subnet }],
    });
  }

  public image(name: string): Image {
    let image = this.images.get(name);
    if (!image) {
      image = new Image(this, `Image${this.images.size}`, {
        provider: this.provider,
        name,
        // A locally built image must never be pulled or deleted by destroy.
        keepLocally: true,
      });
      this.images.set(name, image);
    }
    return image;
  }

  /**
   * A container that runs to completion during apply (registration, tokens,
   * certificates). The docker provider only records `exit_code`, so a
   * postcondition makes a failed step fail the apply instead of passing silently.
   */
  public oneShot(scope: Construct, id: string, config: Omit<ContainerConfig, 'provider' | 'attach' | 'mustRun' | 'lifecycle'>): Container {
    return new Container(scope, id, {
      ...config,
      provider: this.provider,
      attach: true,
      mustRun: false,
      lifecycle: {
        postcondition: [{
          condition: '${self.exit_code == 0}',
          errorMessage: `${config.name} exited non-zero: see \`docker logs ${config.name}\`.`,
        }],
      },
    });
  }

  /** The next default LAN subnet: 10.249.1.0/24, 10.249.2.0/24, ... */
  public nextLanSubnet(): string {
    this.lanCount += 1;
    return `10.249.${this.lanCount}.0/24`;
  }

  /** Host ports published on 127.0.0.1, checked for collisions across the stack. */
  /** Records ports `owner` publishes; a clash is reported on `owner`, the later of the two. */
  public registerPorts(owner: IConstruct, ports: () => number[], fix: string): void {
    const entry = { owner, ports, fix };
    this.ports.push(entry);
    owner.node.addValidation({ validate: () => this.portClashes(entry) });
  }

  /** Records a datacenter's subnet; a clash is reported on `owner`, the later of the two. */
  public registerSubnet(owner: IConstruct, subnet: string): void {
    const entry = { owner, subnet };
    this.subnets.push(entry);
    owner.node.addValidation({ validate: () => this.subnetClashes(entry) });
  }

  // Reported on the user's construct, never on this one: it is no construct of theirs.
  private portClashes(entry: PublishedPorts): string[] {
    const earlier = this.ports.slice(0, this.ports.indexOf(entry));
    return entry.ports().flatMap((port) => {
      const first = earlier.find((e) => e.ports().includes(port));
      return first ? [validationMessage(`${entry.owner.node.path} and ${first.owner.node.path} publish the same host port`, port, entry.fix)] : [];
    });
  }

  private subnetClashes(entry: { owner: IConstruct; subnet: string }): string[] {
    // Another stack of the app on the same (default) engine: same network names and subnets. Said once, on this stack's first datacenter.
    const onEngine = DEFAULT_ENGINE.get(this.node.root) ?? [];
    const earlier = onEngine.slice(0, onEngine.indexOf(this)).find((r) => r.subnets.length > 0);
    if (earlier && this.subnets[0] === entry) {
      return [validationMessage(`its stack and the stack of ${earlier.subnets[0].owner.node.path} both run Docker datacenters on the default Docker engine, `
        + 'where both would create the same subnets (and the network consul-mesh-wan)', TerraformStack.of(this).node.id,
      'Declare these datacenters in one stack, or give one stack\'s datacenters a dockerProvider for another engine.')];
    }
    if (entry.subnet === this.wanPool.subnet) {
      return [validationMessage(`${entry.subnet} is reserved for the network shared between datacenters (WAN gossip, mesh gateways)`,
        entry.subnet, 'Give the datacenter another lanSubnet, e.g. "10.249.9.0/24".')];
    }
    const first = this.subnets.slice(0, this.subnets.indexOf(entry)).find((e) => e.subnet === entry.subnet);
    return first ? [validationMessage(`${entry.owner.node.path} and ${first.owner.node.path} use the same subnet`, entry.subnet,
      'Give each datacenter its own lanSubnet.')] : [];
  }
}

/**
 * The same engine, declared in another stack: a provider belongs to one stack,
 * and a datacenter whose servers are in a stack of their own uses the engine
 * from both.
 */
function mirrorProvider(scope: Construct, given: DockerProvider): DockerProvider {
  return new DockerProvider(scope, 'Provider', {
    alias: 'consul_mesh_docker',
    host: given.host,
    context: given.context,
    caMaterial: given.caMaterial,
    certMaterial: given.certMaterial,
    keyMaterial: given.keyMaterial,
    certPath: given.certPath,
    sshOpts: given.sshOpts,
    disableDockerDaemonCheck: given.disableDockerDaemonCheck,
    registryAuth: given.registryAuth,
  });
}

/** A shell loop that runs `check` every 0.5 s until it succeeds, failing with `failure` after `seconds`. */
export function pollUntil(check: string, failure: string, seconds: number): string {
  return `n=0; until ${check}; do n=$((n+1)); if [ $n -ge ${seconds * 2} ]; then echo "${failure} within ${seconds} s" >&2; exit 1; fi; sleep 0.5; done`;
}

import { Construct, IConstruct } from 'constructs';
import { CONSUL_PORTS } from '../internal/agent-config';
import { invalidInput, validationMessage } from '../internal/errors';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { Container, ContainerConfig, DockerProvider, Image, Network, Volume } from '../internal/providers';
import { TerraformStack, Token } from '../internal/tf';

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

/** The most servers a datacenter may have (DockerDatacenterProps.servers): the size of its block of WAN addresses. */
const MAX_SERVERS = 7;
/** Where the servers' blocks of WAN addresses start on the shared network. */
const WAN_SERVERS_FROM = 128;

/** A /24 network of the project's own, handing out fixed addresses in order. */
export class AddressPool {
  private next: number;
  constructor(public readonly subnet: string, first: number, private readonly last = 254) {
    this.next = first;
  }

  public allocate(): string {
    if (this.next > this.last) throw new Error(`subnet ${this.subnet} has no free address left (up to .${this.last})`);
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

/** Per app: every stack's engines, in creation order. Clashes are checked between those on one engine. */
const APP_ENGINES = new WeakMap<IConstruct, StackEngine[]>();

const DEFAULT_ENGINE = 'the default Docker engine';

/**
 * Which engine a provider talks to, as far as synth can tell: no provider
 * and a provider without host or context are the default engine; a literal
 * host or context names one. A reference compares by provider (a stack's
 * servers' stack mirrors its provider, and so its engine).
 */
function engineIdentity(given?: DockerProvider): string | DockerProvider {
  const host = given?.host;
  const context = given?.context;
  if (host === undefined && context === undefined) return DEFAULT_ENGINE;
  if (context === undefined && !Token.isUnresolved(host)) return `the Docker engine at ${host}`;
  if (host === undefined && !Token.isUnresolved(context)) return `the Docker engine of context ${context}`;
  return given!;
}

/** A Docker object the engine's stack creates, by name: two with one name on one engine are one object. */
interface NamedObject {
  readonly kind: 'container' | 'network' | 'volume';
  readonly name: string;
  readonly owner: IConstruct;
}

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
  /** Gateways and peering on the shared WAN network: .10 up to the servers' blocks. */
  public readonly wanPool = new AddressPool('10.249.0.0/24', 10, WAN_SERVERS_FROM - 1);
  /** Datacenters whose servers have WAN addresses: each a block of 7 from .128, so a datacenter's size never moves another's servers. */
  private wanServerBlocks = 0;
  private _wan?: Network;
  private readonly images = new Map<string, Image>();
  private readonly ports: PublishedPorts[] = [];
  private readonly subnets: { owner: IConstruct; subnet: string }[] = [];
  /** Subtrees whose Docker objects a user's construct answers for (a datacenter's, a gateway's). */
  private readonly owners: { scope: IConstruct; owner: IConstruct }[] = [];
  private objects: NamedObject[] = [];
  private readonly identity: string | DockerProvider;
  private lanCount = 0;

  private constructor(scope: Construct, id: string, private readonly givenProvider?: DockerProvider) {
    super(scope, id);
    this.provider = givenProvider === undefined ? new DockerProvider(this, 'Provider', { alias: 'consul_mesh_docker' })
      : TerraformStack.of(givenProvider) === TerraformStack.of(this) ? givenProvider : mirrorProvider(this, givenProvider);
    this.identity = engineIdentity(givenProvider);
    APP_ENGINES.set(this.node.root, [...APP_ENGINES.get(this.node.root) ?? [], this]);
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
    this.objects = [];
    for (const c of stack.node.findAll()) {
      if (!(c instanceof Container || c instanceof Network || c instanceof Volume) || c.provider !== this.provider) continue;
      // The name as given (`name` itself reads the attribute back, a reference).
      const name = c.nameInput;
      if (name !== undefined && !Token.isUnresolved(name)) {
        this.objects.push({ kind: c instanceof Container ? 'container' : c instanceof Network ? 'network' : 'volume', name, owner: this.ownerOf(c) });
      }
      if (c instanceof Volume) continue;
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

  /**
   * The WAN addresses of the next datacenter's servers (`index` → address):
   * fixed by the datacenter's place and the server's index, so adding or
   * removing servers in one datacenter changes no other server's address.
   */
  public wanServerBlock(owner: IConstruct): (index: number) => string {
    const block = this.wanServerBlocks++;
    const blocks = Math.floor((255 - WAN_SERVERS_FROM) / MAX_SERVERS);
    if (block >= blocks) {
      throw invalidInput(owner, `a Docker engine's shared WAN network holds the servers of at most ${blocks} WAN-gossip datacenters per stack`, block + 1,
        'Give the others a Docker engine of their own (dockerProvider), or federate through host addresses (hostAddress).');
    }
    return (index) => `${this.wanPool.prefix}.${WAN_SERVERS_FROM + MAX_SERVERS * block + index}`;
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
   *
   * `joins` runs it in a running container's network namespace (a server's)
   * instead of on a network: Docker then sets up no endpoint, address or DNS
   * resolver for it, about two thirds of a one-shot's start (0.33 s and 0.3
   * CPU-seconds on a network, 0.12 s and 0.12 in a namespace, measured on 2
   * cores). The server's own addresses still reach it, and its LAN too. Only
   * for one-shots that start once that container's upgrade steps are done (in
   * the same apply, or a stack applied before): a server that restarts while a
   * one-shot runs takes the namespace's network with it. Docker records the
   * container's ID, not its name: changes to the mode are ignored, so a later
   * server container replaces no one-shot, and one-shots created on a network
   * (before this option) are kept as they are.
   */
  public oneShot(scope: Construct, id: string, config: Omit<ContainerConfig, 'provider' | 'attach' | 'mustRun' | 'lifecycle' | 'logs' | 'tty' | 'networkMode'>,
    options: { readonly showLogs?: boolean; readonly replaceTriggeredBy?: string[]; readonly joins?: string } = {}): Container {
    if (options.joins !== undefined && config.networksAdvanced !== undefined) throw new Error(`${config.name}: a one-shot joins a container's network namespace or networks, not both`);
    return new Container(scope, id, {
      ...config,
      ...(options.joins !== undefined ? { networkMode: `container:${options.joins}` } : {}),
      provider: this.provider,
      attach: true,
      mustRun: false,
      // Its output in the error itself (a terminal, so not multiplexed): for steps whose output says what to do and holds no secret.
      ...(options.showLogs ? { logs: true, tty: true } : {}),
      lifecycle: {
        postcondition: [{
          condition: '${self.exit_code == 0}',
          errorMessage: options.showLogs
            ? `${config.name} exited non-zero:\n\${self.container_logs == null ? "(see docker logs ${config.name})" : trimspace(self.container_logs)}`
            : `${config.name} exited non-zero: see \`docker logs ${config.name}\`.`,
        }],
        ...(options.replaceTriggeredBy ? { replaceTriggeredBy: options.replaceTriggeredBy } : {}),
        ...(options.joins !== undefined ? { ignoreChanges: ['network_mode', 'networks_advanced'] } : {}),
      },
    });
  }

  /** The next default LAN subnet: 10.249.1.0/24, 10.249.2.0/24, ... */
  public nextLanSubnet(): string {
    this.lanCount += 1;
    return `10.249.${this.lanCount}.0/24`;
  }

  /**
   * Records ports `owner` publishes on the host's loopback; a clash on the
   * engine, in any stack of the app, is reported on `owner`, the later of the two.
   */
  public registerPorts(owner: IConstruct, ports: () => number[], fix: string): void {
    const entry = { owner, ports, fix };
    this.ports.push(entry);
    owner.node.addValidation({ validate: () => this.portClashes(entry) });
  }

  /** Records a datacenter's subnet; a clash on the engine, in any stack of the app, is reported on `owner`, the later of the two. */
  public registerSubnet(owner: IConstruct, subnet: string): void {
    const entry = { owner, subnet };
    this.subnets.push(entry);
    owner.node.addValidation({ validate: () => this.subnetClashes(entry) });
  }

  /**
   * Makes `owner` answer for the Docker objects under `scope`: a name one
   * of them shares with another object on the engine is reported on it.
   * Objects under no owner's scope (the shared WAN network) are the first owner's.
   */
  public registerOwner(owner: IConstruct, scope: IConstruct = owner): void {
    if (!this.owners.some((o) => o.owner === owner)) owner.node.addValidation({ validate: () => this.nameClashes(owner) });
    this.owners.push({ scope, owner });
  }

  /** This stack's engines and other stacks' on the same engine, in creation order, up to this one. */
  private enginesUpToThis(): StackEngine[] {
    const all = (APP_ENGINES.get(this.node.root) ?? []).filter((e) => e.identity === this.identity);
    return all.slice(0, all.indexOf(this) + 1);
  }

  /** Where another construct is: in this stack, its path; in another, its path and stack too. */
  private where(other: IConstruct): string {
    const stack = TerraformStack.of(other);
    return stack === TerraformStack.of(this) ? other.node.path
      : `${other.node.path} (stack ${stack.node.id}, on ${typeof this.identity === 'string' ? this.identity : 'the same Docker engine'})`;
  }

  /** Items of the engines before this one on the engine, then this one's before `item`. */
  private earlier<T>(item: T, list: (engine: StackEngine) => T[]): T[] {
    return this.enginesUpToThis().flatMap((e) => e === this ? list(e).slice(0, list(e).indexOf(item)) : list(e));
  }

  // Reported on the user's construct, never on this one: it is no construct of theirs.
  private portClashes(entry: PublishedPorts): string[] {
    // A datacenter whose servers are in a stack of their own registers its API port in both stacks' engines.
    const earlier = this.earlier(entry, (e) => e.ports).filter((e) => e.owner !== entry.owner);
    return entry.ports().flatMap((port) => {
      const first = earlier.find((e) => e.ports().includes(port));
      return first ? [validationMessage(`${entry.owner.node.path} and ${this.where(first.owner)} publish the same host port`, port, entry.fix)] : [];
    });
  }

  private subnetClashes(entry: { owner: IConstruct; subnet: string }): string[] {
    if (entry.subnet === this.wanPool.subnet) {
      return [validationMessage(`${entry.subnet} is reserved for the network shared between datacenters (WAN gossip, mesh gateways)`,
        entry.subnet, 'Give the datacenter another lanSubnet, e.g. "10.249.9.0/24".')];
    }
    const first = this.earlier(entry, (e) => e.subnets).find((e) => e.subnet === entry.subnet);
    return first ? [validationMessage(`${entry.owner.node.path} and ${this.where(first.owner)} use the same subnet`, entry.subnet,
      TerraformStack.of(first.owner) === TerraformStack.of(this) ? 'Give each datacenter its own lanSubnet.'
        : 'Give each datacenter on one Docker engine its own lanSubnet (each stack numbers its defaults from 10.249.1.0/24), or give one a dockerProvider for another engine.')] : [];
  }

  /** Docker objects of `owner` whose name another object on the engine has (the earlier-created reports nothing). */
  private nameClashes(owner: IConstruct): string[] {
    const onOtherStacks = this.enginesUpToThis().filter((e) => e !== this).flatMap((e) => e.objects);
    for (const [i, object] of this.objects.entries()) {
      if (object.owner !== owner) continue;
      const first = [...onOtherStacks, ...this.objects.slice(0, i)].find((o) => o.name === object.name && o.kind === object.kind && o.owner !== owner);
      if (!first) continue;
      // One name taken says enough: the owner's other objects are named alike.
      return [validationMessage(`Docker ${object.kind} "${object.name}" of ${owner.node.path} is also created by ${this.where(first.owner)}`, object.name,
        object.name === WAN_NETWORK
          ? 'Declare the datacenters that share this engine in one stack, or give one stack\'s datacenters a dockerProvider for another engine.'
          : 'Give one of them another name or namePrefix (Docker objects are named <namePrefix>-<datacenter>-...), or a dockerProvider for another engine.')];
    }
    return [];
  }

  /** The user's construct answering for `resource`: the owner of the innermost registered scope holding it. */
  private ownerOf(resource: IConstruct): IConstruct {
    let best: { depth: number; owner: IConstruct } | undefined;
    for (const { scope, owner } of this.owners) {
      const depth = scope.node.scopes.length;
      if ((best === undefined || depth > best.depth) && resource.node.scopes.includes(scope)) best = { depth, owner };
    }
    return best?.owner ?? this.owners[0]?.owner ?? this;
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

/** The environment a one-shot's `consul` CLI talks to the server at `address` (its HTTP port) with, as `token`. */
export function consulCliEnv(address: string, token: string): string[] {
  return [`CONSUL_HTTP_ADDR=http://${address}:${CONSUL_PORTS.http}`, `CONSUL_HTTP_TOKEN=${token}`];
}

/**
 * A shell loop that runs `check` every `every` seconds until it succeeds,
 * failing with `failure` after `seconds`. A wait on a deploy's critical path
 * whose check is a cheap read (busybox `wget`, not the `consul` CLI, a Go
 * binary of ~30 ms CPU a start) polls every 0.1 s: at 0.5 s, a leader elected
 * or a replication begun was seen 0.25 s late on average, at each of the
 * chain's waits.
 */
export function pollUntil(check: string, failure: string, seconds: number, every: number = 0.5): string {
  return `n=0; until ${check}; do n=$((n+1)); if [ $n -ge ${Math.ceil(seconds / every)} ]; then echo "${failure} within ${seconds} s" >&2; exit 1; fi; sleep ${every}; done`;
}

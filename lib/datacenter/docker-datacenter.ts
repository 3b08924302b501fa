import { Construct } from 'constructs';
import { checkConsulVersion, ConsulVersion } from './consul-version';
import { claimProviderAlias, gatewaysOf, providerAlias } from './datacenter';
import { LogLevel } from './log-level';
import { DatacenterBase } from './datacenter-base';
import { FederationLink, FederationPrimary, federationLinkOf } from './docker/federation-link';
import { placeOnDocker } from './docker/gateway-process';
import { AddressPool, DockerRuntime } from './docker/runtime';
import { ConsulServer } from './docker/server';
import { CONSUL_PORTS } from '../internal/agent-config';
import { addDependencies } from '../internal/dependencies';
import { portText } from '../internal/plan-checks';
import { invalidInput, validationMessage } from '../internal/errors';
import { ConsulProvider, DockerProvider, Network } from '../internal/providers';
import { gossipKeyVariable, requireReference, secretFormatPreconditions, tokenVariable } from '../internal/secrets';
import { IFinalizable, StackIndex } from '../internal/stack-index';
import { ITerraformDependable } from '../internal/tf';
import { checkDatacenterName, checkImage, checkLogLevel, checkNamePrefix, checkPort } from '../internal/validation';

/** What describes one datacenter, alone or as part of a federation. */
export interface DatacenterOptions {
  /** Datacenter name: lowercase letters, digits and dashes. */
  readonly name: string;

  /**
   * Number of Consul servers. Raft needs an odd number to keep a majority.
   * @default 1
   */
  readonly servers?: number;

  /**
   * Host port (on 127.0.0.1) the first server's HTTP API is published on;
   * the datacenter's `consul` provider talks to it.
   * @default 8500 (in a federation: 8500, 8501, ... in declaration order)
   */
  readonly httpPort?: number;

  /**
   * The datacenter's own Docker network, a /24.
   * @default - 10.249.1.0/24, 10.249.2.0/24, ... in declaration order
   */
  readonly lanSubnet?: string;

  /**
   * Enable Connect (service mesh) on the servers. Gateways need it.
   * @default true
   */
  readonly connect?: boolean;

  /**
   * The primary datacenter this one expects. Only a check in a federation,
   * where the federation's primary decides.
   * @default - this datacenter (alone) or the federation's primary
   */
  readonly primaryDatacenter?: string;

  /**
   * Replicate ACLs from the primary (secondaries only). Mesh-gateway
   * federation cannot work without it.
   * @default true
   */
  readonly aclReplication?: boolean;

  /**
   * Consul image for servers and gateway registration.
   * @default DockerDatacenter.DEFAULT_IMAGE (or the federation's image)
   */
  readonly image?: string;

  /**
   * The Consul version the image runs, which decides what the library renders
   * (see `ConsulVersion`).
   * @default - the version the image's tag names; for a tag that names none
   * (e.g. `latest`), the default image's version
   */
  readonly consulVersion?: ConsulVersion;

  /**
   * Whether workloads here can reach other datacenters' workloads without
   * gateways.
   * @default false (each datacenter's workloads sit on their own Docker network)
   */
  readonly directlyRoutable?: boolean;

  /**
   * Consul agent log level.
   * @default LogLevel.INFO
   */
  readonly logLevel?: LogLevel;
}

/** @internal */
export const DATACENTER_OPTIONS: Record<keyof DatacenterOptions, true> = {
  name: true, servers: true, httpPort: true, lanSubnet: true, connect: true, primaryDatacenter: true,
  aclReplication: true, image: true, consulVersion: true, directlyRoutable: true, logLevel: true,
};

/** A datacenter run as Docker containers. */
export interface DockerDatacenterProps extends DatacenterOptions {
  /**
   * The initial management token, as a reference (never a literal).
   * @default - a sensitive variable `<id>_management_token`
   */
  readonly managementToken?: string;

  /**
   * The gossip encryption key, as a reference (never a literal).
   * @default - a sensitive variable `<id>_gossip_key`
   */
  readonly gossipKey?: string;

  /**
   * Docker provider to create containers with.
   * @default - one provider for the stack, talking to the local engine
   */
  readonly dockerProvider?: DockerProvider;

  /**
   * Prefix for Docker container, network and volume names.
   * @default "consul"
   */
  readonly namePrefix?: string;
}

/**
 * A Consul datacenter on Docker: a network, N servers with data volumes and
 * an uploaded agent configuration, ACLs default-deny, and a health check that
 * makes Terraform wait for a leader (and, in a secondary, ACL replication)
 * instead of sleeping.
 */
export class DockerDatacenter extends DatacenterBase implements FederationPrimary, IFinalizable {
  /** The Consul image users pull by default; override it where no registry is reachable. */
  public static readonly DEFAULT_IMAGE = 'hashicorp/consul:1.19.2';

  public readonly name: string;
  public readonly primaryDatacenter: string;
  /** Its primary's name: Docker datacenters of one stack have distinct names already (networks, containers). */
  public readonly cluster: string;
  public readonly provider: ConsulProvider;
  public readonly globalProvider: ConsulProvider;
  public readonly connectEnabled: boolean;
  public readonly consulVersion: ConsulVersion;
  public readonly directlyRoutable: boolean;
  /** Number of Consul servers. */
  public readonly serverCount: number;
  /** Host port of the HTTP API on 127.0.0.1. */
  public readonly httpPort: number;
  /** The datacenter's /24. */
  public readonly lanSubnet: string;
  /** Consul image of servers and gateway registration. */
  public readonly image: string;
  /** The datacenter's Docker network. */
  public readonly network: Network;

  private readonly runtime: DockerRuntime;
  private readonly link: FederationLink;
  private readonly servers: ConsulServer[] = [];
  private readonly gossipKey: string;
  private readonly managementToken: string;
  private readonly logLevel: string;

  constructor(scope: Construct, id: string, props: DockerDatacenterProps) {
    super(scope, id);
    const federation = federationLinkOf(props);
    this.link = federation ?? { wanGossip: false, meshGatewayFederation: false };

    checkDatacenterName(this, props.name);
    if (!federation && props.primaryDatacenter !== undefined && props.primaryDatacenter !== props.name) {
      throw invalidInput(this, `a datacenter on its own is its own primary: naming "${props.primaryDatacenter}" would start it without an initial management token, and every ACL write would fail`,
        props.primaryDatacenter, 'Remove primaryDatacenter, or declare both datacenters in one ConsulFederation.');
    }
    this.name = props.name;
    this.primaryDatacenter = this.link.primary?.name ?? props.primaryDatacenter ?? props.name;
    this.cluster = this.primaryDatacenter;
    this.connectEnabled = props.connect ?? true;
    this.directlyRoutable = props.directlyRoutable ?? false;
    this.serverCount = checkServers(this, props.servers ?? 1);
    this.httpPort = checkPort(this, 'httpPort', props.httpPort ?? CONSUL_PORTS.http, true);
    this.image = checkImage(this, 'image', props.image ?? DockerDatacenter.DEFAULT_IMAGE);
    this.consulVersion = checkConsulVersion(this,
      props.consulVersion ?? ConsulVersion.fromImage(this.image) ?? ConsulVersion.fromImage(DockerDatacenter.DEFAULT_IMAGE)!);
    const prefix = checkNamePrefix(this, props.namePrefix ?? 'consul');
    this.logLevel = checkLogLevel(this, props.logLevel ?? LogLevel.INFO);

    this.runtime = DockerRuntime.of(this, props.dockerProvider);
    this.lanSubnet = checkSubnet(this, props.lanSubnet ?? this.runtime.nextLanSubnet());
    this.runtime.registerSubnet(this, this.lanSubnet);
    this.runtime.registerPorts(this, () => [this.httpPort], 'Give each datacenter its own httpPort.');
    const lanPool = new AddressPool(this.lanSubnet, 10);

    this.managementToken = props.managementToken !== undefined
      ? requireReference(this, 'managementToken', props.managementToken)
      : tokenVariable(this, 'management_token', `Initial management token of Consul datacenter ${this.name}`).stringValue;
    this.gossipKey = props.gossipKey !== undefined
      ? requireReference(this, 'gossipKey', props.gossipKey)
      : gossipKeyVariable(this, 'gossip_key').stringValue;
    const secretChecks = secretFormatPreconditions(this, { managementToken: this.managementToken, gossipKey: this.gossipKey });

    this.network = this.runtime.network(this, 'Lan', `${prefix}-${this.name}`, this.lanSubnet);
    const api = { address: `127.0.0.1:${portText(this.httpPort)}`, scheme: 'http', token: this.managementToken };
    claimProviderAlias(this, 'Rename one: Docker datacenters of a stack need distinct names (their containers and networks are named after them).');
    this.provider = new ConsulProvider(this, 'Provider', { ...api, alias: providerAlias(this), datacenter: this.name });
    this.globalProvider = this._createGlobalProvider(this.provider, api);

    for (let index = 0; index < this.serverCount; index++) {
      this.servers.push(new ConsulServer(this, `Server${index}`, {
        runtime: this.runtime,
        datacenter: this.name,
        index,
        prefix,
        image: this.image,
        network: this.network,
        lanAddress: lanPool.allocate(),
        wanAddress: this.link.wanGossip ? this.runtime.wanPool.allocate() : undefined,
        ca: this.link.meshGatewayFederation ? this.link.ca : undefined,
        httpPort: index === 0 ? this.httpPort : undefined,
        waitForReplication: this.link.replicationToken !== undefined,
        managementToken: this.managementToken,
        globalProvider: this.globalProvider,
        preconditions: index === 0 ? secretChecks : [],
      }));
    }
    placeOnDocker(this, {
      runtime: this.runtime,
      datacenterName: this.name,
      prefix,
      network: this.network,
      lanPool,
      image: this.image,
      serverAddress: this.servers[0].lanAddress,
      readiness: this.readiness,
      meshGatewayFederation: this.link.meshGatewayFederation,
    });
    StackIndex.of(this).finalizeLater(this);
    this.node.addValidation({ validate: () => this.checkFederationNeeds() });
  }

  /** The containers Terraform waits on (healthy = leader elected, ACLs replicating). */
  public get readiness(): ITerraformDependable[] {
    return this.servers.map((s) => s.container);
  }

  /** WAN addresses of this datacenter's mesh gateways (what secondaries dial as `primary_gateways`). */
  public get meshGatewayWanAddresses(): string[] {
    return gatewaysOf(this, 'mesh').flatMap((g) => g.wanAddresses);
  }

  /** @internal */
  public get _meshGatewayRegistrations(): ITerraformDependable[] {
    return gatewaysOf(this, 'mesh').flatMap((g) => g.registrations);
  }

  /** @internal */
  public get _serverWanAddresses(): string[] {
    return this.servers.map((s) => s.wanAddress!);
  }

  /**
   * Puts every server on the shared network (if not there already) and
   * returns the addresses another cluster's servers dial for direct peering:
   * the gRPC TLS port, which Consul prefers for peering.
   * @internal
   */
  public _directPeeringAddresses(): string[] {
    return this.servers.map((s) => `${s.joinSharedNetwork(this.runtime.wanPool)}:${CONSUL_PORTS.grpc_tls}`);
  }

  /**
   * Renders the servers' configuration, which names the primary's mesh
   * gateways (added anywhere in the stack), and in mesh-gateway federation
   * starts a secondary's servers only once those gateways are registered.
   * @internal
   */
  public _finalize(): void {
    const primary = this.link.primary;
    for (const server of this.servers) {
      server.configure({
        datacenter: this.name,
        primaryDatacenter: this.primaryDatacenter,
        bootstrapExpect: this.serverCount,
        retryJoin: this.servers.filter((s) => s !== server).map((s) => s.lanAddress),
        retryJoinWan: primary && this.link.wanGossip ? primary._serverWanAddresses : [],
        primaryGateways: primary && this.link.meshGatewayFederation ? primary.meshGatewayWanAddresses : [],
        meshGatewayFederation: this.link.meshGatewayFederation,
        connect: this.connectEnabled,
        gossipKey: this.gossipKey,
        managementToken: this.managementToken,
        replicationToken: this.link.replicationToken,
        logLevel: this.logLevel,
      });
      // Secondaries dial the primary's gateways: start them only once those are registered.
      if (primary && this.link.meshGatewayFederation) addDependencies(server.container, primary._meshGatewayRegistrations);
    }
  }

  private checkFederationNeeds(): string[] {
    if (!this.link.meshGatewayFederation) return [];
    const gateways = gatewaysOf(this, 'mesh');
    if (gateways.length === 0) {
      return [`mesh-gateway federation needs a mesh gateway in every datacenter (got: none in "${this.name}"). Call addMeshGateway() on it.`];
    }
    if (!gateways.some((g) => g.exposesServers)) {
      // Other datacenters' servers reach these ones only through a gateway registered with -expose-servers.
      return [validationMessage(`mesh-gateway federation needs a mesh gateway that exposes the servers of "${this.name}", and none does`,
        false, 'Remove exposeServers: false from its mesh gateway (servers are exposed by default in this federation method).')];
    }
    return [];
  }
}

function checkServers(scope: Construct, servers: number): number {
  if (![1, 3, 5, 7].includes(servers)) {
    throw invalidInput(scope, 'servers must be an odd number from 1 to 7 so Raft keeps a majority', servers,
      'Use 1 (no fault tolerance), 3 (tolerates one failure) or 5 (tolerates two).');
  }
  return servers;
}

function checkSubnet(scope: Construct, subnet: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) {
    throw invalidInput(scope, 'lanSubnet must be an IPv4 /24 ending in .0', subnet, 'Use e.g. "10.249.7.0/24".');
  }
  return subnet;
}

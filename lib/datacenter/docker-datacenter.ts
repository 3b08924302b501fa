import { Annotations, dependable, ITerraformDependable, Lazy } from '../internal/tf';
import { Construct, IConstruct } from 'constructs';
import { checkConsulVersion, ConsulVersion } from './consul-version';
import { claimProviderAlias, DatacenterBase, providerAlias } from './datacenter';
import { CONFIG_DIR, CONSUL_PORTS, DATA_DIR, renderServerConfig, TLS_DIR } from '../internal/agent-config';
import { dependsOnAll } from '../internal/dependencies';
import { invalidInput, validationMessage } from '../internal/errors';
import { FederationLink } from '../internal/federation-link';
import { GatewayHost, GatewayInstance, GatewayProcessSpec } from '../internal/gateway-host';
import { beforeSynth } from '../internal/cluster';
import { AddressPool, DockerRuntime } from '../internal/docker-runtime';
import { AclToken, ConsulProvider, Container, DataConsulAclTokenSecretId, DockerProvider, Network, Volume } from '../internal/providers';
import { gossipKeyVariable, requireReference, secretFormatPreconditions, tokenVariable } from '../internal/secrets';
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
   * (see {@link ConsulVersion}).
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
   * @default "INFO"
   */
  readonly logLevel?: string;
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

interface Server {
  readonly node: string;
  readonly lanAddress: string;
  /** On the shared network: for WAN gossip, or for direct peering. */
  wanAddress?: string;
  readonly container: Container;
}

/**
 * A Consul datacenter on Docker: a network, N servers with data volumes and
 * an uploaded agent configuration, ACLs default-deny, and a health check that
 * makes Terraform wait for a leader (and, in a secondary, ACL replication)
 * instead of sleeping.
 */
export class DockerDatacenter extends DatacenterBase implements GatewayHost {
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
  private readonly lanPool: AddressPool;
  private readonly prefix: string;
  private readonly managementToken: string;
  private readonly link: FederationLink;
  private readonly servers: Server[] = [];
  /** Plan-time format checks of secrets passed in as references (on the first server). */
  private readonly secretChecks: { condition: unknown; errorMessage: string }[];
  /** Mesh gateway replicas only: the ones federation and peering route through. */
  private readonly gatewayInstances: GatewayInstance[] = [];
  /** Mesh gateways whose replicas expose this datacenter's servers (mesh-gateway federation needs one). */
  private readonly serverGateways: IConstruct[] = [];
  private readonly gatewayListeners: ((instances: GatewayInstance[]) => void)[] = [];

  constructor(scope: Construct, id: string, props: DockerDatacenterProps) {
    super(scope, id);
    this.link = (props as { _federation?: FederationLink })._federation ?? { wanGossip: false, meshGatewayFederation: false };

    checkDatacenterName(this, props.name);
    if (!(props as { _federation?: FederationLink })._federation && props.primaryDatacenter !== undefined && props.primaryDatacenter !== props.name) {
      throw invalidInput(this, `a datacenter on its own is its own primary: naming "${props.primaryDatacenter}" would start it without an initial management token, and every ACL write would fail`,
        props.primaryDatacenter, 'Remove primaryDatacenter, or declare both datacenters in one ConsulFederation.');
    }
    this.name = props.name;
    this.primaryDatacenter = this.link.primary?.name ?? props.primaryDatacenter ?? props.name;
    this.cluster = this.primaryDatacenter;
    this.connectEnabled = props.connect ?? true;
    this.directlyRoutable = props.directlyRoutable ?? false;
    this.serverCount = checkServers(this, props.servers ?? 1);
    this.httpPort = checkPort(this, 'httpPort', props.httpPort ?? CONSUL_PORTS.http);
    this.image = checkImage(this, 'image', props.image ?? DockerDatacenter.DEFAULT_IMAGE);
    this.consulVersion = checkConsulVersion(this,
      props.consulVersion ?? ConsulVersion.fromImage(this.image) ?? ConsulVersion.fromImage(DockerDatacenter.DEFAULT_IMAGE)!);
    this.prefix = checkNamePrefix(this, props.namePrefix ?? 'consul');

    this.runtime = DockerRuntime.of(this, props.dockerProvider);
    this.lanSubnet = checkSubnet(this, props.lanSubnet ?? this.runtime.nextLanSubnet());
    this.runtime.registerSubnet(this, this.lanSubnet);
    this.runtime.registerPorts(this, () => [this.httpPort], 'Give each datacenter its own httpPort.');
    this.lanPool = new AddressPool(this.lanSubnet, 10);

    this.managementToken = props.managementToken !== undefined
      ? requireReference(this, 'managementToken', props.managementToken)
      : tokenVariable(this, 'management_token', `Initial management token of Consul datacenter ${this.name}`).stringValue;
    const gossipKey = props.gossipKey !== undefined
      ? requireReference(this, 'gossipKey', props.gossipKey)
      : gossipKeyVariable(this, 'gossip_key').stringValue;
    this.secretChecks = secretFormatPreconditions(this, { managementToken: this.managementToken, gossipKey });

    this.network = this.runtime.network(this, 'Lan', `${this.prefix}-${this.name}`, this.lanSubnet);
    const api = { address: `127.0.0.1:${this.httpPort}`, scheme: 'http', token: this.managementToken };
    claimProviderAlias(this, 'Rename one: Docker datacenters of a stack need distinct names (their containers and networks are named after them).');
    this.provider = new ConsulProvider(this, 'Provider', { ...api, alias: providerAlias(this), datacenter: this.name });
    this.globalProvider = this._createGlobalProvider(this.provider, api);

    const logLevel = checkLogLevel(this, props.logLevel ?? 'INFO');
    for (let i = 0; i < this.serverCount; i++) this.addServer(i, gossipKey, logLevel);
    this.node.addValidation({ validate: () => this.checkFederationNeeds() });
  }

  /** The containers Terraform waits on (healthy = leader elected, ACLs replicating). */
  public get readiness(): ITerraformDependable[] {
    return this.servers.map((s) => s.container);
  }

  /** WAN addresses of this datacenter's mesh gateways (what secondaries dial as `primary_gateways`). */
  public get meshGatewayWanAddresses(): string[] {
    return this.gatewayInstances.map((g) => g.wanAddress!);
  }

  /** @internal */
  public get _meshGatewayFederation(): boolean {
    return this.link.meshGatewayFederation;
  }

  /** @internal */
  public _runGateway(spec: GatewayProcessSpec): GatewayInstance[] {
    if (spec.kind === 'mesh' && this.link.meshGatewayFederation && !spec.startEnvoy) {
      Annotations.of(spec.gateway).addWarning(`startEnvoy is off in mesh-gateway federation: "${this.name}" will register its gateway`
        + ' but servers cannot reach other datacenters until an Envoy runs it.');
    }
    const image = this.runtime.image(this.image);
    const server = this.servers[0];
    const instances: GatewayInstance[] = [];
    for (let r = 0; r < spec.replicas; r++) {
      const proxyId = `${spec.service}-${r}`;
      const lan = this.lanPool.allocate();
      // Only mesh gateways sit on the WAN network; the /24 it has is shared by every datacenter.
      const wan = spec.kind === 'mesh' ? this.runtime.wanPool.allocate() : undefined;
      const base = `${this.prefix}-${this.name}-${proxyId}`;
      const scope = new Construct(spec.gateway, `Replica${r}`);
      const bootstrap = new Volume(scope, 'Bootstrap', { provider: this.runtime.provider, name: `${base}-bootstrap` });
      const flags = [
        `-gateway=${spec.kind}`, '-register',
        `-service ${spec.service}`, `-proxy-id ${proxyId}`,
        `-address ${lan}:${spec.port}`,
        ...(spec.kind === 'mesh' ? [`-wan-address ${wan}:${spec.port}`] : []),
        ...(spec.exposeServers ? ['-expose-servers'] : []),
        // One listener on every interface of the Envoy container (LAN and
        // WAN); it also spares the check that the LAN address is bindable
        // here, in a container that is not the one holding it.
        `-bind-address default=0.0.0.0:${spec.port}`,
        '-admin-bind 127.0.0.1:19000',
        '-bootstrap',
      ];
      // Registration and bootstrap need only the consul binary, so they run
      // (and are tested) apart from Envoy, which reads the bootstrap file.
      const registration = this.runtime.oneShot(scope, 'Registration', {
        name: `${base}-register`,
        image: image.imageId,
        entrypoint: ['/bin/sh', '-c'],
        // Polled: in a secondary the token was just created in the primary and
        // is "not found" until it has replicated (typically well under a second).
        command: [`${pollUntil(`consul connect envoy ${flags.join(' ')} > /bootstrap/envoy.json.tmp`, 'the gateway did not register', 60)}`
          + ' && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json'],
        env: [
          `CONSUL_HTTP_ADDR=http://${server.lanAddress}:${CONSUL_PORTS.http}`,
          `CONSUL_GRPC_ADDR=http://${server.lanAddress}:${CONSUL_PORTS.grpc}`,
          `CONSUL_HTTP_TOKEN=${spec.tokenSecret}`,
        ],
        networksAdvanced: [{ name: this.network.name }],
        volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap' }],
        dependsOn: [...this.readiness, ...spec.dependsOn],
      });
      if (spec.startEnvoy) {
        const envoy = new Container(scope, 'Envoy', {
          provider: this.runtime.provider,
          name: base,
          image: this.runtime.image(spec.envoyImage).imageId,
          command: ['envoy', '--config-path', '/bootstrap/envoy.json'],
          networksAdvanced: [
            { name: this.network.name, ipv4Address: lan },
            ...(wan ? [{ name: this.runtime.wan.name, ipv4Address: wan }] : []),
          ],
          volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap', readOnly: true }],
          restart: 'unless-stopped',
          dependsOn: [registration],
        });
        const published = spec.publishedPorts;
        if (published && r === 0) {
          // Read at synth: listeners are added after the gateway is constructed.
          beforeSynth(envoy, () => envoy.putPorts(published().map((port) => ({ internal: port, external: port, ip: '127.0.0.1' }))));
          this.runtime.registerPorts(spec.gateway, published, 'Move the listener to a free port, or set publishListeners: false.');
        }
      }
      instances.push({ proxyId, lanAddress: `${lan}:${spec.port}`, wanAddress: wan && `${wan}:${spec.port}`, registration });
    }
    if (spec.kind === 'mesh') {
      if (spec.exposeServers) this.serverGateways.push(spec.gateway);
      this.gatewayInstances.push(...instances);
      this.gatewayListeners.forEach((listener) => listener(instances));
    }
    return instances;
  }

  /**
   * Calls `listener` with every mesh gateway replica placed in this datacenter,
   * now and later (federation uses it to order secondaries after the primary's gateways).
   * @internal
   */
  public _onGateways(listener: (instances: GatewayInstance[]) => void): void {
    this.gatewayListeners.push(listener);
    if (this.gatewayInstances.length > 0) listener([...this.gatewayInstances]);
  }

  /**
   * Puts every server on the shared network (if not there already) and
   * returns the addresses another cluster's servers dial for direct peering:
   * the gRPC TLS port, which Consul prefers for peering.
   * @internal
   */
  public _directPeeringAddresses(): string[] {
    for (const server of this.servers.filter((s) => s.wanAddress === undefined)) {
      server.wanAddress = this.runtime.wanPool.allocate();
      server.container.putNetworksAdvanced([
        { name: this.network.name, ipv4Address: server.lanAddress, aliases: [server.node] },
        { name: this.runtime.wan.name, ipv4Address: server.wanAddress },
      ]);
    }
    return this.servers.map((s) => `${s.wanAddress}:${CONSUL_PORTS.grpc_tls}`);
  }

  /** Makes every server container of this datacenter wait for `dependable`. @internal */
  public _serversDependOn(other: ITerraformDependable): void {
    for (const server of this.servers) {
      server.container.dependsOn = [...(server.container.dependsOn ?? []), dependable(other)];
    }
  }

  private addServer(index: number, gossipKey: string, logLevel: string): void {
    const node = `${this.name}-server-${index}`;
    const base = `${this.prefix}-${node}`;
    const lanAddress = this.lanPool.allocate();
    const wanAddress = this.link.wanGossip ? this.runtime.wanPool.allocate() : undefined;
    const scope = new Construct(this, `Server${index}`);
    const data = new Volume(scope, 'Data', { provider: this.runtime.provider, name: `${base}-data` });
    const volumes = [{ volumeName: data.name, containerPath: DATA_DIR }];
    const dependsOn: ITerraformDependable[] = [];
    if (this.link.meshGatewayFederation) {
      const tls = this.issueServerCertificate(scope, node, base);
      volumes.push({ volumeName: tls.volume.name, containerPath: TLS_DIR });
      dependsOn.push(tls.issued);
    }

    const config = Lazy.stringValue({
      produce: () => JSON.stringify(renderServerConfig({
        datacenter: this.name,
        primaryDatacenter: this.primaryDatacenter,
        nodeName: node,
        bootstrapExpect: this.serverCount,
        advertiseAddr: lanAddress,
        advertiseAddrWan: wanAddress,
        retryJoin: this.servers.filter((s) => s.node !== node).map((s) => s.lanAddress),
        retryJoinWan: this.link.primary && this.link.wanGossip
          ? this.link.primary.servers.map((s) => s.wanAddress!) : [],
        primaryGateways: this.link.primary && this.link.meshGatewayFederation
          ? this.link.primary.meshGatewayWanAddresses : [],
        meshGatewayFederation: this.link.meshGatewayFederation,
        connect: this.connectEnabled,
        gossipKey,
        managementToken: this.managementToken,
        replicationToken: this.link.replicationToken,
        logLevel,
      }), null, 2),
    });

    const healthy = [`wget -qO- http://127.0.0.1:${CONSUL_PORTS.http}/v1/status/leader | grep -q ':${CONSUL_PORTS.server}'`];
    if (this.link.replicationToken) {
      // A secondary is useful only once ACLs replicate: until then gateway
      // registration in it fails with 403. "Running" only means the routine
      // started (it stays true with a bad token): wait for replicated indexes.
      // The token is in the config from the start, not handed over later:
      // config entry replication, started with no token, lists entries as
      // anonymous (nothing) and then blocks until they change again.
      healthy.push(`wget -qO- http://127.0.0.1:${CONSUL_PORTS.http}/v1/acl/replication`
        + ` | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`);
    }
    const container = new Container(scope, 'Container', {
      provider: this.runtime.provider,
      name: base,
      hostname: node,
      image: this.runtime.image(this.image).imageId,
      entrypoint: ['consul'],
      command: ['agent', `-config-dir=${CONFIG_DIR}`],
      upload: [{ file: `${CONFIG_DIR}/server.json`, content: config }],
      volumes,
      networksAdvanced: [
        { name: this.network.name, ipv4Address: lanAddress, aliases: [node] },
        ...(wanAddress ? [{ name: this.runtime.wan.name, ipv4Address: wanAddress }] : []),
      ],
      ports: index === 0 ? [{ internal: CONSUL_PORTS.http, external: this.httpPort, ip: '127.0.0.1' }] : [],
      healthcheck: {
        test: ['CMD-SHELL', healthy.join(' && ')],
        interval: '2s',
        timeout: '2s',
        retries: 90,
        startPeriod: '2s',
      },
      wait: true,
      waitTimeout: 180,
      restart: 'unless-stopped',
      dependsOn: dependsOnAll(dependsOn),
      ...(index === 0 && this.secretChecks.length > 0 ? { lifecycle: { precondition: this.secretChecks } } : {}),
    });
    this.servers.push({ node, lanAddress, wanAddress, container });
    this.setAgentToken(scope, node, base, lanAddress, container);
  }

  /**
   * The agent token can only exist once the datacenter does: create a
   * node-identity token, then hand it to the running agent, which persists it.
   */
  private setAgentToken(scope: Construct, node: string, base: string, address: string, server: Container): void {
    const token = new AclToken(scope, 'AgentToken', {
      provider: this.globalProvider,
      description: `Agent token of ${node}`,
      nodeIdentities: [{ nodeName: node, datacenter: this.name }],
      dependsOn: [server],
    });
    const secret = new DataConsulAclTokenSecretId(scope, 'AgentTokenSecret', {
      provider: this.globalProvider,
      accessorId: token.accessorId,
    });
    this.runtime.oneShot(scope, 'SetAgentToken', {
      name: `${base}-set-agent-token`,
      image: this.runtime.image(this.image).imageId,
      entrypoint: ['/bin/sh', '-c'],
      command: ['consul acl set-agent-token agent "$AGENT_TOKEN"'],
      env: [
        `CONSUL_HTTP_ADDR=http://${address}:${CONSUL_PORTS.http}`,
        `CONSUL_HTTP_TOKEN=${this.managementToken}`,
        `AGENT_TOKEN=${secret.secretId}`,
      ],
      networksAdvanced: [{ name: this.network.name }],
    });
  }

  private issueServerCertificate(scope: Construct, node: string, base: string): { volume: Volume; issued: Container } {
    const volume = new Volume(scope, 'Tls', { provider: this.runtime.provider, name: `${base}-tls` });
    const out = `${this.name}-server-consul-0`;
    const issued = this.runtime.oneShot(scope, 'IssueCertificate', {
      name: `${base}-issue-cert`,
      image: this.runtime.image(this.image).imageId,
      entrypoint: ['/bin/sh', '-c'],
      // Idempotent: an existing certificate is kept across re-applies.
      command: [`test -f ${TLS_DIR}/server.pem || (${[
        'cd /tmp',
        `consul tls cert create -server -dc ${this.name} -node ${node} -ca /ca/consul-agent-ca.pem -key /ca/consul-agent-ca-key.pem`,
        `cp /ca/consul-agent-ca.pem ${TLS_DIR}/ca.pem`,
        `mv ${out}-key.pem ${TLS_DIR}/server-key.pem`,
        `mv ${out}.pem ${TLS_DIR}/server.pem`,
      ].join(' && ')})`],
      volumes: [
        { volumeName: this.link.caVolume!.name, containerPath: '/ca', readOnly: true },
        { volumeName: volume.name, containerPath: TLS_DIR },
      ],
      dependsOn: this.link.caReady ? [this.link.caReady] : [],
    });
    return { volume, issued };
  }

  private checkFederationNeeds(): string[] {
    if (this.link.meshGatewayFederation && this.gatewayInstances.length === 0) {
      return [`mesh-gateway federation needs a mesh gateway in every datacenter (got: none in "${this.name}"). Call addMeshGateway() on it.`];
    }
    if (this.link.meshGatewayFederation && this.serverGateways.length === 0) {
      // Other datacenters' servers reach these ones only through a gateway registered with -expose-servers.
      return [validationMessage(`mesh-gateway federation needs a mesh gateway that exposes the servers of "${this.name}", and none does`,
        false, 'Remove exposeServers: false from its mesh gateway (servers are exposed by default in this federation method).')];
    }
    return [];
  }
}

/** A shell loop that runs `check` every 0.5 s until it succeeds, failing with `failure` after `seconds`. */
function pollUntil(check: string, failure: string, seconds: number): string {
  return `n=0; until ${check}; do n=$((n+1)); if [ $n -ge ${seconds * 2} ]; then echo "${failure} within ${seconds} s" >&2; exit 1; fi; sleep 0.5; done`;
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

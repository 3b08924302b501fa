import { Construct } from 'constructs';
import { CertificateAuthority, suppliedCertificateAuthority } from './certificates';
import { DockerDatacenterProps, FederationJoinOptions } from './docker-datacenter-props';
import { FederationLink, FederationPrimary, federationLinkOf, linkAcrossStacks, recordFederationMember } from './federation-link';
import { DockerDatacenterRuntime } from './gateway-processes';
import { rotateGossipKey } from './gossip-keyring';
import { ConsulServer } from './server';
import { guardServerRemoval } from './server-removal-guard';
import { checkReadableFromServers, serverScopeIn } from './server-stack';
import { setAgentToken } from './server-tokens';
import { AddressPool, StackEngine, WAN_NETWORK } from './stack-engine';
import { rotateServerTls } from './tls-rotation';
import { checkConsulVersion, ConsulVersion } from '../datacenter/consul-version';
import { claimProviderAlias, gatewaysOf } from '../datacenter/datacenter';
import { DatacenterBase } from '../datacenter/datacenter-base';
import { FederationJoin } from '../datacenter/federation-join';
import { FederationMethod } from '../datacenter/federation-method';
import { LogLevel } from '../datacenter/log-level';
import { DatacenterRuntime } from '../datacenter/runtime';
import { CONSUL_PORTS } from '../internal/agent-config';
import { addDependencies } from '../internal/dependencies';
import { invalidInput, validationMessage } from '../internal/errors';
import { portText } from '../internal/plan-checks';
import { Container, Network } from '../internal/providers';
import { createReplicationToken } from '../internal/replication-token';
import { gossipKeyVariable, requireReference, secretFormatPreconditions, tokenVariable } from '../internal/secrets';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { checkGeneration } from '../internal/token-rotation';
import { ITerraformDependable, TerraformStack, Token } from '../internal/tf';
import { checkDatacenterName, checkHostAddress, checkHostPort, checkImage, checkLogLevel, checkNamePrefix, checkPort, isIpv4 } from '../internal/validation';

/**
 * A Consul datacenter on Docker: a network, N servers with data volumes and
 * an uploaded agent configuration, ACLs default-deny, and a health check that
 * makes Terraform wait for a leader (and, in a secondary, ACL replication)
 * instead of sleeping.
 */
export class DockerDatacenter extends DatacenterBase implements FederationPrimary, IFinalizable {
  /** The Consul image users pull by default; override it where no registry is reachable. */
  public static readonly DEFAULT_IMAGE = 'hashicorp/consul:1.19.2';

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
  /** The address of its Docker host that WAN traffic uses, if it has one (see `hostAddress`). */
  public readonly hostAddress?: string;

  /** The engine as the servers' stack declares it. */
  private readonly serverEngine: StackEngine;
  /** The engine as the datacenter's stack declares it (gateways, agent tokens): the same engine unless the servers have a stack of their own. */
  private readonly engine: StackEngine;
  private readonly serversElsewhere: boolean;
  /** With servers elsewhere: a secondary's token hand-overs, done once its replication runs with the token. */
  private readonly handOvers: ITerraformDependable[] = [];
  /** What config entries written through this datacenter wait on too (the primary: its secondaries' replication). */
  private readonly entriesAlsoWaitFor: ITerraformDependable[] = [];
  /** What the federation-wide rotations wait on too: the other datacenters' servers (keyring operations reach all, TLS phases wait for all). */
  private readonly rotationsAlsoWaitFor: ITerraformDependable[] = [];
  /** The gossip key rotation, in a datacenter that is its own primary. */
  private readonly keyring?: Container;
  /** The servers' TLS rotation, with a CA (tls-rotation.ts). */
  private readonly tlsRotation?: Container;
  /** How it runs gateways and offers peering addresses (lib/datacenter/runtime.ts). */
  private readonly runtime: DockerDatacenterRuntime;
  private readonly link: FederationLink;
  private readonly servers: ConsulServer[] = [];
  private readonly gossipKey: string;
  private readonly managementToken: string;
  private readonly logLevel: string;
  private readonly ca?: CertificateAuthority;
  private readonly prefix: string;
  private readonly ownFederationMethod?: FederationMethod;
  /** What federationJoin() handed out first: its gateway addresses are checked against the final ones. */
  private join?: FederationJoin;

  constructor(scope: Construct, id: string, props: DockerDatacenterProps) {
    super(scope, id);
    const federation = federationLinkOf(this);
    checkDatacenterName(this, props.name);
    if (props.hostAddress !== undefined) this.hostAddress = checkHostAddress(this, props.hostAddress);
    const suppliedCa = props.tls !== undefined ? suppliedCertificateAuthority(this, props.tls) : undefined;
    this.link = federation ?? linkAcrossStacks(this, props, suppliedCa);
    this.ownFederationMethod = federation ? undefined : props.federationMethod;
    this.ca = suppliedCa ?? this.link.ca;
    if (this.hostAddress !== undefined && this.ca?.kind !== 'supplied') {
      throw invalidInput(this, 'a datacenter on a host address sends RPC, gossip and API traffic off its host, which needs TLS from a CA the datacenters share',
        { hostAddress: this.hostAddress, tls: false }, `Pass tls (the CA from \`consul tls ca create\`)${federation ? ' to the ConsulFederation' : ''}, or remove hostAddress.`);
    }
    if (props.join !== undefined && props.primaryDatacenter !== undefined && props.primaryDatacenter !== props.join.primaryDatacenter) {
      throw invalidInput(this, `primaryDatacenter says "${props.primaryDatacenter}" but join names primary "${props.join.primaryDatacenter}"`,
        props.primaryDatacenter, 'Remove primaryDatacenter: join decides the primary.');
    }
    if (!federation && props.join === undefined && props.primaryDatacenter !== undefined && props.primaryDatacenter !== props.name) {
      throw invalidInput(this, `a datacenter on its own is its own primary: naming "${props.primaryDatacenter}" would start it without an initial management token, and every ACL write would fail`,
        props.primaryDatacenter, 'Remove primaryDatacenter, or declare both datacenters in one ConsulFederation.');
    }
    const primaryDatacenter = this.link.primary?.name ?? props.primaryDatacenter ?? props.name;
    if (primaryDatacenter === props.name && props.join !== undefined) {
      throw invalidInput(this, `a datacenter cannot join a federation whose primary has its own name "${props.name}"`, props.join.primaryDatacenter,
        'Give the secondary another name.');
    }
    if (!federation && (props.join ?? props.federationMethod) !== undefined) {
      recordFederationMember({ datacenter: this, federation: () => props.join?.replicationToken ?? this.join?.replicationToken ?? this });
    }
    this.serverCount = checkServers(this, props.servers ?? 1);
    const tlsGeneration = checkGeneration(this, 'tlsGeneration', props.tlsGeneration);
    if (tlsGeneration > 1 && this.ca === undefined) {
      throw invalidInput(this, 'tlsGeneration rotates the servers\' TLS certificates, and this datacenter\'s servers have none', tlsGeneration,
        `Remove tlsGeneration, or give the servers a CA (tls${federation ? ' of the ConsulFederation' : ''}).`);
    }
    if (tlsGeneration > 1 && !federation && (props.join !== undefined || props.federationMethod !== undefined)) {
      // The phases wait for every datacenter; across stacks, the primary's would wait for stacks applied after it.
      throw invalidInput(this, 'tlsGeneration cannot rotate the TLS of a federation split across stacks: each stack is applied alone, and a datacenter must not present a new certificate before every other trusts its CA',
        tlsGeneration, 'Declare the datacenters in one ConsulFederation to rotate in one deploy, or re-issue by hand (consul tls cert create, consul reload).');
    }
    this.httpPort = checkPort(this, 'httpPort', props.httpPort ?? CONSUL_PORTS.http, true);
    this.image = checkImage(this, 'image', props.image ?? DockerDatacenter.DEFAULT_IMAGE);
    const tagged = ConsulVersion.fromImage(this.image);
    // Each looks valid alone; together the library would render for a Consul the servers do not run.
    if (props.consulVersion !== undefined && tagged !== undefined && props.consulVersion.compare(tagged) !== 0) {
      throw invalidInput(this, `consulVersion ${props.consulVersion} contradicts the image, whose tag names Consul ${tagged}`,
        { image: this.image, consulVersion: props.consulVersion.toString() },
        `Drop consulVersion (the tag decides), or use an image of Consul ${props.consulVersion}.`);
    }
    this._settle({
      name: props.name,
      primaryDatacenter,
      // Its primary's name: Docker datacenters of one stack have distinct names already (networks, containers).
      cluster: primaryDatacenter,
      connectEnabled: props.connect ?? true,
      consulVersion: checkConsulVersion(this, props.consulVersion ?? tagged ?? ConsulVersion.fromImage(DockerDatacenter.DEFAULT_IMAGE)!),
      directlyRoutable: props.directlyRoutable ?? false,
    });
    const prefix = checkNamePrefix(this, props.namePrefix ?? 'consul');
    this.prefix = prefix;
    this.logLevel = checkLogLevel(this, props.logLevel ?? LogLevel.INFO);
    const stabilizationSeconds = props.serverStabilizationSeconds !== undefined ? checkStabilization(this, props.serverStabilizationSeconds) : undefined;

    // Named after the datacenter, so its secret variables keep their names wherever the servers are.
    const serverScope = props.serverStack !== undefined ? serverScopeIn(this, props.serverStack, this.link.serverParent) : this;
    this.serversElsewhere = serverScope !== this;
    this.serverEngine = StackEngine.of(serverScope, props.dockerProvider);
    this.engine = this.serversElsewhere ? StackEngine.of(this, props.dockerProvider) : this.serverEngine;
    this.lanSubnet = checkSubnet(this, props.lanSubnet ?? this.serverEngine.nextLanSubnet());
    this.serverEngine.registerSubnet(this, this.lanSubnet);
    this.serverEngine.registerOwner(this, serverScope);
    if (this.serversElsewhere) this.engine.registerOwner(this);
    // Both stacks publish ports on the engine: the API on one, gateways on the other.
    for (const engine of new Set([this.serverEngine, this.engine])) {
      engine.registerPorts(this, () => [this.httpPort], 'Give each datacenter its own httpPort.');
    }
    const lanPool = new AddressPool(this.lanSubnet, 10);

    this.managementToken = props.managementToken !== undefined
      ? requireReference(this, 'managementToken', props.managementToken)
      : tokenVariable(serverScope, 'management_token', `Initial management token of Consul datacenter ${this.name}`).stringValue;
    this.gossipKey = props.gossipKey !== undefined
      ? requireReference(this, 'gossipKey', props.gossipKey)
      : gossipKeyVariable(serverScope, 'gossip_key').stringValue;
    if (this.serversElsewhere) {
      checkReadableFromServers(this, props.serverStack!, { managementToken: props.managementToken, gossipKey: props.gossipKey,
        'tls.caCertificate': props.tls?.caCertificate, 'tls.caPrivateKey': props.tls?.caPrivateKey });
    }
    const secretChecks = secretFormatPreconditions(this, { managementToken: this.managementToken, gossipKey: this.gossipKey });

    const lanName = `${prefix}-${this.name}`;
    this.network = this.serverEngine.network(serverScope, 'Lan', lanName, this.lanSubnet);
    // From the other stack, Docker objects are named, not referenced: the stack order stands in for the references.
    const networkName = this.serversElsewhere ? lanName : this.network.name;
    // With a supplied CA the API is HTTPS, and the providers verify its certificate.
    // During a CA rotation the providers trust the CA being replaced too: the servers present its certificates when the plan starts.
    const previousCa = props.tls?.previousCaCertificate ?? this.link.previousCaCertificate;
    const https = this.ca?.kind === 'supplied'
      ? { scheme: 'https', caPem: previousCa !== undefined ? `${this.ca.certificate}\n${previousCa}` : this.ca.certificate } : { scheme: 'http' };
    // On a host address, the providers reach the API there: from this host, or from whichever runs Terraform.
    const api = { address: this._apiAddress, ...https, token: this.managementToken };
    claimProviderAlias(this, 'Rename one: Docker datacenters of a stack need distinct names (their containers and networks are named after them).');
    // A secondary of another stack writes its global state (its servers' tokens) through the primary's API.
    const primaryApi = props.join?.primaryApiAddress ?? this.link.primary?._apiAddress;
    // In a federation the primary's provider, where it serves as is (DatacenterBase._connect).
    const primary = this.link.primary instanceof DatacenterBase ? this.link.primary : undefined;
    this._connect(api, primaryApi !== undefined ? { ...api, address: primaryApi } : api, primary);

    const wanAddress = this.link.wanGossip && this.hostAddress === undefined ? this.serverEngine.wanServerBlock(this) : undefined;
    for (let index = 0; index < this.serverCount; index++) {
      this.servers.push(new ConsulServer(serverScope, `Server${index}`, {
        engine: this.serverEngine,
        datacenter: this.name,
        index,
        prefix,
        image: this.image,
        network: this.network,
        lanAddress: lanPool.allocate(),
        wanAddress: wanAddress?.(index),
        hostAddress: this.hostAddress,
        ca: this.ca,
        tlsGeneration,
        httpPort: index === 0 ? this.httpPort : undefined,
        // A server stopped (removed by a shrink, or destroyed) leaves: a leader first hands leadership over,
        // so a shrink that removes it costs no election, and a secondary's first server, stopped when its
        // datacenter is removed, tells the WAN pool it left (1 s is enough for the intent; without it the
        // primary lists it as failed for 72 h). Across stacks the whole graceful exit (the WAN leave about 2 s,
        // all about 10) must finish; otherwise the rest of the leave only slows every destroy (a 3 s grace cost
        // the pair's destroy 5 s): the grace is a ceiling. The primary's first server is not waited for: a shrink
        // keeps server 0 and a primary leaves no federation, so it stops only with everything (or to be
        // replaced, when it keeps its raft membership), and its grace was 1.3 s of the pair's 9.9 s destroy.
        leaveGraceSeconds: props.join !== undefined ? 20 : index === 0 && primaryDatacenter === this.name ? 0 : 1,
        shortLeaveDrain: props.join !== undefined,
        stabilizationSeconds: index === 0 ? stabilizationSeconds : undefined,
        waitForReplication: this.link.replicationToken !== undefined && !this.link.handOverReplicationToken,
        managementToken: this.managementToken,
        upgradeOrder: {
          servers: this.serverCount,
          ...(primaryDatacenter !== this.name ? { primary: { datacenter: primaryDatacenter, servers: this.link.primary?.serverCount } } : {}),
          previous: this.servers[index - 1],
        },
        globalProvider: this.globalProvider,
        agentTokenElsewhere: this.serversElsewhere,
        preconditions: index === 0 ? secretChecks : [],
      }));
    }
    guardServerRemoval(serverScope, {
      datacenter: this, baseName: `${prefix}-${this.name}`, servers: this.serverCount, allowed: props.allowUnsafeServerRemoval ?? false,
      keptServer: this.servers[0].containerName,
    });
    if (primaryDatacenter === this.name) {
      // The federation's keyring is rotated from its primary, beside the servers, which hold the key (see gossip-keyring.ts).
      this.keyring = rotateGossipKey(serverScope, this.serverEngine, {
        name: `${prefix}-${this.name}-gossip-keyring`, serverAddress: this.servers[0].lanAddress, serverContainer: this.servers[0].containerName,
        image: this.image, managementToken: this.managementToken, gossipKey: this.gossipKey, after: this._serverSteps,
      });
    }
    if (this.ca) {
      this.tlsRotation = rotateServerTls(serverScope, this.serverEngine, {
        name: `${prefix}-${this.name}-tls-rotation`, datacenter: this.name, primaryDatacenter, datacenters: this.link.datacenters ?? [this.name],
        servers: this.servers.map((s) => ({ node: s.nodeName, lanAddress: s.lanAddress, tlsVolume: s.tlsVolume!, hostAddress: this.hostAddress })),
        ca: this.ca, generation: tlsGeneration, networkName: this.network.name, image: this.image, managementToken: this.managementToken, after: this._serverSteps,
      });
    }
    if (this.serversElsewhere) {
      for (const server of this.servers) {
        const site = new Construct(this, server.node.id);
        const target = server.tokenTarget();
        if (this.link.handOverReplicationToken && this.link.replicationToken !== undefined) {
          this.handOvers.push(setAgentToken(site, this.engine, target, { token: this.link.replicationToken, primaryDatacenter: this.primaryDatacenter }));
        } else {
          setAgentToken(site, this.engine, target);
        }
      }
      TerraformStack.of(this).addDependency(props.serverStack!);
      FinalizePass.of(serverScope).add(this);
    }
    this.runtime = new DockerDatacenterRuntime({
      engine: this.engine,
      datacenterName: this.name,
      prefix,
      networkName,
      lanPool,
      wanPool: this.serverEngine.wanPool,
      wanNetworkName: () => {
        const wan = this.serverEngine.wan;
        return this.serversElsewhere ? WAN_NETWORK : wan.name;
      },
      image: this.image,
      serverAddress: this.servers[0].lanAddress,
      serverContainer: this.servers[0].containerName,
      // A registration reads the gateway's policy in this datacenter: a secondary's once it replicates (see `readiness`).
      readiness: this._replicating,
      meshGatewayFederation: this.link.meshGatewayFederation,
      hostAddress: this.hostAddress,
      // The gRPC TLS port, which Consul prefers for peering: published on the host address, or on the shared network (joined if need be).
      directPeeringAddresses: () => this.servers.map((s) => s.peeringAddress(this.serverEngine.wanPool)),
      managementToken: this.managementToken,
    });
    FinalizePass.of(this).add(this);
    this.node.addValidation({ validate: () => this.checkFederationNeeds() });
  }

  /**
   * The one-shots Terraform waits on (the servers' upgrade steps: each waits
   * until its server knows a leader and, where it applies, replicates ACLs).
   * None when the servers are in a stack of their own, which is applied, its
   * servers up, first: ACL policies and tokens, written in the primary,
   * need no more. A secondary's gateway registrations wait for its
   * hand-over (the one-shot giving its servers the replication token):
   * until the secondary replicates policies, it asks the primary for a
   * token's policies, and the primary leaves out those scoped to other
   * datacenters, as a gateway's is (to its own), so the token has no
   * rights there yet. Config entries also wait until every secondary
   * replicates with its token, and a peering until its own datacenter does
   * (its Connect CA needs the token).
   */
  public get readiness(): ITerraformDependable[] {
    return this.serversElsewhere ? [] : this._serverSteps;
  }

  /**
   * Done once this datacenter replicates with its token: the servers' steps,
   * or, for servers started without the token, its hand-overs.
   * @internal
   */
  public get _replicating(): ITerraformDependable[] {
    return this.serversElsewhere ? [...this.handOvers] : this._serverSteps;
  }

  /**
   * Makes config entries written through this datacenter wait on `items`
   * too: in a federation whose servers are in a stack of their own, the
   * other secondaries' hand-overs (an entry written before a secondary's
   * replicator holds its token reaches it only with the next change). ACL
   * policies and tokens need not wait; gateways wait for their own
   * datacenter's only (see `readiness`).
   * @internal
   */
  public _entriesWaitAlsoFor(items: ITerraformDependable[]): void {
    this.entriesAlsoWaitFor.push(...items);
  }

  /**
   * Makes the rotations that span the federation wait on `items` too: the
   * other datacenters' servers (the primary's keyring operations reach every
   * datacenter; each datacenter's TLS phases wait for all of them).
   * @internal
   */
  public _rotationsWaitAlsoFor(items: ITerraformDependable[]): void {
    this.rotationsAlsoWaitFor.push(...items);
  }

  /** Each server's upgrade step: done once the server runs what it is configured to (in the servers' stack). @internal */
  public get _serverSteps(): ITerraformDependable[] {
    return this.servers.map((s) => s.ready);
  }

  /** @internal */
  public get _entryReadiness(): ITerraformDependable[] {
    return [...this._replicating, ...this.entriesAlsoWaitFor];
  }

  /** WAN addresses of this datacenter's mesh gateways (what secondaries dial as `primary_gateways`). */
  public get meshGatewayWanAddresses(): string[] {
    return gatewaysOf(this, 'mesh').flatMap((g) => g.wanAddresses);
  }

  /** @internal */
  public get _meshGatewayRegistrations(): ITerraformDependable[] {
    return gatewaysOf(this, 'mesh').flatMap((g) => g.registrations);
  }

  /** Where its HTTP API answers: on its host address, or from this host. @internal */
  public get _apiAddress(): string {
    return `${this.hostAddress ?? '127.0.0.1'}:${portText(this.httpPort)}`;
  }

  /** @internal */
  public get _serverWanAddresses(): string[] {
    return this.servers.map((s) => s.wanGossipAddress);
  }

  /** @internal */
  public get _runtime(): DatacenterRuntime {
    return this.runtime;
  }

  /**
   * What secondaries declared in other stacks or apps need to join this
   * primary (`DockerDatacenterProps.join`). The first call creates the ACL
   * replication token; its secret crosses to another stack as a sensitive
   * output. In mesh-gateway federation, call it after adding the mesh
   * gateways: their addresses are part of it.
   */
  public federationJoin(options: FederationJoinOptions = {}): FederationJoin {
    const method = this.ownFederationMethod;
    if (method === undefined) {
      throw invalidInput(this, 'federationJoin() is for the primary of a federation split across stacks, and this datacenter has no federationMethod', undefined,
        'Set federationMethod (and hostAddress, tls) on it; in a ConsulFederation, use its secondaries instead.');
    }
    const apiAddress = options.primaryApiAddress !== undefined
      ? this.checkCoveredByCertificate(checkHostPort(this, 'primaryApiAddress must be host:port', options.primaryApiAddress, 'Use e.g. "192.0.2.10:8500".'))
      : `${this.hostAddress}:${portText(this.httpPort)}`;
    if (this.join === undefined) {
      const replicationToken = createReplicationToken(this, this, this.prefix).secret;
      this.join = {
        primaryDatacenter: this.name, method, serverWanAddresses: this._serverWanAddresses, meshGatewayWanAddresses: this.meshGatewayWanAddresses,
        primaryApiAddress: apiAddress, replicationToken,
      };
    }
    return { ...this.join, primaryApiAddress: apiAddress };
  }

  /**
   * The secondaries' Terraform verifies the primary's API certificate
   * against the address it dials: a name or address the certificate does
   * not list fails every apply of theirs, so it is refused here.
   */
  private checkCoveredByCertificate(address: string): string {
    if (Token.isUnresolved(address)) return address;
    const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    // What `consul tls cert create -server -node` signs for the server publishing the API (the first), plus -additional-ipaddress.
    const covered = [this.hostAddress!, '127.0.0.1', 'localhost', `server.${this.name}.consul`, `${this.servers[0].nodeName}.server.${this.name}.consul`];
    if (!covered.includes(host)) {
      throw invalidInput(this, `primaryApiAddress names "${host}", which the servers' TLS certificate does not cover (it lists ${covered.join(', ')}), so secondaries could not verify the API`,
        address, `Use one of those (e.g. "${this.hostAddress}:${portText(this.httpPort)}"), or reach the API through a name the certificate lists.`);
    }
    return address;
  }

  /**
   * Renders the servers' configuration, which names the primary's mesh
   * gateways (added anywhere in the stack), and in mesh-gateway federation
   * starts a secondary's servers only once those gateways are registered.
   * @internal
   */
  public _finalize(): void {
    const primary = this.link.primary;
    for (const rotation of [this.keyring, this.tlsRotation]) if (rotation) addDependencies(rotation, this.rotationsAlsoWaitFor);
    for (const server of this.servers) {
      server.configure({
        datacenter: this.name,
        primaryDatacenter: this.primaryDatacenter,
        bootstrapExpect: this.serverCount,
        retryJoin: this.servers.filter((s) => s !== server).map((s) => s.lanAddress),
        retryJoinWan: primary && this.link.wanGossip ? primary._serverWanAddresses : [],
        primaryGateways: primary && this.link.meshGatewayFederation ? primary.meshGatewayWanAddresses : [],
        meshGatewayFederation: this.link.meshGatewayFederation,
        serverTls: this.ca !== undefined,
        https: this.ca?.kind === 'supplied',
        connect: this.connectEnabled,
        gossipKey: this.gossipKey,
        managementToken: this.managementToken,
        replicationToken: this.link.handOverReplicationToken ? undefined : this.link.replicationToken,
        logLevel: this.logLevel,
      });
      // Secondaries dial the primary's gateways: start them only once those are registered.
      if (primary && this.link.meshGatewayFederation) addDependencies(server.container, primary._meshGatewayRegistrations);
    }
  }

  private checkFederationNeeds(): string[] {
    if (!this.link.meshGatewayFederation) return [];
    const late = this.join && this.meshGatewayWanAddresses.filter((a) => !this.join!.meshGatewayWanAddresses.includes(a));
    if (late && late.length > 0) {
      return [validationMessage('mesh gateways were added after federationJoin() was called, so secondaries would not dial them', late,
        'Call federationJoin() after adding the primary\'s mesh gateways.')];
    }
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

function checkStabilization(scope: Construct, seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) {
    throw invalidInput(scope, 'serverStabilizationSeconds must be a whole number of seconds from 1 to 300', seconds,
      'Use e.g. 3 for faster rolling changes, or leave it unset for Consul\'s 10.');
  }
  return seconds;
}

function checkSubnet(scope: Construct, subnet: string): string {
  if (!subnet.endsWith('.0/24') || !isIpv4(subnet.slice(0, -'/24'.length))) {
    throw invalidInput(scope, 'lanSubnet must be an IPv4 /24 ending in .0', subnet, 'Use e.g. "10.249.7.0/24".');
  }
  return subnet;
}

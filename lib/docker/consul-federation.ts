import { Construct } from 'constructs';
import { createCertificateAuthority, suppliedCertificateAuthority } from './certificates';
import { DockerDatacenter } from './docker-datacenter';
import { DATACENTER_OPTIONS, DatacenterOptions, DockerDatacenterProps } from './docker-datacenter-props';
import { FederationLink, FederationScope } from './federation-link';
import { checkReadableFromServers, checkServerStack } from './server-stack';
import { StackEngine } from './stack-engine';
import type { ConsulVersion } from '../datacenter/consul-version';
import { DatacenterTls } from '../datacenter/datacenter-tls';
import { FederationMethod } from '../datacenter/federation-method';
import { replicationRules } from '../internal/acl-rules';
import { invalidInput } from '../internal/errors';
import { DockerProvider } from '../internal/providers';
import { createReplicationToken, REPLICATION_TOKEN_DESCRIPTION } from '../internal/replication-token';
import { gossipKeyVariable, requireReference, tokenVariable } from '../internal/secrets';
import { TerraformStack } from '../internal/tf';
import { checkGeneration } from '../internal/token-rotation';
import { checkDatacenterName, checkImage, checkKeys, checkNamePrefix } from '../internal/validation';

/** Props of `ConsulFederation`. */
export interface ConsulFederationProps {
  /** The primary datacenter: ACLs and config entries are authoritative here. */
  readonly primary: DatacenterOptions;

  /** One or more secondary datacenters. */
  readonly secondaries: DatacenterOptions[];

  /**
   * How servers of different datacenters reach each other.
   * @default FederationMethod.wanGossip()
   */
  readonly method?: FederationMethod;

  /**
   * Consul image of every datacenter that does not set its own.
   * @default DockerDatacenter.DEFAULT_IMAGE
   */
  readonly image?: string;

  /**
   * Consul version of every datacenter that does not set its own.
   * @default - the version the image's tag names (see DatacenterOptions.consulVersion)
   */
  readonly consulVersion?: ConsulVersion;

  /**
   * The initial management token (global, replicated), as a reference.
   * @default - a sensitive variable `<id>_management_token`
   */
  readonly managementToken?: string;

  /**
   * Gossip encryption key shared by all datacenters (WAN gossip uses it too), as a reference.
   * @default - a sensitive variable `<id>_gossip_key`
   */
  readonly gossipKey?: string;

  /**
   * The generation of the ACL replication token. Add one to rotate it in one
   * deploy: a new token is created and handed to every secondary's servers
   * while they run, then the old one is deleted.
   * @default 1
   */
  readonly replicationTokenGeneration?: number;

  /**
   * A CA for every datacenter's servers: RPC between servers is TLS with both
   * ends and the server hostname verified (in both federation methods), and
   * the HTTP API is served over HTTPS, its certificate verified by the
   * library's providers.
   * @default - WAN gossip: no TLS (the servers share one host's Docker
   * network); mesh gateways: a CA the federation creates in a Docker volume
   * (RPC TLS, HTTP API unencrypted on 127.0.0.1)
   */
  readonly tls?: DatacenterTls;

  /**
   * The generation of the servers' TLS: one more re-issues every server's
   * certificate, and with the CA the federation creates (mesh gateways,
   * no `tls`) creates a new CA first. A new `tls.caCertificate` is rolled
   * out the same way whatever this is. Either way, in one deploy and with no
   * server restarted: every server of every datacenter trusts both CAs, then
   * presents a certificate of the new one, then trusts it alone.
   * @default 1
   */
  readonly tlsGeneration?: number;

  /**
   * Docker provider for every datacenter that does not name its own.
   * @default - one provider for the stack, talking to the local engine
   */
  readonly dockerProvider?: DockerProvider;

  /**
   * Prefix for Docker container, network and volume names.
   * @default "consul"
   */
  readonly namePrefix?: string;

  /**
   * A stack of the same app, applied before the federation's own, to hold
   * every datacenter's servers (containers, data volumes, networks) and the
   * secret variables they start with. The Consul side stays in the
   * federation's stack, so a plain apply heals a dead server (see
   * `DockerDatacenterProps.serverStack`). The secondaries' servers then
   * start without the replication token, which does not exist yet: each is
   * handed it once the primary has made it, and config entries are written
   * only once every secondary replicates. WAN gossip only: in mesh-gateway
   * federation the secondaries' servers start after the primary's gateways.
   * @default - the servers are in the federation's stack
   */
  readonly serverStack?: TerraformStack;
}

/**
 * A primary and one or more secondary Consul datacenters on Docker, federated
 * over WAN gossip or through mesh gateways, with ACL token replication and
 * the documented bootstrap order expressed as Terraform dependencies and
 * container health checks.
 *
 * Order: primary servers (leader) → replication token → [mesh gateways of the
 * primary, exposing servers] → secondary servers (leader, replication running)
 * → secondary gateways.
 */
export class ConsulFederation extends Construct implements FederationScope {
  /** The federation method. */
  public readonly method: FederationMethod;
  /** The primary datacenter. */
  public readonly primary: DockerDatacenter;
  /** The secondary datacenters, in declaration order. */
  public readonly secondaries: DockerDatacenter[];
  /** The replication token's ACL rules. */
  public readonly replicationRules: string;
  /** Each datacenter's link, taken by the datacenter as it is built. */
  private readonly links = new Map<string, FederationLink>();

  constructor(scope: Construct, id: string, props: ConsulFederationProps) {
    super(scope, id);
    if (props.method !== undefined && !(props.method instanceof FederationMethod)) {
      throw invalidInput(this, 'method must be a FederationMethod', props.method, 'Use FederationMethod.wanGossip() or FederationMethod.meshGateways().');
    }
    this.method = props.method ?? FederationMethod.wanGossip();
    checkShape(this, props, this.method);
    const generation = checkGeneration(this, 'replicationTokenGeneration', props.replicationTokenGeneration);
    const tlsGeneration = checkGeneration(this, 'tlsGeneration', props.tlsGeneration);

    if (props.serverStack !== undefined) {
      if (this.method.throughMeshGateways) {
        throw invalidInput(this, 'serverStack works with WAN gossip federation only: through mesh gateways, the secondaries\' servers start after the primary\'s gateways, which are on the Consul side',
          this.method.kind, 'Use FederationMethod.wanGossip(), or remove serverStack.');
      }
      checkServerStack(this, props.serverStack);
      checkReadableFromServers(this, props.serverStack, { managementToken: props.managementToken, gossipKey: props.gossipKey,
        'tls.caCertificate': props.tls?.caCertificate, 'tls.caPrivateKey': props.tls?.caPrivateKey });
    }
    // The servers' secrets are declared where the servers are, under the federation's id (same variable names).
    const serverParent = props.serverStack !== undefined ? new Construct(props.serverStack, id) : undefined;
    const secretsScope = serverParent ?? this;
    const managementToken = props.managementToken !== undefined
      ? requireReference(this, 'managementToken', props.managementToken)
      : tokenVariable(secretsScope, 'management_token', 'Initial management token of the Consul federation (global)').stringValue;
    const gossipKey = props.gossipKey !== undefined
      ? requireReference(this, 'gossipKey', props.gossipKey)
      : gossipKeyVariable(secretsScope, 'gossip_key').stringValue;
    const prefix = checkNamePrefix(this, props.namePrefix ?? 'consul');
    if (props.image !== undefined) checkImage(this, 'image', props.image);
    const meshGatewayFederation = this.method.throughMeshGateways;
    const wanGossip = !meshGatewayFederation;

    const shared = (options: DatacenterOptions, index: number): DockerDatacenterProps => ({
      ...options,
      httpPort: options.httpPort ?? 8500 + index,
      image: options.image ?? props.image,
      consulVersion: options.consulVersion ?? props.consulVersion,
      managementToken,
      gossipKey,
      dockerProvider: options.dockerProvider ?? props.dockerProvider,
      namePrefix: prefix,
      serverStack: props.serverStack,
      tlsGeneration,
    });

    const ca = props.tls !== undefined ? suppliedCertificateAuthority(this, props.tls)
      : meshGatewayFederation
        ? createCertificateAuthority(this, StackEngine.of(this, props.dockerProvider), prefix, props.primary.image ?? props.image ?? DockerDatacenter.DEFAULT_IMAGE, tlsGeneration)
        : undefined;
    const datacenters = [props.primary.name, ...props.secondaries.map((dc) => dc.name)];
    const previousCaCertificate = props.tls?.previousCaCertificate;
    const primaryLink: FederationLink = { wanGossip, meshGatewayFederation, ca, serverParent, datacenters, previousCaCertificate };
    this.links.set(props.primary.name, primaryLink);
    this.primary = new DockerDatacenter(this, props.primary.name, shared(props.primary, 0));

    this.replicationRules = replicationRules();
    // With the servers in a stack applied first, the primary's are up before this stack starts.
    const token = createReplicationToken(this, { provider: this.primary.provider, readiness: serverParent ? [] : this.primary.readiness }, prefix,
      { generation, runtimeRetires: generation > 1 });
    const replicationToken = token.secret;

    this.secondaries = props.secondaries.map((options, i) => {
      const link: FederationLink = {
        wanGossip,
        meshGatewayFederation,
        primary: this.primary,
        replicationToken: options.aclReplication === false ? undefined : replicationToken,
        ca,
        handOverReplicationToken: serverParent !== undefined,
        serverParent,
        datacenters,
        previousCaCertificate,
      };
      this.links.set(options.name, link);
      return new DockerDatacenter(this, options.name, shared(options, i + 1));
    });
    // An entry written through any datacenter is replicated to every secondary: with servers started without the
    // token, it waits for every hand-over (one written before a replicator holds its token reaches it only with the next change).
    const all = [this.primary, ...this.secondaries];
    if (serverParent) for (const dc of all) dc._entriesWaitAlsoFor(this.secondaries.filter((other) => other !== dc).flatMap((other) => other._replicating));
    // The rotations that span the federation (the keyring, each datacenter's TLS phases) start once every datacenter's servers are done.
    for (const dc of all) dc._rotationsWaitAlsoFor(all.filter((other) => other !== dc).flatMap((other) => other._serverSteps));
    if (generation > 1) {
      // The old token goes once every secondary's servers hold the new one (their steps, or their hand-overs).
      this.primary._runtime.retireTokens!(this, {
        name: 'replication', description: REPLICATION_TOKEN_DESCRIPTION, keep: token.accessor, after: this.secondaries.flatMap((dc) => dc._replicating),
      });
    }
  }

  /** @internal */
  public _takeFederationLink(id: string): FederationLink | undefined {
    const link = this.links.get(id);
    this.links.delete(id);
    return link;
  }

  /** Every datacenter, primary first. */
  public get datacenters(): DockerDatacenter[] {
    return [this.primary, ...this.secondaries];
  }

  /** The datacenter called `name`. */
  public datacenter(name: string): DockerDatacenter {
    const found = this.datacenters.find((dc) => dc.name === name);
    if (!found) {
      throw invalidInput(this, 'no datacenter of that name in this federation', name,
        `Use one of: ${this.datacenters.map((dc) => dc.name).join(', ')}.`);
    }
    return found;
  }
}

function checkShape(scope: Construct, props: ConsulFederationProps, method: FederationMethod): void {
  checkKeys(scope, 'primary', props.primary, DATACENTER_OPTIONS, 'DatacenterOptions');
  props.secondaries.forEach((dc, i) => checkKeys(scope, `secondaries[${i}]`, dc, DATACENTER_OPTIONS, 'DatacenterOptions'));
  if (props.secondaries.length === 0) {
    throw invalidInput(scope, 'a federation needs at least one secondary datacenter', [],
      'Add a secondary (secondaries: [{ name: "dc2" }]), or use a DockerDatacenter on its own.');
  }
  const seen = new Set<string>();
  for (const dc of [props.primary, ...props.secondaries]) {
    // Checked here, before the name becomes a construct id (an empty id gets constructs' own message).
    checkDatacenterName(scope, dc.name);
    if (seen.has(dc.name)) {
      throw invalidInput(scope, 'datacenter names must be unique in a federation', dc.name, 'Rename one of the datacenters.');
    }
    seen.add(dc.name);
    if (dc.primaryDatacenter !== undefined && dc.primaryDatacenter !== props.primary.name) {
      throw invalidInput(scope, `datacenter "${dc.name}" expects primary "${dc.primaryDatacenter}" but the federation's primary is "${props.primary.name}"`,
        dc.primaryDatacenter, `Remove primaryDatacenter from "${dc.name}" or set it to "${props.primary.name}".`);
    }
  }
  if (props.primary.aclReplication === false) {
    throw invalidInput(scope, 'aclReplication is for secondaries: the primary is the source of ACLs', false, 'Remove aclReplication from the primary.');
  }
  for (const dc of props.secondaries) {
    if (method.throughMeshGateways && dc.aclReplication === false) {
      throw invalidInput(scope, `mesh-gateway federation needs ACL replication, which is off in "${dc.name}"`, false,
        `Remove aclReplication: false from "${dc.name}", or use FederationMethod.wanGossip().`);
    }
  }
}

import { Construct } from 'constructs';
import { ExportedServices } from '../config-entries/exported-services';
import { MeshConfig } from '../config-entries/mesh-config';
import { IntentionAction, ServiceIntentions } from '../config-entries/service-intentions';
import { gatewaysOf, IDatacenter, sameCluster } from '../datacenter/datacenter';
import { runtimeOf } from '../datacenter/runtime';
import { addDependencies, dependsOnAll } from '../internal/dependencies';
import { invalidInput, validationMessage } from '../internal/errors';
import { checkPeerName, checkServiceName } from '../internal/names';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { RecordList, StackRecords } from '../internal/stack-records';
import { checkHostPort, checkKeys } from '../internal/validation';
import { Peering, PeeringToken } from '../internal/providers';

/** A service to export across a `ClusterPeering`. */
export interface PeeredServiceOptions {
  /** The service, as named in the cluster that runs it. */
  readonly service: string;

  /**
   * The side that runs the service and exports it: the peering's acceptor or dialer.
   * @default - the acceptor
   */
  readonly exportedFrom?: IDatacenter;

  /**
   * Services of the other cluster allowed to call it: one allow intention
   * each, with `Sources[].Peer`, in the exporting cluster.
   * @default - none: the exporting cluster's intentions and default ACL policy decide
   */
  readonly allowedCallers?: string[];
}

/** A service exported across a `ClusterPeering`, as wired. */
export interface PeeredService {
  /** The exported service. */
  readonly service: string;

  /** The datacenter that runs and exports it. */
  readonly exportedFrom: IDatacenter;

  /** The datacenter whose services may consume it. */
  readonly consumer: IDatacenter;

  /** The name the consumer knows the exporter by: the `peer` of an upstream to this service. */
  readonly peer: string;

  /** Services of the consumer allowed to call it. */
  readonly allowedCallers: string[];
}

/** The peerings each datacenter takes part in, recorded in the datacenter's stack. */
const PEERINGS = new RecordList<ClusterPeering>('peerings');

const PEERED_SERVICE: Record<keyof PeeredServiceOptions, true> = { service: true, exportedFrom: true, allowedCallers: true };

/** Props of `ClusterPeering`. */
export interface ClusterPeeringProps {
  /** The datacenter that generates the peering token. */
  readonly acceptor: IDatacenter;

  /** The datacenter that establishes the peering with that token. */
  readonly dialer: IDatacenter;

  /**
   * The name the acceptor knows the dialer by (the token's `peer_name`).
   * @default - the dialer's datacenter name
   */
  readonly dialerName?: string;

  /**
   * The name the dialer knows the acceptor by (the peering's `peer_name`);
   * upstreams in the dialer's cluster use it as `peer`.
   * @default - the acceptor's datacenter name
   */
  readonly acceptorName?: string;

  /**
   * Send the peering's control-plane traffic through mesh gateways: the
   * `mesh` entry of both clusters gets `Peering.PeerThroughMeshGateways`, and
   * the token waits for the mesh gateways (which need `peering: true`).
   * Without it, the dialer's servers must reach the acceptor's servers'
   * gRPC TLS port (8503) directly.
   * @default true
   */
  readonly throughMeshGateways?: boolean;

  /**
   * `host:port` addresses the dialer should use for the acceptor
   * (`server_external_addresses`), e.g. behind NAT.
   * @default - the acceptor's servers, or its mesh gateways' WAN addresses
   * when peering through them. Without gateways between two Docker
   * datacenters: both sides' servers join the shared Docker network, and the
   * dialer dials the acceptor's servers there.
   */
  readonly acceptorServerAddresses?: string[];

  /**
   * Services to export across the peering.
   * @default - none yet: add them with exportService()
   */
  readonly exportedServices?: PeeredServiceOptions[];
}

/**
 * Cluster peering between two independent clusters, in the order Consul
 * documents, as Terraform dependencies: the `mesh` entries
 * (PeerThroughMeshGateways) and mesh gateway registrations of both sides →
 * the peering token (acceptor) → the peering (dialer) → the exported-services
 * entries → the intentions with `Sources[].Peer`.
 *
 * The token is sensitive: it reaches the dialer as a resource attribute
 * reference and never appears in cdk.tf.json.
 */
export class ClusterPeering extends Construct implements IFinalizable {
  /**
   * The names `datacenter` knows its peers by, over every ClusterPeering in
   * its stack: what an upstream's `peer` may name.
   */
  public static peerNamesOf(datacenter: IDatacenter): string[] {
    return peeringsOf(datacenter).map((p) => p.peerNameIn(datacenter));
  }

  /** The datacenter that generates the token. */
  public readonly acceptor: IDatacenter;
  /** The datacenter that establishes the peering. */
  public readonly dialer: IDatacenter;
  /** The name the acceptor knows the dialer by. */
  public readonly dialerName: string;
  /** The name the dialer knows the acceptor by. */
  public readonly acceptorName: string;
  /** Whether the control plane goes through mesh gateways. */
  public readonly throughMeshGateways: boolean;
  /** The `consul_peering_token` in the acceptor (its `peering_token` is sensitive). */
  public readonly token: PeeringToken;
  /** The `consul_peering` in the dialer. */
  public readonly peering: Peering;
  private readonly exported: PeeredService[] = [];

  constructor(scope: Construct, id: string, props: ClusterPeeringProps) {
    super(scope, id);
    const { acceptor, dialer } = props;
    if (sameCluster(acceptor, dialer)) {
      throw invalidInput(this, `"${acceptor.name}" and "${dialer.name}" are one cluster ("${acceptor.cluster}"): peering joins independent clusters`,
        [acceptor.name, dialer.name], 'Peer datacenters of different clusters; datacenters of one federation already reach each other.');
    }
    this.acceptor = acceptor;
    this.dialer = dialer;
    this.dialerName = checkPeerName(this, 'dialerName', props.dialerName ?? dialer.name);
    this.acceptorName = checkPeerName(this, 'acceptorName', props.acceptorName ?? acceptor.name);
    this.throughMeshGateways = props.throughMeshGateways ?? true;
    for (const address of props.acceptorServerAddresses ?? []) {
      checkHostPort(this, 'acceptorServerAddresses must be host:port', address, 'Use e.g. "203.0.113.7:8503" or "[2001:db8::7]:8503".');
    }

    const meshEntries = this.throughMeshGateways ? [acceptor, dialer].map((dc) => {
      if (!dc.connectEnabled) {
        throw invalidInput(this, `peering through mesh gateways needs Connect, which is disabled in datacenter "${dc.name}"`, false,
          'Enable Connect there, or set throughMeshGateways: false.');
      }
      const mesh = MeshConfig.of(dc);
      mesh._requirePeeringThroughMeshGateways(this);
      return mesh.resource;
    }) : [];

    // Direct peering between two runtimes whose servers' own addresses the
    // other side cannot reach (Docker: networks of their own): both offer
    // addresses (the dialer's servers join where the acceptor's are).
    const [acceptorRuntime, dialerRuntime] = [runtimeOf(acceptor), runtimeOf(dialer)];
    const directAddresses = !this.throughMeshGateways && props.acceptorServerAddresses === undefined
      && acceptorRuntime.directPeeringAddresses && dialerRuntime.directPeeringAddresses
      ? (dialerRuntime.directPeeringAddresses(), acceptorRuntime.directPeeringAddresses()) : undefined;
    this.token = new PeeringToken(this, 'Token', {
      provider: acceptor.provider,
      peerName: this.dialerName,
      serverExternalAddresses: props.acceptorServerAddresses ?? directAddresses,
      dependsOn: dependsOnAll([...acceptor.readiness, ...meshEntries]),
    });
    this.peering = new Peering(this, 'Peering', {
      provider: dialer.provider,
      peerName: this.acceptorName,
      peeringToken: this.token.peeringToken,
      dependsOn: dependsOnAll([...dialer.readiness, ...meshEntries]),
    });
    for (const service of props.exportedServices ?? []) this.exportService(service);

    for (const records of new Set([StackRecords.of(acceptor), StackRecords.of(dialer)])) records.add(PEERINGS, this);
    FinalizePass.of(this).add(this);
    this.node.addValidation({ validate: () => [...this.checkGateways(), ...this.checkNames()] });
  }

  /**
   * Exports a service to the other side: the exporting cluster's
   * exported-services entry names the consumer as a peer (after the peering
   * exists), and each allowed caller gets an allow intention (after the export).
   */
  public exportService(options: PeeredServiceOptions): PeeredService {
    checkKeys(this, `exportedServices[${this.exported.length}]`, options, PEERED_SERVICE, 'PeeredServiceOptions');
    const from = options.exportedFrom ?? this.acceptor;
    if (from !== this.acceptor && from !== this.dialer) {
      throw invalidInput(this, `exportedFrom must be the peering's acceptor or dialer, not "${from.name}"`, from.name,
        `Use "${this.acceptor.name}" or "${this.dialer.name}", or another ClusterPeering.`);
    }
    const service = checkServiceName(this, 'exported service', options.service);
    const callers = (options.allowedCallers ?? []).map((c) => checkServiceName(this, `caller of "${service}"`, c, 'every service of the peer'));
    if (this.exported.some((e) => e.service === service && e.exportedFrom === from)) {
      throw invalidInput(this, `"${service}" is already exported from "${from.name}" over this peering`, service, 'Export each service once; list all its callers there.');
    }
    const consumer = from === this.acceptor ? this.dialer : this.acceptor;
    const localNameOfConsumer = this.peerNameIn(from);

    const exports = ExportedServices.of(from);
    exports.exportService(service, [localNameOfConsumer]);
    addDependencies(exports.resource, [this.peering]);
    if (callers.length > 0) {
      const intentions = ServiceIntentions.of(from, service);
      for (const caller of callers) intentions.addSource({ name: caller, peer: localNameOfConsumer, action: IntentionAction.allow() });
      addDependencies(intentions.resource, [exports.resource]);
    }
    const peered: PeeredService = { service, exportedFrom: from, consumer, peer: this.peerNameIn(consumer), allowedCallers: callers };
    this.exported.push(peered);
    return { ...peered, allowedCallers: [...callers] };
  }

  /** The services exported across this peering, in the order added. */
  public get exportedServices(): PeeredService[] {
    return this.exported.map((e) => ({ ...e, allowedCallers: [...e.allowedCallers] }));
  }

  /** The name `datacenter` (the acceptor or the dialer) knows the other side by. */
  public peerNameIn(datacenter: IDatacenter): string {
    if (datacenter === this.acceptor) return this.dialerName;
    if (datacenter === this.dialer) return this.acceptorName;
    throw invalidInput(this, `"${datacenter.name}" is neither side of this peering`, datacenter.name,
      `Ask for "${this.acceptor.name}" or "${this.dialer.name}".`);
  }

  /**
   * Consul refuses a token until a gateway is registered, and the dialer
   * reaches the acceptor through its own: order both after registration
   * (gateways may be added after the peering).
   * @internal
   */
  public _finalize(): void {
    if (!this.throughMeshGateways) return;
    addDependencies(this.token, gatewaysOf(this.acceptor, 'mesh').flatMap((g) => g.registrations));
    addDependencies(this.peering, gatewaysOf(this.dialer, 'mesh').flatMap((g) => g.registrations));
  }

  /** A gateway without `peering = "read"` cannot carry peering traffic; a datacenter whose runtime runs gateways, without one, cannot get a token. */
  private checkGateways(): string[] {
    if (!this.throughMeshGateways) return [];
    const errors: string[] = [];
    for (const dc of [this.acceptor, this.dialer]) {
      const gateways = gatewaysOf(dc, 'mesh');
      for (const g of gateways.filter((gw) => !gw.peering)) {
        errors.push(validationMessage(`mesh gateway ${g.construct.node.path} of "${dc.name}" carries this peering but its policy lacks peering = "read"`,
          false, `Create it with peering: true (dc.addMeshGateway('${g.construct.node.id}', { peering: true })).`));
      }
      if (gateways.length === 0 && runtimeOf(dc).runsGateways) {
        errors.push(validationMessage(`peering through mesh gateways needs a mesh gateway in "${dc.name}", which has none`,
          [], `Add one: ${dc.node.id}.addMeshGateway('gateway', { peering: true }), or set throughMeshGateways: false.`));
      }
    }
    return errors;
  }

  /** Peer names are unique per datacenter: a second peering under one name would replace the first. */
  private checkNames(): string[] {
    const errors: string[] = [];
    for (const dc of [this.acceptor, this.dialer]) {
      const name = this.peerNameIn(dc);
      // Only peerings created earlier: each clash is named once, by the later one.
      const earlier = peeringsOf(dc);
      const clash = earlier.slice(0, earlier.indexOf(this)).find((o) => o.peerNameIn(dc) === name);
      if (clash) {
        errors.push(validationMessage(`"${dc.name}" already knows a peer as "${name}" (${clash.node.path})`, name,
          'Give each peering of a datacenter its own name (dialerName / acceptorName).'));
      }
    }
    return errors;
  }
}

/** The peerings `datacenter` takes part in, in the order created. */
function peeringsOf(datacenter: IDatacenter): ClusterPeering[] {
  return StackRecords.of(datacenter).all(PEERINGS).filter((p) => p.acceptor === datacenter || p.dialer === datacenter);
}

// What a peering between two clusters is, whether declared here
// (ClusterPeering) or already established (ClusterPeering.fromPeeringAttributes):
// its two sides, the names each knows the other by, and the services
// exported across it.
import { Construct, IConstruct } from 'constructs';
import { ExportedServices } from '../config-entries/exported-services';
import { IntentionAction, ServiceIntentions } from '../config-entries/service-intentions';
import { IDatacenter, sameCluster } from '../datacenter/datacenter';
import { addDependencies } from '../internal/dependencies';
import { invalidInput, validationMessage } from '../internal/errors';
import { checkPeerName, checkServiceName } from '../internal/names';
import { owned } from '../internal/owned';
import { RecordList, StackRecords } from '../internal/stack-records';
import { ITerraformDependable } from '../internal/tf';
import { checkKeys } from '../internal/validation';

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

/** A peering between two clusters, declared in this app or imported. */
export interface IClusterPeering extends IConstruct {
  /** The datacenter that generated the token. */
  readonly acceptor: IDatacenter;
  /** The datacenter that established the peering. */
  readonly dialer: IDatacenter;
  /** The name the acceptor knows the dialer by. */
  readonly dialerName: string;
  /** The name the dialer knows the acceptor by. */
  readonly acceptorName: string;
  /** The services exported across it, in the order added. */
  readonly exportedServices: PeeredService[];
  /** Exports a service to the other side; returns the export as stored. */
  exportService(options: PeeredServiceOptions): PeeredService;
  /** The name `datacenter` (the acceptor or the dialer) knows the other side by. */
  peerNameIn(datacenter: IDatacenter): string;
}

/** The two sides of a peering and their names for each other. */
export interface ClusterPeeringSides {
  /** The datacenter that generates (generated) the peering token. */
  readonly acceptor: IDatacenter;

  /** The datacenter that establishes (established) the peering with that token. */
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
}

/** The peerings each datacenter takes part in, recorded in the datacenter's stack. */
const PEERINGS = new RecordList<ClusterPeeringBase>('peerings');

const PEERED_SERVICE: Record<keyof PeeredServiceOptions, true> = { service: true, exportedFrom: true, allowedCallers: true };

/** What every peering shares: its sides, their names, and the exports across it. */
export abstract class ClusterPeeringBase extends Construct implements IClusterPeering {
  /** The datacenter that generated the token. */
  public readonly acceptor: IDatacenter;
  /** The datacenter that established the peering. */
  public readonly dialer: IDatacenter;
  /** The name the acceptor knows the dialer by. */
  public readonly dialerName: string;
  /** The name the dialer knows the acceptor by. */
  public readonly acceptorName: string;
  private readonly exported: PeeredService[] = [];

  constructor(scope: Construct, id: string, sides: ClusterPeeringSides) {
    super(scope, id);
    const { acceptor, dialer } = sides;
    if (sameCluster(acceptor, dialer)) {
      throw invalidInput(this, `"${acceptor.name}" and "${dialer.name}" are one cluster ("${acceptor.cluster}"): peering joins independent clusters`,
        [acceptor.name, dialer.name], 'Peer datacenters of different clusters; datacenters of one federation already reach each other.');
    }
    this.acceptor = acceptor;
    this.dialer = dialer;
    this.dialerName = checkPeerName(this, 'dialerName', sides.dialerName ?? dialer.name);
    this.acceptorName = checkPeerName(this, 'acceptorName', sides.acceptorName ?? acceptor.name);
    for (const records of new Set([StackRecords.of(acceptor), StackRecords.of(dialer)])) records.add(PEERINGS, this);
    this.node.addValidation({ validate: () => this.checkNames() });
  }

  /**
   * Exports a service to the other side: the exporting cluster's
   * exported-services entry names the consumer as a peer (after the peering
   * exists), and each allowed caller gets an allow intention (after the export).
   * Returns the export as stored (read-only: the one `exportedServices` lists).
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
    addDependencies(exports.resource, this._exportsAfter());
    if (callers.length > 0) {
      const intentions = ServiceIntentions.of(from, service);
      for (const caller of callers) intentions.addSource({ name: caller, peer: localNameOfConsumer, action: IntentionAction.allow() });
      addDependencies(intentions.resource, [exports.resource]);
    }
    const peered = owned<PeeredService>({ service, exportedFrom: from, consumer, peer: this.peerNameIn(consumer), allowedCallers: callers });
    this.exported.push(peered);
    return peered;
  }

  /** The services exported across this peering, in the order added. */
  public get exportedServices(): PeeredService[] {
    return [...this.exported];
  }

  /** The name `datacenter` (the acceptor or the dialer) knows the other side by. */
  public peerNameIn(datacenter: IDatacenter): string {
    if (datacenter === this.acceptor) return this.dialerName;
    if (datacenter === this.dialer) return this.acceptorName;
    throw invalidInput(this, `"${datacenter.name}" is neither side of this peering`, datacenter.name,
      `Ask for "${this.acceptor.name}" or "${this.dialer.name}".`);
  }

  /** What the exported-services entries wait for (the peering, when it is created here). @internal */
  protected abstract _exportsAfter(): ITerraformDependable[];

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

/** The peerings `datacenter` takes part in, in the order created. @internal */
export function peeringsOf(datacenter: IDatacenter): ClusterPeeringBase[] {
  return StackRecords.of(datacenter).all(PEERINGS).filter((p) => p.acceptor === datacenter || p.dialer === datacenter);
}

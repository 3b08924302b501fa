import { IConstruct } from 'constructs';
import { ConsulVersion } from './consul-version';
import { invalidInput } from '../internal/errors';
import { ConsulProvider } from '../internal/providers';
import { FinalizePass } from '../internal/finalize-pass';
import { RecordList, StackRecords } from '../internal/stack-records';
import { ITerraformDependable } from '../internal/tf';

/** A Consul datacenter that constructs can configure, whoever runs it. */
export interface IDatacenter extends IConstruct {
  /** The datacenter name Consul knows (`datacenter` in the agent config). */
  readonly name: string;

  /** The federation's primary datacenter (this one's own name when it is the primary). */
  readonly primaryDatacenter: string;

  /**
   * The cluster (a federation, or one datacenter alone) this datacenter
   * belongs to, unique in the stack. Config entries are one per cluster;
   * peering joins two clusters. The primary's name unless told otherwise:
   * two clusters that both call their primary `dc1` need distinct ones.
   */
  readonly cluster: string;

  /** The `consul` provider that manages this datacenter. */
  readonly provider: ConsulProvider;

  /**
   * The provider for global state (ACL policies and tokens, config entries):
   * it addresses the primary datacenter. A secondary forwards such writes to
   * the primary but answers reads from a replica that lags, so a read right
   * after a write (the token secret, the provider's refresh) can miss.
   * The same as `provider` in a primary.
   */
  readonly globalProvider: ConsulProvider;

  /** Whether Connect (service mesh) is enabled on its servers. */
  readonly connectEnabled: boolean;

  /**
   * The Consul version its servers run: the library renders only what this
   * version accepts, and refuses at synth what it lacks.
   */
  readonly consulVersion: ConsulVersion;

  /**
   * Whether its workloads can reach workloads in other datacenters without
   * mesh gateways. Decides whether a cross-datacenter upstream in mode
   * `none` is an error or a warning.
   */
  readonly directlyRoutable: boolean;

  /**
   * Resources that must be complete before anything is written to this
   * datacenter (e.g. its servers reporting a leader). Empty for a datacenter
   * that already runs.
   */
  readonly readiness: ITerraformDependable[];
}

/**
 * What a peering token or peering made through `dc` waits on: its readiness,
 * and for a secondary whose servers started without the replication token,
 * its hand-over (the primary signs the secondary's Connect CA only once it
 * holds the token, and a peering token carries the CA's roots).
 * @internal
 */
export function replicationReadiness(dc: IDatacenter): ITerraformDependable[] {
  return (dc as { _replicating?: ITerraformDependable[] })._replicating ?? dc.readiness;
}

/**
 * What a config entry written through `dc` waits on: its readiness, and for
 * a federation's primary whose servers are in a stack of their own, its
 * secondaries' replication (DockerDatacenter).
 * @internal
 */
export function entryReadiness(dc: IDatacenter): ITerraformDependable[] {
  return (dc as { _entryReadiness?: ITerraformDependable[] })._entryReadiness ?? dc.readiness;
}

/**
 * The datacenter's name in the stack: its provider alias and the prefix of
 * files written per datacenter. The datacenter name, qualified by the
 * cluster when that is not the primary's name (two clusters' `dc1`).
 * @internal
 */
export function providerAlias(dc: IDatacenter): string {
  return dc.cluster === dc.primaryDatacenter ? dc.name : `${dc.cluster}-${dc.name}`;
}

/**
 * Two datacenters with one provider alias would be one provider to Terraform
 * (which refuses the duplicate), and one cluster to the config entries.
 * @internal
 */
export function claimProviderAlias(dc: IDatacenter, fix: string): void {
  // Its stack runs the validations of the app's other stacks before it is written.
  FinalizePass.of(dc);
  const first = StackRecords.of(dc).claim('provider-alias', providerAlias(dc), dc);
  if (first !== undefined) {
    throw invalidInput(dc, `datacenter "${dc.name}" of cluster "${dc.cluster}" is already declared at ${first.node.path}`, dc.name, fix);
  }
}

/**
 * Config entries are global to a cluster: the datacenters of a federation
 * share their primary's (see IDatacenter.cluster).
 */
export function sameCluster(a: IDatacenter, b: IDatacenter): boolean {
  return a === b || a.cluster === b.cluster;
}

/** What every gateway records about itself, for its datacenter and the constructs that route through it. @internal */
export interface GatewayRecord {
  /** The gateway construct. */
  readonly construct: IConstruct;
  readonly kind: 'mesh' | 'ingress' | 'terminating';
  readonly datacenter: IDatacenter;
  /** Its Consul service name: names its policy, token and containers in the datacenter. */
  readonly service: string;
  /** Ports its process takes: its registered port, and an ingress gateway's listeners. */
  ports(): number[];
  /** Complete once every replica the library runs is registered (none where the operator runs it). */
  readonly registrations: ITerraformDependable[];
  /** `host:port` WAN addresses of the replicas the library runs (mesh gateways only). */
  readonly wanAddresses: string[];
  /** Registered with `-expose-servers`. */
  readonly exposesServers: boolean;
  /** Its policy has `peering = "read"`. */
  readonly peering: boolean;
}

/** The stack's gateways, in the order created. @internal */
export const GATEWAYS = new RecordList<GatewayRecord>('gateways');

/** Records a gateway (declared or imported) in its datacenter's stack. @internal */
export function recordGateway(record: GatewayRecord): void {
  StackRecords.of(record.datacenter).add(GATEWAYS, record);
}

/** The gateways of `datacenter` in its stack, of one kind if given. @internal */
export function gatewaysOf(datacenter: IDatacenter, kind?: GatewayRecord['kind']): GatewayRecord[] {
  return StackRecords.of(datacenter).all(GATEWAYS).filter((g) => g.datacenter === datacenter && (kind === undefined || g.kind === kind));
}

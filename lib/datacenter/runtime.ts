// The seam between the generic constructs and whatever runs a datacenter.
//
// Gateways, peering and federation ask a datacenter's runtime to do what
// only the runtime can (start a gateway's processes, publish ports, offer
// addresses for direct peering) and never import a runtime's code. A
// datacenter the operator runs has the operator's runtime: registration
// and ACLs only. `DockerDatacenter` fills it with containers
// (lib/docker/gateway-processes.ts); a second runtime (agents on VMs,
// Podman, Kubernetes) implements `DatacenterRuntime` and returns it from
// its datacenter's `_runtime`.
import { Construct, IConstruct } from 'constructs';
import { IDatacenter } from './datacenter';
import { ITerraformDependable } from '../internal/tf';

/** What a gateway asks its datacenter's runtime to run. @internal */
export interface GatewayProcessSpec {
  /** `mesh`, `ingress` or `terminating` (the `-gateway` flag of `consul connect envoy`). */
  readonly kind: string;
  readonly service: string;
  readonly replicas: number;
  readonly port: number;
  /** The gateway token's SecretID (a sensitive reference). */
  readonly tokenSecret: string;
  readonly exposeServers: boolean;
  readonly startEnvoy: boolean;
  readonly envoyImage: string;
  /** What registration waits for (the token's secret). */
  readonly dependsOn: ITerraformDependable[];
}

/** One replica a runtime runs. @internal */
export interface GatewayReplica {
  readonly proxyId: string;
  /** `host:port` on the datacenter's LAN. */
  readonly lanAddress: string;
  /** `host:port` other datacenters reach it at (mesh gateways only). */
  readonly wanAddress?: string;
  /** Complete once the replica is registered (and its proxy bootstrapped). */
  readonly registration: ITerraformDependable;
}

/** The processes a runtime runs for one gateway. @internal */
export interface GatewayProcesses {
  /** Empty where the operator runs the gateway. */
  readonly replicas: GatewayReplica[];
  /**
   * Publishes `ports` of the first replica on the host's loopback (ingress
   * listeners), read once the tree is complete; a port another construct
   * publishes is reported on `owner`. Nothing where no process runs.
   */
  publishOnHost(owner: IConstruct, ports: () => number[], fix: string): void;
}

/** What a datacenter's runtime does for the generic constructs. @internal */
export interface DatacenterRuntime {
  /** Whether it runs gateway processes (a peering through gateways then needs one declared). */
  readonly runsGateways: boolean;
  /** Servers federate through mesh gateways: those expose the servers unless told otherwise. */
  readonly meshGatewayFederation: boolean;
  /** Builds a gateway's processes under `gateway`. */
  runGateway(gateway: Construct, spec: GatewayProcessSpec): GatewayProcesses;
  /**
   * The `host:port` addresses another cluster's servers dial for direct
   * peering, when the servers' own addresses are not reachable from there.
   * Absent where the servers advertise reachable addresses themselves.
   */
  directPeeringAddresses?(): string[];
  /**
   * Deletes the earlier generations of a token once `spec.after` is done
   * (the new one handed over): every token of `spec.description` but
   * `spec.keep`. Absent where nothing runs in the datacenter: OpenTofu then
   * deletes the old token itself (see lib/internal/token-rotation.ts).
   */
  retireTokens?(scope: Construct, spec: TokenRetirement): void;
}

/** Which tokens a rotation retires, and when. @internal */
export interface TokenRetirement {
  /** What the token is for, as Docker object names take it (e.g. the gateway's service name). */
  readonly name: string;
  /** The description every generation of the token carries. */
  readonly description: string;
  /** The AccessorID of the generation to keep. */
  readonly keep: string;
  /** What hands the new generation over. */
  readonly after: ITerraformDependable[];
}

const NO_PROCESSES: GatewayProcesses = { replicas: [], publishOnHost: () => undefined };

/** A datacenter the operator runs: the library registers and grants, the operator starts Envoy. @internal */
export const OPERATOR_RUNTIME: DatacenterRuntime = {
  runsGateways: false,
  meshGatewayFederation: false,
  runGateway: () => NO_PROCESSES,
};

/**
 * The runtime of `datacenter`: its own `_runtime` (see `DatacenterBase`),
 * or the operator's for an `IDatacenter` implemented elsewhere.
 * @internal
 */
export function runtimeOf(datacenter: IDatacenter): DatacenterRuntime {
  return (datacenter as { _runtime?: DatacenterRuntime })._runtime ?? OPERATOR_RUNTIME;
}

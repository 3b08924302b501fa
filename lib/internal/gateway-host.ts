import { ITerraformDependable } from './tf';
import { IConstruct } from 'constructs';

/** What a gateway asks of the datacenter that runs its process. */
export interface GatewayProcessSpec {
  readonly gateway: IConstruct;
  /** `mesh`, `ingress` or `terminating` (the `-gateway` flag). */
  readonly kind: string;
  readonly service: string;
  readonly replicas: number;
  readonly port: number;
  readonly tokenSecret: string;
  readonly exposeServers: boolean;
  readonly startEnvoy: boolean;
  readonly envoyImage: string;
  readonly dependsOn: ITerraformDependable[];
  /**
   * Ports the first replica's Envoy publishes on 127.0.0.1 (same numbers),
   * read at synth; none when absent.
   */
  readonly publishedPorts?: () => number[];
}

/** One gateway replica as placed: its addresses and the resources that ran it. */
export interface GatewayInstance {
  readonly proxyId: string;
  readonly lanAddress: string;
  /** Mesh gateways only: the others never join the WAN network. */
  readonly wanAddress?: string;
  /** Completes once the gateway is registered and its Envoy bootstrap written. */
  readonly registration: ITerraformDependable;
}

/**
 * Implemented by datacenters that run gateway processes themselves (Docker).
 * A datacenter that already exists leaves the process to its operator.
 * @internal
 */
export interface GatewayHost {
  /** True when servers federate through mesh gateways, so gateways expose them. */
  readonly _meshGatewayFederation: boolean;
  _runGateway(spec: GatewayProcessSpec): GatewayInstance[];
  /**
   * Makes the servers reachable by another cluster's servers (for peering
   * without gateways) and returns the `host:port` addresses to dial.
   */
  _directPeeringAddresses(): string[];
}

export function gatewayHostOf(datacenter: unknown): GatewayHost | undefined {
  const candidate = datacenter as Partial<GatewayHost>;
  return typeof candidate._runGateway === 'function' ? candidate as GatewayHost : undefined;
}

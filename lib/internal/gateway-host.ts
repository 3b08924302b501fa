import { ITerraformDependable } from './tf';
import { IConstruct } from 'constructs';

/** The Envoy image gateways run by default (Consul 1.19 supports Envoy 1.26 to 1.29). */
export const ENVOY_IMAGE = 'envoyproxy/envoy:v1.29.12';

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
}

export function gatewayHostOf(datacenter: unknown): GatewayHost | undefined {
  const candidate = datacenter as Partial<GatewayHost>;
  return typeof candidate._runGateway === 'function' ? candidate as GatewayHost : undefined;
}

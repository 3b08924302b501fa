// What MeshGatewayModes computes for each upstream: the mode, and the
// layer (of Consul's precedence) that decided it.

/** The places a mesh gateway mode can be set, strongest first. */
export enum MeshGatewayModeLayer {
  /** The upstream's own `mesh_gateway`. */
  UPSTREAM = 'UPSTREAM',
  /** The downstream service's service-defaults `UpstreamConfig.Overrides[]` for this upstream. */
  UPSTREAM_OVERRIDE = 'UPSTREAM_OVERRIDE',
  /** The service instance's sidecar `proxy.mesh_gateway`. */
  SERVICE_INSTANCE = 'SERVICE_INSTANCE',
  /** The downstream service's service-defaults `UpstreamConfig.Defaults`. */
  UPSTREAM_DEFAULTS = 'UPSTREAM_DEFAULTS',
  /** The downstream service's service-defaults `MeshGateway`. */
  SERVICE_DEFAULTS = 'SERVICE_DEFAULTS',
  /** proxy-defaults `MeshGateway`. */
  PROXY_DEFAULTS = 'PROXY_DEFAULTS',
  /**
   * The target service's service-defaults `MeshGateway` (after a resolver's
   * redirect, the service redirected to): it decides the discovery chain's
   * target only when nothing above set a mode. For an ingress gateway, whose
   * upstreams carry no mode, it comes first, before proxy-defaults.
   */
  DESTINATION_SERVICE_DEFAULTS = 'DESTINATION_SERVICE_DEFAULTS',
  /** Nothing set: `none` across a federation, `remote` for a peer. */
  BUILT_IN = 'BUILT_IN',
}

/** One target of one upstream of one service (or ingress gateway), and the mode its traffic will use. */
export interface MeshGatewayModeExplanation {
  /** The downstream: a service, or an ingress gateway's service name. */
  readonly service: string;
  /** What the downstream is: `sidecar` (a MeshService) or `ingress-gateway`. */
  readonly proxyKind: string;
  /** Its datacenter. */
  readonly datacenter: string;
  /** The upstream (destination) service, as the downstream names it. */
  readonly upstream: string;
  /** The service the target serves: the upstream, or where a resolver redirects it. */
  readonly targetService: string;
  /** Where the target lives: a datacenter name, or `peer:<name>`. */
  readonly target: string;
  /** The datacenter the discovery chain is compiled in: the upstream's datacenter (the downstream's for a peer). */
  readonly chainDatacenter: string;
  /** How the target was reached: `""` (directly), `redirect` or `failover`. */
  readonly via: string;
  /** Construct path of the ServiceResolver that routed it (empty when none did). */
  readonly resolvedAt: string;
  /** Whether traffic leaves the service's datacenter (only then do gateways matter). */
  readonly crossesDatacenter: boolean;
  /** The mode the discovery chain's target gets: local, remote or none. */
  readonly mode: string;
  /** The layer that decided it. */
  readonly decidedBy: MeshGatewayModeLayer;
  /** Construct path of what set it (empty for the built-in default). */
  readonly decidedAt: string;
  /**
   * What Consul reports for this upstream in `/v1/agent/service/<sidecar-id>`
   * (the downstream layers only; empty when none of them set a mode, and
   * always for an ingress gateway, whose upstreams carry no mode).
   */
  readonly agentMode: string;
}

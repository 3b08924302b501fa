/**
 * How the servers of different datacenters reach each other.
 */
export class FederationMethod {
  /**
   * Classic WAN federation: every server gossips with every other over a
   * routable WAN network (`retry_join_wan`).
   */
  public static wanGossip(): FederationMethod {
    return new FederationMethod('wan-gossip');
  }

  /**
   * WAN federation through mesh gateways (Consul 1.8+): only gateways are
   * reachable across datacenters; servers need TLS and secondaries dial the
   * primary's gateways (`primary_gateways`). Needs Envoy running.
   */
  public static meshGateways(): FederationMethod {
    return new FederationMethod('mesh-gateways');
  }

  private constructor(
    /** `wan-gossip` or `mesh-gateways`. */
    public readonly kind: string,
  ) {}

  /** True for federation through mesh gateways. */
  public get throughMeshGateways(): boolean {
    return this.kind === 'mesh-gateways';
  }
}

import { FederationMethod } from './federation-method';

/**
 * What a secondary declared in another stack (or another app) needs of its
 * primary: where to reach it, and the token to replicate ACLs with. In one
 * app, `DockerDatacenter.federationJoin()` gives it, and the token crosses
 * stacks as a sensitive output; across apps, build it from the primary
 * stack's outputs, the token from a sensitive variable.
 */
export interface FederationJoin {
  /** The primary datacenter's name. */
  readonly primaryDatacenter: string;

  /** How the federation's servers reach each other: the primary's method. */
  readonly method: FederationMethod;

  /**
   * `address:port` of each primary server's WAN gossip, on its host
   * (`retry_join_wan`; used with FederationMethod.wanGossip()).
   */
  readonly serverWanAddresses: string[];

  /**
   * `address:port` of the primary's mesh gateways, on its host
   * (`primary_gateways`; used with FederationMethod.meshGateways()).
   */
  readonly meshGatewayWanAddresses: string[];

  /**
   * `address:port` of the primary's HTTPS API as the secondary's Terraform
   * reaches it: the secondary's servers' ACL tokens are written there.
   */
  readonly primaryApiAddress: string;

  /** The secret of the ACL replication token, as a reference (never a literal). */
  readonly replicationToken: string;
}

/** The props keys of a FederationJoin, for the unknown-key check. @internal */
export const FEDERATION_JOIN_KEYS: Record<keyof FederationJoin, true> = {
  primaryDatacenter: true, method: true, serverWanAddresses: true, meshGatewayWanAddresses: true, primaryApiAddress: true, replicationToken: true,
};

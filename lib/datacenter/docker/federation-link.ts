import { CertificateAuthority } from './certificates';
import { ITerraformDependable } from '../../internal/tf';

/** What a secondary reads of its federation's primary, once the tree is complete. @internal */
export interface FederationPrimary {
  readonly name: string;
  /** The servers' addresses on the shared network (WAN gossip). */
  readonly _serverWanAddresses: string[];
  /** WAN addresses of its mesh gateways: the secondary's `primary_gateways`. */
  readonly meshGatewayWanAddresses: string[];
  /** Its mesh gateways' registrations: a secondary's servers start after them. */
  readonly _meshGatewayRegistrations: ITerraformDependable[];
}

/**
 * How a federation wires one of its datacenters: set by ConsulFederation
 * through the props object, invisible in the public API.
 */
export interface FederationLink {
  /** Servers gossip over the shared WAN network (classic federation). */
  readonly wanGossip: boolean;
  readonly meshGatewayFederation: boolean;
  readonly primary?: FederationPrimary;
  readonly replicationToken?: string;
  /** The servers' CA, in mesh-gateway federation. */
  readonly ca?: CertificateAuthority;
}

/** The props key a federation passes its link under. */
export const FEDERATION_LINK = '_federation';

/** The link in `props`, if a federation set one. */
export function federationLinkOf(props: object): FederationLink | undefined {
  return (props as { [FEDERATION_LINK]?: FederationLink })[FEDERATION_LINK];
}

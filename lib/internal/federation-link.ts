import { ITerraformDependable } from './tf';
import type { DockerDatacenter } from '../datacenter/docker-datacenter';
import { Volume } from './providers';

/**
 * How a federation wires one of its datacenters: set by ConsulFederation
 * through the props object, invisible in the public API.
 */
export interface FederationLink {
  /** Servers gossip over the shared WAN network (classic federation). */
  readonly wanGossip: boolean;
  readonly meshGatewayFederation: boolean;
  readonly primary?: DockerDatacenter;
  readonly replicationToken?: string;
  readonly caVolume?: Volume;
  readonly caReady?: ITerraformDependable;
}


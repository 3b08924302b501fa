// The props of a Docker datacenter: what describes one datacenter, alone or
// in a federation (DatacenterOptions), and what a datacenter on its own adds.
import type { ConsulVersion } from '../datacenter/consul-version';
import type { DatacenterTls } from '../datacenter/datacenter-tls';
import type { FederationJoin } from '../datacenter/federation-join';
import type { FederationMethod } from '../datacenter/federation-method';
import type { LogLevel } from '../datacenter/log-level';
import type { DockerProvider } from '../internal/providers';
import type { TerraformStack } from '../internal/tf';

/** What describes one datacenter, alone or as part of a federation. */
export interface DatacenterOptions {
  /** Datacenter name: lowercase letters, digits and dashes. */
  readonly name: string;

  /**
   * Number of Consul servers. Raft needs an odd number to keep a majority.
   * @default 1
   */
  readonly servers?: number;

  /**
   * Deploy a change of `servers` that removes more servers at once than the
   * deployed datacenter can lose (3 -> 1, 5 -> 1, 7 -> 3), which a plan
   * otherwise refuses: set it only once the servers to remove have left the
   * peer set (`consul leave`, their containers kept from restarting), and
   * unset it after. The refusal reads the count the stack's own state
   * recorded, so it needs a local backend (cdktf's default).
   * @default false
   */
  readonly allowUnsafeServerRemoval?: boolean;

  /**
   * Host port (on 127.0.0.1, and on `hostAddress` if set) the first
   * server's HTTP API is published on (HTTPS with `tls`); the datacenter's
   * `consul` provider talks to it (at `hostAddress` if set).
   * @default 8500 (in a federation: 8500, 8501, ... in declaration order)
   */
  readonly httpPort?: number;

  /**
   * The datacenter's own Docker network, a /24.
   * @default - 10.249.1.0/24, 10.249.2.0/24, ... in declaration order
   */
  readonly lanSubnet?: string;

  /**
   * Enable Connect (service mesh) on the servers. Gateways need it.
   * @default true
   */
  readonly connect?: boolean;

  /**
   * The primary datacenter this one expects. Only a check in a federation,
   * where the federation's primary decides.
   * @default - this datacenter (alone) or the federation's primary
   */
  readonly primaryDatacenter?: string;

  /**
   * Replicate ACLs from the primary (secondaries only). Mesh-gateway
   * federation cannot work without it.
   * @default true
   */
  readonly aclReplication?: boolean;

  /**
   * Consul image for servers and gateway registration.
   * @default DockerDatacenter.DEFAULT_IMAGE (or the federation's image)
   */
  readonly image?: string;

  /**
   * The Consul version the image runs, which decides what the library renders
   * (see `ConsulVersion`). For an image whose tag names a version, the two
   * must agree.
   * @default - the version the image's tag names; for a tag that names none
   * (e.g. `latest`), the default image's version
   */
  readonly consulVersion?: ConsulVersion;

  /**
   * Whether workloads here can reach other datacenters' workloads without
   * gateways.
   * @default false (each datacenter's workloads sit on their own Docker network)
   */
  readonly directlyRoutable?: boolean;

  /**
   * Consul agent log level.
   * @default LogLevel.INFO
   */
  readonly logLevel?: LogLevel;

  /**
   * Seconds a server must be healthy before autopilot makes it a voter
   * (Consul's `server_stabilization_time`): the wait of every server that
   * joins, or restarts after it left (each step of a rolling change, a new
   * server of a resize). Set by the first server's upgrade step on every
   * deploy (`consul operator autopilot set-config`), so a change converges
   * without a restart. Shorter makes rolling changes faster; a server whose
   * health flaps may then vote too early.
   * @default - Consul's own (10 s), not set by the library
   */
  readonly serverStabilizationSeconds?: number;

  /**
   * The IPv4 address other datacenters' hosts reach this datacenter's Docker
   * host at. WAN traffic then goes over it instead of a Docker network the
   * datacenters share: each server publishes its RPC and WAN gossip ports
   * there (server i: 8300+10i and 8302+10i, TCP and UDP) and advertises it,
   * mesh gateways publish their port there (replica r: port+r), and the
   * API is published there on `httpPort`. Needs `tls`: this traffic leaves
   * the host.
   * @default - none: the datacenter talks to others over a Docker network on its own engine
   */
  readonly hostAddress?: string;

  /**
   * Docker provider (engine) to create the datacenter's containers with.
   * @default - in a federation, the federation's; else one provider for the stack, talking to the local engine
   */
  readonly dockerProvider?: DockerProvider;
}

/** @internal */
export const DATACENTER_OPTIONS: Record<keyof DatacenterOptions, true> = {
  name: true, servers: true, allowUnsafeServerRemoval: true, httpPort: true, lanSubnet: true, connect: true, primaryDatacenter: true,
  aclReplication: true, image: true, consulVersion: true, directlyRoutable: true, logLevel: true, serverStabilizationSeconds: true,
  hostAddress: true, dockerProvider: true,
};

/** A datacenter run as Docker containers. */
export interface DockerDatacenterProps extends DatacenterOptions {
  /**
   * The initial management token, as a reference (never a literal).
   * @default - a sensitive variable `<id>_management_token`
   */
  readonly managementToken?: string;

  /**
   * The gossip encryption key, as a reference (never a literal).
   * @default - a sensitive variable `<id>_gossip_key`
   */
  readonly gossipKey?: string;

  /**
   * Prefix for Docker container, network and volume names.
   * @default "consul"
   */
  readonly namePrefix?: string;

  /**
   * The generation of the servers' TLS certificates, with `tls`: one more
   * re-issues every server's certificate from the CA, in one deploy and
   * without a restart. A new `tls.caCertificate` is rolled out the same way
   * whatever this is, both CAs trusted while the servers change over.
   * @default 1
   */
  readonly tlsGeneration?: number;

  /**
   * A CA for the servers' certificates: RPC TLS with both ends and hostnames
   * verified, the API over HTTPS (published on `httpPort`), and providers
   * that verify it.
   * @default - no TLS
   */
  readonly tls?: DatacenterTls;

  /**
   * Makes this datacenter the primary of a federation whose secondaries are
   * declared in other stacks or apps, each on its own host (see
   * `federationJoin()`). Needs `hostAddress` and `tls`.
   * @default - a datacenter on its own (or, in a ConsulFederation, the federation's method)
   */
  readonly federationMethod?: FederationMethod;

  /**
   * Makes this datacenter a secondary of the primary `join` describes,
   * declared in another stack or app. Needs `hostAddress` and `tls` (the
   * primary's CA). Destroying its stack takes it out of the federation: its
   * servers leave on the way down, and its tokens go from the primary.
   * @default - a datacenter on its own
   */
  readonly join?: FederationJoin;

  /**
   * A stack of the same app, applied before this datacenter's own, to hold
   * its servers: containers, data volumes, network, certificates, and the
   * secret variables they start with. The Consul side (provider, ACLs,
   * config entries, gateways, the servers' agent tokens) stays in the
   * datacenter's stack, which depends on that one. A plain apply then heals
   * a dead server (the servers' stack recreates it, with its data, before
   * anything is read through it), and a plain destroy takes the Consul side
   * down while the servers still run. Secrets you pass as references must
   * come from that stack (the Consul side reads them from it).
   * @default - the servers are in the datacenter's own stack
   */
  readonly serverStack?: TerraformStack;
}

/** Options of `DockerDatacenter.federationJoin()`. */
export interface FederationJoinOptions {
  /**
   * `address:port` of this datacenter's API as the secondaries' Terraform
   * reaches it.
   * @default - `<hostAddress>:<httpPort>`
   */
  readonly primaryApiAddress?: string;
}

// Consul agent configuration, rendered as the JSON the agent reads from
// /consul/config. Secrets arrive as unresolved tokens, so the JSON written to
// cdk.tf.json holds `${var...}` / `${data...}` references, never values.

export const CONSUL_PORTS = {
  http: 8500,
  https: 8501,
  grpc: 8502,
  grpc_tls: 8503,
  dns: 8600,
  serf_lan: 8301,
  serf_wan: 8302,
  server: 8300,
} as const;

export const CONFIG_DIR = '/consul/config';
export const DATA_DIR = '/consul/data';
export const TLS_DIR = '/consul/tls';
/** The file of CONFIG_DIR with what a running server takes without a restart (`renderLiveConfig`). */
export const LIVE_CONFIG = 'live.json';

export interface ServerConfigInput {
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly nodeName: string;
  readonly bootstrapExpect: number;
  readonly advertiseAddr: string;
  readonly advertiseAddrWan?: string;
  readonly retryJoin: string[];
  readonly retryJoinWan: string[];
  readonly primaryGateways: string[];
  readonly meshGatewayFederation: boolean;
  /** Servers hold certificates of the datacenter's CA: RPC (and gRPC) verify both ends and the server hostname. */
  readonly serverTls: boolean;
  /** Also serve the HTTP API over TLS on the https port. */
  readonly https: boolean;
  /** Ports that differ from CONSUL_PORTS (several servers publishing on one host). */
  readonly ports?: Partial<Record<keyof typeof CONSUL_PORTS, number>>;
  /** Leave the federation on SIGTERM: a secondary whose stack is destroyed departs cleanly. */
  readonly leaveOnTerminate?: boolean;
  /** Linger 1 s after leaving instead of Consul's 5 s (a leave that must finish within a stop's grace). */
  readonly shortLeaveDrain?: boolean;
  readonly connect: boolean;
  readonly gossipKey: string;
  readonly managementToken?: string;
  readonly replicationToken?: string;
  readonly logLevel: string;
}

/**
 * What a server restarts for when it changes (the upgrade steps roll the
 * datacenter through it). The gossip key, the replication token and what
 * depends on how many servers there are (whom to join, how many to expect)
 * are not in it: see `renderLiveConfig`.
 */
export function renderServerConfig(i: ServerConfigInput): Record<string, unknown> {
  const isPrimary = i.datacenter === i.primaryDatacenter;
  const tokens: Record<string, string> = {};
  if (isPrimary && i.managementToken) tokens.initial_management = i.managementToken;

  const config: Record<string, unknown> = {
    datacenter: i.datacenter,
    primary_datacenter: i.primaryDatacenter,
    node_name: i.nodeName,
    server: true,
    data_dir: DATA_DIR,
    log_level: i.logLevel,
    // No calls home: these machines (and many production networks) reach nothing outside.
    disable_update_check: true,
    // HashiCorp's production setting: elections in ~1 s instead of 5-10 s (apply 23 s -> 8 s in the e2e suite).
    // A server whose whole leave must fit its stop's grace (a secondary across stacks) waits 1 s for in-flight
    // RPCs instead of 5 s; others keep the 5 s, which serves the reads in flight when an upgrade step makes one leave.
    performance: { raft_multiplier: 1, ...(i.shortLeaveDrain ? { leave_drain_time: '1s' } : {}) },
    // Containers on two networks have two private addresses: bind everywhere,
    // advertise the one on each network explicitly.
    bind_addr: '0.0.0.0',
    client_addr: '0.0.0.0',
    advertise_addr: i.advertiseAddr,
    ...(i.advertiseAddrWan ? { advertise_addr_wan: i.advertiseAddrWan } : {}),
    // Joins retry every second instead of Consul's 30 s: a server that starts
    // before its peers answer joins a second after they do.
    retry_interval: '1s',
    ...(i.retryJoinWan.length > 0 ? { retry_interval_wan: '1s' } : {}),
    ...(i.primaryGateways.length > 0 ? { primary_gateways: i.primaryGateways, primary_gateways_interval: '5s' } : {}),
    ports: { ...CONSUL_PORTS, ...(i.https ? {} : { https: -1 }), ...i.ports },
    ...(i.leaveOnTerminate ? { leave_on_terminate: true } : {}),
    connect: {
      enabled: i.connect,
      ...(i.meshGatewayFederation ? { enable_mesh_gateway_wan_federation: true } : {}),
    },
    acl: {
      enabled: true,
      default_policy: 'deny',
      down_policy: 'extend-cache',
      enable_token_persistence: true,
      ...(isPrimary ? {} : { enable_token_replication: true }),
      tokens,
    },
    ui_config: { enabled: true },
  };
  if (i.serverTls) {
    // Certificates name `server.<dc>.consul`: servers verify each other's
    // hostnames (mesh gateways route their traffic by that SNI), and refuse
    // RPC from anything without a certificate of the CA. HTTPS and gRPC TLS
    // (peering) ask for no client certificate: ACL tokens guard them.
    config.tls = {
      defaults: {
        ca_file: `${TLS_DIR}/ca.pem`,
        cert_file: `${TLS_DIR}/server.pem`,
        key_file: `${TLS_DIR}/server-key.pem`,
        verify_outgoing: true,
      },
      internal_rpc: { verify_incoming: true, verify_server_hostname: true },
    };
  }
  return config;
}

/**
 * The settings a running server needs no restart for, in a file of their
 * own (Consul merges the files of its config dir): the gossip key (read at a
 * server's first start only; rotated through the keyring), a secondary's
 * replication token (handed to running servers with `set-agent-token`,
 * which they persist over the configured one), and whom to join and how
 * many servers to expect: read only when a server starts without peers
 * (bootstrap_expect once, before the first election), so servers that stay
 * go on running through a resize, and take the new lists at their next start.
 */
export function renderLiveConfig(i: Pick<ServerConfigInput, 'datacenter' | 'primaryDatacenter' | 'gossipKey' | 'replicationToken' | 'bootstrapExpect' | 'retryJoin' | 'retryJoinWan'>): Record<string, unknown> {
  const replication = heldReplicationToken(i);
  return {
    encrypt: i.gossipKey,
    bootstrap_expect: i.bootstrapExpect,
    retry_join: i.retryJoin,
    ...(i.retryJoinWan.length > 0 ? { retry_join_wan: i.retryJoinWan } : {}),
    ...(replication !== undefined ? { acl: { tokens: { replication } } } : {}),
  };
}

/** The replication token a server holds: a secondary's; the primary is the source of ACLs and holds none. */
export function heldReplicationToken(i: Pick<ServerConfigInput, 'datacenter' | 'primaryDatacenter' | 'replicationToken'>): string | undefined {
  return i.datacenter !== i.primaryDatacenter ? i.replicationToken : undefined;
}

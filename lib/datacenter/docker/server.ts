import { Construct } from 'constructs';
import { CertificateAuthority, issueServerCertificate } from './certificates';
import { AddressPool, DockerRuntime, pollUntil } from './runtime';
import { CONFIG_DIR, CONSUL_PORTS, DATA_DIR, renderServerConfig, ServerConfigInput, TLS_DIR } from '../../internal/agent-config';
import { dependsOnAll } from '../../internal/dependencies';
import { AclToken, ConsulProvider, Container, DataConsulAclTokenSecretId, Network, Volume } from '../../internal/providers';
import { ITerraformDependable } from '../../internal/tf';

/** Props of `ConsulServer`. */
export interface ConsulServerProps {
  readonly runtime: DockerRuntime;
  readonly datacenter: string;
  readonly index: number;
  /** Prefix of Docker object names. */
  readonly prefix: string;
  readonly image: string;
  readonly network: Network;
  readonly lanAddress: string;
  /** On the shared network from the start (WAN gossip). */
  readonly wanAddress?: string;
  /** Mesh-gateway federation: a certificate signed by the federation's CA. */
  readonly ca?: CertificateAuthority;
  /**
   * WAN traffic goes over this address of the Docker host: the server's WAN
   * gossip and RPC ports are published there (and advertised), and so is its
   * API at `httpPort`.
   */
  readonly hostAddress?: string;
  /** Publish the HTTP API (HTTPS with a supplied CA) on this host port (127.0.0.1, and `hostAddress`). */
  readonly httpPort?: number;
  /** Leave the federation when stopped, waiting up to this many seconds for it. */
  readonly leaveGraceSeconds?: number;
  /** A secondary replicating ACLs: healthy only once replication has run. */
  readonly waitForReplication: boolean;
  readonly managementToken: string;
  /** Where the agent token is created (the primary's ACLs). */
  readonly globalProvider: ConsulProvider;
  /** The datacenter sets the agent token from its own stack (`setAgentToken`), applied after this one. */
  readonly agentTokenElsewhere?: boolean;
  /** Plan-time checks of the datacenter's secrets. */
  readonly preconditions: { condition: unknown; errorMessage: string }[];
}

/**
 * One Consul server container with its data volume, its agent token, and in
 * mesh-gateway federation its TLS certificate. A health check makes
 * Terraform wait for a leader (and, in a secondary, ACL replication) instead
 * of sleeping. Its configuration is rendered by its datacenter once the tree
 * is complete (`ConsulServer.configure`).
 */
export class ConsulServer extends Construct {
  /** The Consul node name. */
  public readonly nodeName: string;
  public readonly lanAddress: string;
  public readonly container: Container;
  /** The container's name (`<prefix>-<node>`). */
  public readonly containerName: string;
  /** Its ports, where they differ from Consul's defaults (servers sharing a host address). */
  public readonly ports: { server: number; serf_wan: number; grpc_tls: number };
  /** Its address on the Docker network datacenters share, once it is on it. */
  private _wanAddress?: string;
  /** Its gRPC TLS port is published on the host address (direct peering). */
  private peeringPublished = false;
  private readonly props: ConsulServerProps;

  constructor(scope: Construct, id: string, props: ConsulServerProps) {
    super(scope, id);
    this.props = props;
    this.nodeName = `${props.datacenter}-server-${props.index}`;
    this.lanAddress = props.lanAddress;
    // On a host address, each server of the datacenter publishes its own ports: 8300, 8310, 8320, ...
    const step = props.hostAddress !== undefined ? 10 * props.index : 0;
    this.ports = { server: CONSUL_PORTS.server + step, serf_wan: CONSUL_PORTS.serf_wan + step, grpc_tls: CONSUL_PORTS.grpc_tls + step };
    this._wanAddress = props.wanAddress;
    const { runtime } = props;
    const base = `${props.prefix}-${this.nodeName}`;
    this.containerName = base;
    const data = new Volume(this, 'Data', { provider: runtime.provider, name: `${base}-data` });
    const volumes = [{ volumeName: data.name, containerPath: DATA_DIR }];
    const dependsOn: ITerraformDependable[] = [];
    if (props.ca) {
      const tls = issueServerCertificate(this, runtime, {
        ca: props.ca, datacenter: props.datacenter, node: this.nodeName, base, image: props.image, hostAddress: props.hostAddress,
      });
      volumes.push({ volumeName: tls.volume.name, containerPath: TLS_DIR });
      dependsOn.push(tls.issued);
    }

    // A leader's RPC port: 8300, or with servers on a host address 8310, 8320, ...
    const leaderPort = props.hostAddress !== undefined ? '83[0-9]0' : String(CONSUL_PORTS.server);
    const healthy = [`wget -qO- http://127.0.0.1:${CONSUL_PORTS.http}/v1/status/leader | grep -q ':${leaderPort}'`];
    if (props.waitForReplication) {
      // A secondary is useful only once ACLs replicate: until then gateway
      // registration in it fails with 403. "Running" only means the routine
      // started (it stays true with a bad token): wait for replicated indexes.
      // The token is in the config from the start, not handed over later:
      // config entry replication, started with no token, lists entries as
      // anonymous (nothing) and then blocks until they change again.
      healthy.push(`wget -qO- http://127.0.0.1:${CONSUL_PORTS.http}/v1/acl/replication`
        + ` | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`);
    }
    this.container = new Container(this, 'Container', {
      provider: runtime.provider,
      name: base,
      hostname: this.nodeName,
      image: runtime.image(props.image).imageId,
      entrypoint: ['consul'],
      command: ['agent', `-config-dir=${CONFIG_DIR}`],
      volumes,
      networksAdvanced: this.networks(),
      ports: this.publishedPorts(),
      healthcheck: {
        test: ['CMD-SHELL', healthy.join(' && ')],
        interval: '2s',
        timeout: '2s',
        retries: 90,
        startPeriod: '2s',
      },
      wait: true,
      waitTimeout: 180,
      restart: 'unless-stopped',
      ...(props.leaveGraceSeconds !== undefined ? { destroyGraceSeconds: props.leaveGraceSeconds } : {}),
      dependsOn: dependsOnAll(dependsOn),
      ...(props.preconditions.length > 0 || props.hostAddress !== undefined ? {
        lifecycle: {
          ...(props.preconditions.length > 0 ? { precondition: props.preconditions } : {}),
          // The docker provider reads back ports sorted by number only, so
          // 8302/tcp and 8302/udp come back in random order and every plan
          // would replace the server. The label carries them instead: it
          // replaces the container when they really change.
          ...(props.hostAddress !== undefined ? { ignoreChanges: ['ports'] } : {}),
        },
      } : {}),
      ...(props.hostAddress !== undefined ? { labels: [this.portsLabel()] } : {}),
    });
    if (!props.agentTokenElsewhere) setAgentToken(this, runtime, { ...this.tokenTarget(props.network.name), after: this.container });
  }

  /** What the one-shots that hand this server its tokens need of it, reaching it on network `networkName`. */
  public tokenTarget(networkName: string): AgentTokenTarget {
    const { datacenter, image, managementToken, globalProvider } = this.props;
    return { nodeName: this.nodeName, containerName: this.containerName, datacenter, lanAddress: this.lanAddress, networkName, image, managementToken, globalProvider };
  }

  /** `address:port` other datacenters' servers dial for WAN gossip. */
  public get wanGossipAddress(): string {
    return this.props.hostAddress !== undefined ? `${this.props.hostAddress}:${this.ports.serf_wan}` : this._wanAddress!;
  }

  /**
   * Where another cluster's servers dial this one for direct peering (the
   * gRPC TLS port): on the host address, published there; else on the shared
   * network, which the server joins if it is not on it yet (idempotent).
   */
  public peeringAddress(pool: AddressPool): string {
    if (this.props.hostAddress !== undefined) {
      if (!this.peeringPublished) {
        this.peeringPublished = true;
        this.container.putPorts(this.publishedPorts());
        this.container.putLabels([this.portsLabel()]);
      }
      return `${this.props.hostAddress}:${this.ports.grpc_tls}`;
    }
    if (this._wanAddress === undefined) {
      this._wanAddress = pool.allocate();
      this.container.putNetworksAdvanced(this.networks());
    }
    return `${this._wanAddress}:${CONSUL_PORTS.grpc_tls}`;
  }

  /** Writes the agent configuration the container starts with. */
  public configure(config: Omit<ServerConfigInput, 'nodeName' | 'advertiseAddr' | 'advertiseAddrWan' | 'ports' | 'leaveOnTerminate'>): void {
    const content = JSON.stringify(renderServerConfig({
      ...config,
      nodeName: this.nodeName,
      advertiseAddr: this.lanAddress,
      advertiseAddrWan: this.props.hostAddress ?? this.props.wanAddress,
      ...(this.props.hostAddress !== undefined ? { ports: this.ports } : {}),
      leaveOnTerminate: this.props.leaveGraceSeconds !== undefined,
    }), null, 2);
    this.container.putUpload([{ file: `${CONFIG_DIR}/server.json`, content }]);
  }

  private publishedPorts() {
    const { hostAddress, httpPort, ca } = this.props;
    const api = ca?.kind === 'supplied' ? CONSUL_PORTS.https : CONSUL_PORTS.http;
    const ports: { internal: number; external: number; ip: string; protocol?: string }[] = [];
    if (httpPort !== undefined) {
      ports.push({ internal: api, external: httpPort, ip: '127.0.0.1' });
      if (hostAddress !== undefined) ports.push({ internal: api, external: httpPort, ip: hostAddress });
    }
    if (hostAddress !== undefined) {
      const wan = [
        { port: this.ports.server },
        { port: this.ports.serf_wan },
        { port: this.ports.serf_wan, protocol: 'udp' },
        ...(this.peeringPublished ? [{ port: this.ports.grpc_tls }] : []),
      ];
      // The agent listens on these very ports (set in its config), so inside and outside agree.
      ports.push(...wan.map((p) => ({ internal: p.port, external: p.port, ip: hostAddress, ...(p.protocol ? { protocol: p.protocol } : {}) })));
    }
    return ports;
  }

  private portsLabel() {
    const text = this.publishedPorts().map((p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol ?? 'tcp'}`).join(',');
    return { label: 'cdktf-consul-mesh.published-ports', value: text };
  }

  private networks() {
    return [
      { name: this.props.network.name, ipv4Address: this.lanAddress, aliases: [this.nodeName] },
      ...(this._wanAddress ? [{ name: this.props.runtime.wan.name, ipv4Address: this._wanAddress }] : []),
    ];
  }
}

/** What `setAgentToken` needs of a server. */
export interface AgentTokenTarget {
  readonly nodeName: string;
  /** The server container's name, which the one-shot's is made from. */
  readonly containerName: string;
  readonly datacenter: string;
  readonly lanAddress: string;
  /** The network the one-shot reaches the server on. */
  readonly networkName: string;
  readonly image: string;
  readonly managementToken: string;
  /** Where the token is created (the primary's ACLs). */
  readonly globalProvider: ConsulProvider;
  /** The server's container, when it is in the same stack. */
  readonly after?: ITerraformDependable;
}

/**
 * The agent token can only exist once the datacenter does: create a
 * node-identity token, then hand it to the running agent, which persists it.
 */
export function setAgentToken(scope: Construct, runtime: DockerRuntime, server: AgentTokenTarget): void {
  const token = new AclToken(scope, 'AgentToken', {
    provider: server.globalProvider,
    description: `Agent token of ${server.nodeName}`,
    nodeIdentities: [{ nodeName: server.nodeName, datacenter: server.datacenter }],
    ...(server.after ? { dependsOn: [server.after] } : {}),
  });
  const secret = new DataConsulAclTokenSecretId(scope, 'AgentTokenSecret', {
    provider: server.globalProvider,
    accessorId: token.accessorId,
  });
  runtime.oneShot(scope, 'SetAgentToken', {
    name: `${server.containerName}-set-agent-token`,
    image: runtime.image(server.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: ['consul acl set-agent-token agent "$AGENT_TOKEN"'],
    env: [
      `CONSUL_HTTP_ADDR=http://${server.lanAddress}:${CONSUL_PORTS.http}`,
      `CONSUL_HTTP_TOKEN=${server.managementToken}`,
      `AGENT_TOKEN=${secret.secretId}`,
    ],
    networksAdvanced: [{ name: server.networkName }],
  });
}

/**
 * Gives a running secondary server its ACL replication token and waits until
 * replication has run, for a server that started without it (its stack is
 * applied before the token exists). The agent persists the token, so a
 * recreated container keeps it.
 *
 * Config entry replication needs more: begun without a token, it is parked in
 * a blocking query made as anonymous, which an entry write answers (with
 * nothing it may see); only its next query carries the token, and that one
 * waits for the write after. Entries written together right after the
 * handover could all fall in between and stay unreplicated until the next
 * change. So a probe entry of this server's own is written in the primary,
 * again every 0.5 s, until this server has it (its replicator lists with the
 * token), then deleted: whatever is written after replicates.
 */
export function handOverReplicationToken(scope: Construct, runtime: DockerRuntime, server: AgentTokenTarget, replicationToken: string, primaryDatacenter: string): Container {
  const api = `http://${server.lanAddress}:${CONSUL_PORTS.http}`;
  const replicated = `wget -qO- ${api}/v1/acl/replication | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`;
  const probe = `cmesh-replication-probe-${server.nodeName}`;
  // Each write changes the entry (a counter of its own), so each is a change the replicator wakes for.
  const write = `i=$((i+1)); printf '{"Kind":"service-defaults","Name":"${probe}","Meta":{"write":"%s"}}' "$i" | consul config write -datacenter ${primaryDatacenter} - >/dev/null`;
  const seen = `consul config read -kind service-defaults -name ${probe} -stale >/dev/null 2>&1`;
  return runtime.oneShot(scope, 'ReplicationToken', {
    name: `${server.containerName}-replication-token`,
    image: runtime.image(server.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [[
      'set -e',
      'consul acl set-agent-token replication "$REPLICATION_TOKEN"',
      pollUntil(replicated, 'ACL replication did not run', 120),
      'i=0',
      pollUntil(`{ ${write}; ${seen}; }`, 'config entry replication did not list with the token', 120),
      `consul config delete -kind service-defaults -name ${probe} -datacenter ${primaryDatacenter}`,
    ].join('; ')],
    env: [
      `CONSUL_HTTP_ADDR=${api}`,
      `CONSUL_HTTP_TOKEN=${server.managementToken}`,
      `REPLICATION_TOKEN=${replicationToken}`,
    ],
    networksAdvanced: [{ name: server.networkName }],
  });
}

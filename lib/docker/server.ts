import { Construct } from 'constructs';
import { CertificateAuthority, issueServerCertificate } from './certificates';
import { AgentTokenTarget, setAgentToken } from './server-tokens';
import { serverStartScript, UpgradeStep, upgradeStep } from './server-upgrade';
import { AddressPool, StackEngine } from './stack-engine';
import { CONFIG_DIR, CONSUL_PORTS, DATA_DIR, heldReplicationToken, LIVE_CONFIG, renderLiveConfig, renderServerConfig, ServerConfigInput, TLS_DIR } from '../internal/agent-config';
import { dependsOnAll } from '../internal/dependencies';
import { ConsulProvider, Container, Network, Volume } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

/** Props of `ConsulServer`. */
export interface ConsulServerProps {
  readonly engine: StackEngine;
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
  /** The generation of its certificate (tls-rotation.ts). */
  readonly tlsGeneration: number;
  /**
   * WAN traffic goes over this address of the Docker host: the server's WAN
   * gossip and RPC ports are published there (and advertised), and so is its
   * API at `httpPort`.
   */
  readonly hostAddress?: string;
  /** Publish the HTTP API (HTTPS with a supplied CA) on this host port (127.0.0.1, and `hostAddress`). */
  readonly httpPort?: number;
  /** Leave the federation when stopped, waiting up to this many seconds for it (0: stopped at once). */
  readonly leaveGraceSeconds?: number;
  /**
   * Linger 1 s after leaving, not 5: for a whole leave within the grace. Otherwise the 5 s drain also serves
   * the reads in flight when an upgrade step makes the server leave.
   */
  readonly shortLeaveDrain?: boolean;
  /** Autopilot's server stabilization time, which this server's upgrade step sets (the first server's). */
  readonly stabilizationSeconds?: number;
  /** A secondary replicating ACLs: up only once replication has run. */
  readonly waitForReplication: boolean;
  readonly managementToken: string;
  /** Where the agent token is created (the primary's ACLs). */
  readonly globalProvider: ConsulProvider;
  /** How many servers the datacenter has, a secondary's primary, and the previous server: the order of rolling changes. */
  readonly upgradeOrder: { readonly servers: number; readonly primary?: { readonly datacenter: string; readonly servers?: number }; readonly previous?: ConsulServer };
  /** The datacenter sets the agent token from its own stack (`setAgentToken`), applied after this one. */
  readonly agentTokenElsewhere?: boolean;
  /** Plan-time checks of the datacenter's secrets. */
  readonly preconditions: { condition: unknown; errorMessage: string }[];
}

/**
 * One Consul server container with its data volume, its agent token, and in
 * mesh-gateway federation its TLS certificate. Its upgrade step, on which
 * everything that reads through the server waits, first waits for a leader
 * (and, in a secondary, ACL replication) instead of sleeping; the container
 * has no Docker health check, which would run a process in it every few
 * seconds for as long as it lives. Its configuration is rendered by its
 * datacenter once the tree is complete (`ConsulServer.configure`).
 */
export class ConsulServer extends Construct {
  /** The Consul node name. */
  public readonly nodeName: string;
  public readonly lanAddress: string;
  public readonly container: Container;
  /**
   * The server's upgrade step (lib/docker/server-upgrade.ts): done once the
   * server runs the image's Consul. What reads through the server waits on it.
   */
  public get ready(): Container {
    return this.step.container;
  }
  private readonly step: UpgradeStep;
  /** The container's name (`<prefix>-<node>`). */
  public readonly containerName: string;
  /** The name of the volume of its TLS files, with a CA: a reference, so what mounts it is destroyed before it. */
  public readonly tlsVolume?: string;
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
    const { engine } = props;
    const base = `${props.prefix}-${this.nodeName}`;
    this.containerName = base;
    // Also holds the Consul binary the server runs (server-upgrade.ts, BIN_DIR): replaced by its upgrade step, not by replacing the container.
    const data = new Volume(this, 'Data', { provider: engine.provider, name: `${base}-data` });
    const volumes = [{ volumeName: data.name, containerPath: DATA_DIR }];
    const dependsOn: ITerraformDependable[] = [];
    if (props.ca) {
      const tls = issueServerCertificate(this, engine, {
        ca: props.ca, datacenter: props.datacenter, node: this.nodeName, base, image: props.image, hostAddress: props.hostAddress,
        generation: props.tlsGeneration,
      });
      this.tlsVolume = tls.volume.name;
      volumes.push({ volumeName: tls.volume.name, containerPath: TLS_DIR });
      dependsOn.push(tls.issued);
    }

    // A leader's RPC port: 8300, or with servers on a host address 8310, 8320, ...
    const leaderPort = props.hostAddress !== undefined ? '83[0-9]0' : String(CONSUL_PORTS.server);
    const api = `http://${this.lanAddress}:${CONSUL_PORTS.http}`;
    const up = [`wget -qO- ${api}/v1/status/leader 2>/dev/null | grep -q ':${leaderPort}'`];
    if (props.waitForReplication) {
      // A secondary is useful only once ACLs replicate: until then gateway
      // registration in it fails with 403. "Running" only means the routine
      // started (it stays true with a bad token): wait for replicated indexes.
      // The token is in the config from the start, not handed over later:
      // config entry replication, started with no token, lists entries as
      // anonymous (nothing) and then blocks until they change again.
      up.push(`wget -qO- ${api}/v1/acl/replication 2>/dev/null`
        + ` | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`);
    }
    this.container = new Container(this, 'Container', {
      provider: engine.provider,
      name: base,
      hostname: this.nodeName,
      image: engine.image(props.image).imageId,
      entrypoint: ['/bin/sh', '-c'],
      command: [serverStartScript()],
      volumes,
      networksAdvanced: this.networks(),
      ports: this.publishedPorts(),
      restart: 'unless-stopped',
      ...(props.leaveGraceSeconds !== undefined ? { destroyGraceSeconds: props.leaveGraceSeconds } : {}),
      dependsOn: dependsOnAll(dependsOn),
      lifecycle: {
        ...(props.preconditions.length > 0 ? { precondition: props.preconditions } : {}),
        ignoreChanges: [
          // A new image or configuration reaches the server through its upgrade step, one server at a time.
          'image',
          'upload',
          // The docker provider reads back ports sorted by number only, so
          // 8302/tcp and 8302/udp come back in random order and every plan
          // would replace the server. The label carries them instead: it
          // replaces the container when they really change.
          ...(props.hostAddress !== undefined ? ['ports'] : []),
        ],
      },
      ...(props.hostAddress !== undefined ? { labels: [this.portsLabel()] } : {}),
    });
    this.step = upgradeStep(this, engine, {
      nodeName: this.nodeName, containerName: base, lanAddress: this.lanAddress, networkName: props.network.name, image: props.image,
      managementToken: props.managementToken, dataVolume: data.name, servers: props.upgradeOrder.servers, primary: props.upgradeOrder.primary,
      server: this.container, previousStep: props.upgradeOrder.previous?.ready, up, stabilizationSeconds: props.stabilizationSeconds,
    });
    if (!props.agentTokenElsewhere) setAgentToken(this, engine, { ...this.tokenTarget(), after: this.ready });
  }

  /** What the one-shots that hand this server its tokens need of it (they run in its network namespace). */
  public tokenTarget(): AgentTokenTarget {
    const { datacenter, image, managementToken, globalProvider } = this.props;
    return { nodeName: this.nodeName, containerName: this.containerName, datacenter, lanAddress: this.lanAddress, image, managementToken, globalProvider };
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

  /** Writes the agent configuration the container starts with, and its upgrade step brings it to (restarting it only for what a running server cannot take). */
  public configure(config: Omit<ServerConfigInput, 'nodeName' | 'advertiseAddr' | 'advertiseAddrWan' | 'ports' | 'leaveOnTerminate' | 'shortLeaveDrain'>): void {
    const live = JSON.stringify(renderLiveConfig(config), null, 2);
    const content = JSON.stringify(renderServerConfig({
      ...config,
      nodeName: this.nodeName,
      advertiseAddr: this.lanAddress,
      advertiseAddrWan: this.props.hostAddress ?? this.props.wanAddress,
      ...(this.props.hostAddress !== undefined ? { ports: this.ports } : {}),
      leaveOnTerminate: this.props.leaveGraceSeconds !== undefined,
      shortLeaveDrain: this.props.shortLeaveDrain,
    }), null, 2);
    this.container.putUpload([{ file: `${CONFIG_DIR}/server.json`, content }, { file: `${CONFIG_DIR}/${LIVE_CONFIG}`, content: live }]);
    this.step.configure({ server: content, live, replicationToken: heldReplicationToken(config) });
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
      ...(this._wanAddress ? [{ name: this.props.engine.wan.name, ipv4Address: this._wanAddress }] : []),
    ];
  }
}

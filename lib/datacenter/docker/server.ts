import { Construct } from 'constructs';
import { CertificateAuthority, issueServerCertificate } from './certificates';
import { AddressPool, DockerRuntime } from './runtime';
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
  /** Publish the HTTP API on this host port (127.0.0.1). */
  readonly httpPort?: number;
  /** A secondary replicating ACLs: healthy only once replication has run. */
  readonly waitForReplication: boolean;
  readonly managementToken: string;
  /** Where the agent token is created (the primary's ACLs). */
  readonly globalProvider: ConsulProvider;
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
  private _wanAddress?: string;
  private readonly props: ConsulServerProps;

  constructor(scope: Construct, id: string, props: ConsulServerProps) {
    super(scope, id);
    this.props = props;
    this.nodeName = `${props.datacenter}-server-${props.index}`;
    this.lanAddress = props.lanAddress;
    this._wanAddress = props.wanAddress;
    const { runtime } = props;
    const base = `${props.prefix}-${this.nodeName}`;
    const data = new Volume(this, 'Data', { provider: runtime.provider, name: `${base}-data` });
    const volumes = [{ volumeName: data.name, containerPath: DATA_DIR }];
    const dependsOn: ITerraformDependable[] = [];
    if (props.ca) {
      const tls = issueServerCertificate(this, runtime, { ca: props.ca, datacenter: props.datacenter, node: this.nodeName, base, image: props.image });
      volumes.push({ volumeName: tls.volume.name, containerPath: TLS_DIR });
      dependsOn.push(tls.issued);
    }

    const healthy = [`wget -qO- http://127.0.0.1:${CONSUL_PORTS.http}/v1/status/leader | grep -q ':${CONSUL_PORTS.server}'`];
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
      ports: props.httpPort !== undefined ? [{ internal: CONSUL_PORTS.http, external: props.httpPort, ip: '127.0.0.1' }] : [],
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
      dependsOn: dependsOnAll(dependsOn),
      ...(props.preconditions.length > 0 ? { lifecycle: { precondition: props.preconditions } } : {}),
    });
    this.setAgentToken(base);
  }

  /** Its address on the shared network, if it has one. */
  public get wanAddress(): string | undefined {
    return this._wanAddress;
  }

  /** Puts the server on the shared network too (direct peering); idempotent. */
  public joinSharedNetwork(pool: AddressPool): string {
    if (this._wanAddress === undefined) {
      this._wanAddress = pool.allocate();
      this.container.putNetworksAdvanced(this.networks());
    }
    return this._wanAddress;
  }

  /** Writes the agent configuration the container starts with. */
  public configure(config: Omit<ServerConfigInput, 'nodeName' | 'advertiseAddr' | 'advertiseAddrWan'>): void {
    const content = JSON.stringify(renderServerConfig({ ...config, nodeName: this.nodeName, advertiseAddr: this.lanAddress, advertiseAddrWan: this.props.wanAddress }), null, 2);
    this.container.putUpload([{ file: `${CONFIG_DIR}/server.json`, content }]);
  }

  private networks() {
    return [
      { name: this.props.network.name, ipv4Address: this.lanAddress, aliases: [this.nodeName] },
      ...(this._wanAddress ? [{ name: this.props.runtime.wan.name, ipv4Address: this._wanAddress }] : []),
    ];
  }

  /**
   * The agent token can only exist once the datacenter does: create a
   * node-identity token, then hand it to the running agent, which persists it.
   */
  private setAgentToken(base: string): void {
    const { runtime, globalProvider } = this.props;
    const token = new AclToken(this, 'AgentToken', {
      provider: globalProvider,
      description: `Agent token of ${this.nodeName}`,
      nodeIdentities: [{ nodeName: this.nodeName, datacenter: this.props.datacenter }],
      dependsOn: [this.container],
    });
    const secret = new DataConsulAclTokenSecretId(this, 'AgentTokenSecret', {
      provider: globalProvider,
      accessorId: token.accessorId,
    });
    runtime.oneShot(this, 'SetAgentToken', {
      name: `${base}-set-agent-token`,
      image: runtime.image(this.props.image).imageId,
      entrypoint: ['/bin/sh', '-c'],
      command: ['consul acl set-agent-token agent "$AGENT_TOKEN"'],
      env: [
        `CONSUL_HTTP_ADDR=http://${this.lanAddress}:${CONSUL_PORTS.http}`,
        `CONSUL_HTTP_TOKEN=${this.props.managementToken}`,
        `AGENT_TOKEN=${secret.secretId}`,
      ],
      networksAdvanced: [{ name: this.props.network.name }],
    });
  }
}

import { Construct } from 'constructs';
import { GatewayAcl, runGatewayProcess } from './gateway-acl';
import type { IDatacenter } from '../datacenter/datacenter';
import { gatewayRules } from '../internal/acl-rules';
import { GatewayInstance } from '../internal/gateway-host';
import { gatewayPortClashes, registerGateway } from '../internal/gateway-registry';
import { AclPolicy, AclToken } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';
import { checkServiceName } from '../internal/names';
import { checkConnect, checkPort, checkReplicas } from '../internal/validation';

/** Options of {@link IDatacenter.addMeshGateway}. */
export interface MeshGatewayOptions {
  /**
   * Consul service name of the gateway.
   * @default "mesh-gateway"
   */
  readonly serviceName?: string;

  /**
   * Gateway instances (Envoy processes) to run.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Port the gateway listens on, LAN and WAN.
   * @default 8443
   */
  readonly port?: number;

  /**
   * Grant `peering = "read"`, which a mesh gateway needs to carry cluster-peering traffic.
   * @default false
   */
  readonly peering?: boolean;

  /**
   * Register with `-expose-servers` (service meta `consul-wan-federation = "1"`).
   * @default - true when the datacenter is federated through mesh gateways
   */
  readonly exposeServers?: boolean;

  /**
   * Start Envoy after registration. Registration and the Envoy bootstrap need
   * only Consul; turn this off where no Envoy image is available.
   * @default true
   */
  readonly startEnvoy?: boolean;

  /**
   * Envoy image for the gateway process.
   * @default - the Envoy line the datacenter's Consul version supports (ConsulVersion.defaultEnvoyImage)
   */
  readonly envoyImage?: string;
}

/** Props of {@link MeshGateway}. */
export interface MeshGatewayProps extends MeshGatewayOptions {
  /** The datacenter the gateway serves. */
  readonly datacenter: IDatacenter;
}

/**
 * A mesh gateway: its ACL policy (exactly `mesh` write, its own service
 * write, services/nodes/agents read, peering read when asked), a token, and,
 * in a Docker datacenter, the registration and Envoy containers per replica.
 * In a datacenter that already runs, the operator starts the process with
 * {@link MeshGateway.tokenSecretId}.
 */
export class MeshGateway extends Construct {
  /** The datacenter the gateway serves. */
  public readonly datacenter: IDatacenter;
  /** Consul service name. */
  public readonly serviceName: string;
  /** Whether the gateway may carry cluster-peering traffic (`peering = "read"`). */
  public readonly peering: boolean;
  /** Listener port. */
  public readonly port: number;
  /** Number of gateway instances. */
  public readonly replicas: number;
  /** The exact ACL rules of the gateway's policy. */
  public readonly rules: string;
  /** The gateway's ACL policy. */
  public readonly policy: AclPolicy;
  /** The gateway's ACL token. */
  public readonly token: AclToken;
  /** The token's SecretID, as a (sensitive) data source reference. */
  public readonly tokenSecretId: string;
  private readonly instances: GatewayInstance[];

  constructor(scope: Construct, id: string, props: MeshGatewayProps) {
    super(scope, id);
    const dc = props.datacenter;
    this.datacenter = dc;
    checkConnect(this, 'a mesh gateway', dc);
    this.serviceName = checkServiceName(this, 'serviceName', props.serviceName ?? 'mesh-gateway');
    this.replicas = checkReplicas(this, props.replicas ?? 1);
    this.port = checkPort(this, 'port', props.port ?? 8443);
    this.peering = props.peering ?? false;
    registerGateway(this, { kind: 'mesh', datacenter: dc, service: this.serviceName, ports: () => [this.port] });
    this.node.addValidation({ validate: () => gatewayPortClashes(this) });

    this.rules = gatewayRules({ kind: 'mesh', service: this.serviceName, peering: this.peering });
    const acl = new GatewayAcl(this, 'Acl', {
      datacenter: dc,
      kind: 'mesh',
      serviceName: this.serviceName,
      rules: this.rules,
    });
    this.policy = acl.policy;
    this.token = acl.token;
    this.tokenSecretId = acl.secretId;

    this.instances = runGatewayProcess(this, acl, {
      kind: 'mesh', replicas: this.replicas,
      port: this.port, startEnvoy: props.startEnvoy, envoyImage: props.envoyImage, exposeServers: props.exposeServers,
    });
  }

  /** Resources that complete once every replica is registered (empty when the operator runs the gateway). */
  public get registrations(): ITerraformDependable[] {
    return this.instances.map((i) => i.registration);
  }

  /** `host:port` WAN addresses of the replicas run by this library. */
  public get wanAddresses(): string[] {
    return this.instances.map((i) => i.wanAddress!);
  }
}

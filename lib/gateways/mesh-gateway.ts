import { Construct } from 'constructs';
import { Gateway, GatewayKind } from './gateway';
import type { IDatacenter } from '../datacenter/datacenter';

/** Options of `DatacenterBase.addMeshGateway`. */
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

/** Props of `MeshGateway`. */
export interface MeshGatewayProps extends MeshGatewayOptions {
  /** The datacenter the gateway serves. */
  readonly datacenter: IDatacenter;
}

/**
 * A mesh gateway: its ACL policy (exactly `mesh` write, its own service
 * write, services/nodes/agents read, peering read when asked), a token, and,
 * in a Docker datacenter, the registration and Envoy containers per replica.
 * In a datacenter that already runs, the operator starts the process with
 * `Gateway.tokenSecretId`.
 */
export class MeshGateway extends Gateway {
  /** Whether the gateway may carry cluster-peering traffic (`peering = "read"`). */
  public readonly peering: boolean;

  constructor(scope: Construct, id: string, props: MeshGatewayProps) {
    super(scope, id, {
      datacenter: props.datacenter,
      kind: GatewayKind.MESH,
      serviceName: props.serviceName ?? 'mesh-gateway',
      port: props.port ?? 8443,
      replicas: props.replicas ?? 1,
      startEnvoy: props.startEnvoy,
      envoyImage: props.envoyImage,
      exposeServers: props.exposeServers,
    });
    this.peering = props.peering ?? false;
  }

  /** `host:port` WAN addresses of the replicas run by this library. */
  public get wanAddresses(): string[] {
    return this._processes.replicas.map((r) => r.wanAddress!);
  }

  /** @internal */
  protected _ruleOptions() {
    return { peering: this.peering };
  }

  /** @internal */
  protected _carriesPeering(): boolean {
    return this.peering;
  }
}

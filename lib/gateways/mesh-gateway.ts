import { Construct, IConstruct } from 'constructs';
import { Gateway, GatewayKind, GatewayOptions } from './gateway';
import { IDatacenter, recordGateway } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { DataConsulAclTokenSecretId } from '../internal/providers';
import { checkHostPort, checkKeys } from '../internal/validation';

/** Options of `DatacenterBase.addMeshGateway`. */
export interface MeshGatewayOptions extends GatewayOptions {
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
}

/** Props of `MeshGateway`. */
export interface MeshGatewayProps extends MeshGatewayOptions {
  /** The datacenter the gateway serves. */
  readonly datacenter: IDatacenter;
}

/** A mesh gateway, declared in this app or imported. */
export interface IMeshGateway extends IConstruct {
  /** The datacenter the gateway serves. */
  readonly datacenter: IDatacenter;
  /** Consul service name. */
  readonly serviceName: string;
  /** Whether the gateway may carry cluster-peering traffic (`peering = "read"`). */
  readonly peering: boolean;
  /** `host:port` WAN addresses other datacenters reach it at (those known to this app). */
  readonly wanAddresses: string[];
  /** Its token's SecretID, as a (sensitive) data source reference. */
  readonly tokenSecretId: string;
}

/** What is known of a mesh gateway that runs already (`MeshGateway.fromMeshGatewayAttributes`). */
export interface MeshGatewayAttributes {
  /** The datacenter it serves. */
  readonly datacenter: IDatacenter;

  /**
   * Its Consul service name.
   * @default "mesh-gateway"
   */
  readonly serviceName?: string;

  /**
   * Its policy grants `peering = "read"`, so it can carry a peering.
   * @default false
   */
  readonly peering?: boolean;

  /**
   * It is registered with `-expose-servers` (mesh-gateway federation).
   * @default false
   */
  readonly exposesServers?: boolean;

  /**
   * Its `host:port` WAN addresses: what a secondary dials as
   * `primary_gateways` in mesh-gateway federation.
   * @default - none
   */
  readonly wanAddresses?: string[];

  /**
   * The AccessorID of its ACL token: its SecretID is then read (sensitive)
   * into `tokenSecretId`, e.g. to hand to the Envoy the operator runs.
   * @default - its token is not read (`tokenSecretId` refuses to be read)
   */
  readonly tokenAccessorId?: string;
}

/**
 * A mesh gateway: its ACL policy (exactly `mesh` write, its own service
 * write, services/nodes/agents read, peering read when asked), a token, and,
 * in a Docker datacenter, the registration and Envoy containers per replica.
 * In a datacenter that already runs, the operator starts the process with
 * `Gateway.tokenSecretId`.
 */
export class MeshGateway extends Gateway implements IMeshGateway {
  /**
   * A mesh gateway that runs already (the operator's, or another app's):
   * nothing is created for it but, with `tokenAccessorId`, the read of its
   * token's secret. It counts where the library looks for a datacenter's
   * mesh gateways: a peering through gateways orders nothing after it but
   * accepts it (with `peering`), and a mesh-gateway federation's secondaries
   * dial its `wanAddresses`.
   */
  public static fromMeshGatewayAttributes(scope: Construct, id: string, attributes: MeshGatewayAttributes): IMeshGateway {
    return new ImportedMeshGateway(scope, id, attributes);
  }

  /** Whether the gateway may carry cluster-peering traffic (`peering = "read"`). */
  public readonly peering: boolean;

  constructor(scope: Construct, id: string, props: MeshGatewayProps) {
    super(scope, id, { ...props, kind: GatewayKind.MESH });
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

const MESH_GATEWAY_ATTRIBUTES: Record<keyof MeshGatewayAttributes, true> = {
  datacenter: true, serviceName: true, peering: true, exposesServers: true, wanAddresses: true, tokenAccessorId: true,
};

class ImportedMeshGateway extends Construct implements IMeshGateway {
  public readonly datacenter: IDatacenter;
  public readonly serviceName: string;
  public readonly peering: boolean;
  public readonly wanAddresses: string[];
  private readonly secretId?: string;

  constructor(scope: Construct, id: string, attributes: MeshGatewayAttributes) {
    super(scope, id);
    checkKeys(this, 'attributes', attributes, MESH_GATEWAY_ATTRIBUTES, 'MeshGatewayAttributes');
    this.datacenter = attributes.datacenter;
    this.serviceName = checkServiceName(this, 'serviceName', attributes.serviceName ?? 'mesh-gateway');
    this.peering = attributes.peering ?? false;
    this.wanAddresses = [...(attributes.wanAddresses ?? [])];
    this.wanAddresses.forEach((a, i) => checkHostPort(this, `wanAddresses[${i}] must be host:port`, a, 'Use e.g. "192.0.2.10:8443".'));
    if (attributes.tokenAccessorId !== undefined) {
      this.secretId = new DataConsulAclTokenSecretId(this, 'TokenSecret', {
        provider: this.datacenter.globalProvider,
        accessorId: attributes.tokenAccessorId,
      }).secretId;
    }
    recordGateway({
      construct: this, kind: 'mesh', datacenter: this.datacenter, service: this.serviceName,
      ports: () => [], registrations: [], wanAddresses: this.wanAddresses,
      exposesServers: attributes.exposesServers ?? false, peering: this.peering,
    });
  }

  public get tokenSecretId(): string {
    if (this.secretId === undefined) {
      throw invalidInput(this, 'the token of this imported mesh gateway is unknown', undefined,
        'Pass tokenAccessorId to MeshGateway.fromMeshGatewayAttributes to read its secret.');
    }
    return this.secretId;
  }
}

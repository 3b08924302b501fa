import { Construct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { dependsOnAll } from '../internal/dependencies';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { CatalogNode, CatalogService } from '../internal/providers';
import { checkPort } from '../internal/validation';

/** Options of `TerminatingGateway.linkService`. */
export interface LinkedServiceOptions {
  /** The service the gateway represents: mesh services reach it through the gateway. */
  readonly service: string;

  /**
   * CA certificate file (on the gateway's host) the gateway verifies the
   * service with: TLS from the gateway to the service.
   * @default - plain TCP to the service
   */
  readonly caFile?: string;

  /**
   * Client certificate file for mutual TLS; needs `caFile` and `keyFile`.
   * @default - no client certificate
   */
  readonly certFile?: string;

  /**
   * Client key file for mutual TLS; needs `caFile` and `certFile`.
   * @default - no client certificate
   */
  readonly keyFile?: string;

  /**
   * Server name the gateway sends (SNI) and verifies.
   * @default - none
   */
  readonly sni?: string;

  /**
   * Register the service in the catalog at this address (an IP or a host
   * name), on an external node: what a service outside the mesh needs so the
   * gateway can find it.
   * @default - not registered here: the service is already in the catalog
   */
  readonly address?: string;

  /**
   * Port of the registered service; required with `address`.
   * @default - none
   */
  readonly port?: number;

  /**
   * Name of the external node the service is registered on. Services of one
   * gateway may share a node (with one address).
   * @default - "<service>-external"
   */
  readonly node?: string;
}

/** Props of `LinkedService`. */
export interface LinkedServiceProps extends LinkedServiceOptions {
  /** The datacenter whose catalog the service is registered in. */
  readonly datacenter: IDatacenter;
}

/**
 * A service linked to a `TerminatingGateway` (made by its
 * `linkService()`): its `Services[]` item in the gateway's config entry, and,
 * when it has an address, its registration on an external node
 * (`consul_node` + `consul_service`) in the gateway's datacenter: the catalog
 * is per datacenter, unlike config entries.
 */
export class LinkedService extends Construct {
  /** The linked service. */
  public readonly service: string;
  /** The catalog node it is registered on, when registered here. */
  public readonly catalogNode?: CatalogNode;
  /** Its catalog registration, when registered here. */
  public readonly catalogService?: CatalogService;
  private readonly options: LinkedServiceOptions;

  constructor(scope: Construct, id: string, props: LinkedServiceProps) {
    super(scope, id);
    this.service = checkServiceName(scope, 'service', props.service);
    const tlsFiles = { caFile: props.caFile, certFile: props.certFile, keyFile: props.keyFile };
    if ((props.certFile || props.keyFile) && !(props.caFile && props.certFile && props.keyFile)) {
      throw invalidInput(scope, `mutual TLS to "${this.service}" needs caFile, certFile and keyFile together`, tlsFiles,
        'Set all three, or only caFile (one-way TLS), or none.');
    }
    if ((props.port !== undefined || props.node !== undefined) && props.address === undefined) {
      throw invalidInput(scope, `port and node register "${this.service}" in the catalog, which needs its address`, { port: props.port, node: props.node },
        'Add `address`, or drop port and node if the service is registered elsewhere.');
    }
    this.options = { ...props };
    if (props.address !== undefined) {
      if (props.port === undefined) {
        throw invalidInput(scope, `"${this.service}" is registered at an address, so it needs a port`, props.address, 'Add `port`.');
      }
      const readiness = dependsOnAll(props.datacenter.readiness);
      const nodeName = props.node ?? `${this.service}-external`;
      const sibling = scope.node.children.find((c): c is LinkedService =>
        c instanceof LinkedService && c.catalogNode !== undefined && c.nodeName === nodeName);
      if (sibling && sibling.address !== props.address) {
        throw invalidInput(scope, `node "${nodeName}" is already registered at ${sibling.address} (for "${sibling.service}")`, props.address,
          `Use that address, or another node name for "${this.service}".`);
      }
      this.catalogNode = sibling?.catalogNode ?? new CatalogNode(this, 'Node', {
        provider: props.datacenter.provider,
        name: nodeName,
        address: props.address,
        // Consul ESM health-checks nodes marked this way; without ESM they are inert.
        meta: { 'external-node': 'true', 'external-probe': 'true' },
        dependsOn: readiness,
      });
      this.catalogService = new CatalogService(this, 'Service', {
        provider: props.datacenter.provider,
        name: this.service,
        nodeAttribute: this.catalogNode.name,
        address: props.address,
        port: checkPort(scope, 'port', props.port, true),
        dependsOn: readiness,
      });
    }
  }

  /** The external node's name, when registered here. */
  public get nodeName(): string | undefined {
    return this.options.address === undefined ? undefined : this.options.node ?? `${this.service}-external`;
  }

  /** CA certificate file the gateway verifies the service with. */
  public get caFile(): string | undefined { return this.options.caFile; }
  /** Client certificate file for mutual TLS. */
  public get certFile(): string | undefined { return this.options.certFile; }
  /** Client key file for mutual TLS. */
  public get keyFile(): string | undefined { return this.options.keyFile; }
  /** Server name sent and verified. */
  public get sni(): string | undefined { return this.options.sni; }
  /** The registered address, when registered here. */
  public get address(): string | undefined { return this.options.address; }

  /** The `Services[]` item; Consul returns it exactly so. @internal */
  public _render(): Record<string, unknown> {
    const o = this.options;
    return {
      Name: this.service,
      ...(o.caFile ? { CAFile: o.caFile } : {}),
      ...(o.certFile ? { CertFile: o.certFile } : {}),
      ...(o.keyFile ? { KeyFile: o.keyFile } : {}),
      ...(o.sni ? { SNI: o.sni } : {}),
    };
  }
}

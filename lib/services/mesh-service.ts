import { Construct } from 'constructs';
import { IntentionAction, IntentionSourceOptions, ServiceIntentions } from '../config-entries/service-intentions';
import { IDatacenter, sameCluster } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { owned } from '../internal/owned';
import { StackRecords } from '../internal/stack-records';
import { checkKeys, checkPort } from '../internal/validation';
import { checkMode, MeshGatewayMode } from '../modes/mesh-gateway-mode';
import { MODE_LAYERS } from '../modes/mode-layers';
import { resolvedModes } from '../modes/mode-resolution';
import { noneAcrossDatacenters } from '../modes/none-across-datacenters';

/** An upstream of a `MeshService`: a service its sidecar reaches on a local port. */
export interface UpstreamOptions {
  /** The destination service. */
  readonly service: string;

  /** Local port the sidecar listens on for this upstream. */
  readonly localBindPort: number;

  /**
   * Datacenter of the destination (federation).
   * @default - the service's own datacenter
   */
  readonly datacenter?: string;

  /**
   * Cluster peer of the destination (peering); excludes `datacenter`.
   * @default - not peered
   */
  readonly peer?: string;

  /**
   * Mode set on the upstream itself: the strongest layer.
   * @default MeshGatewayMode.inherit()
   */
  readonly meshGatewayMode?: MeshGatewayMode;
}

const UPSTREAM_OPTIONS: Record<keyof UpstreamOptions, true> = { service: true, localBindPort: true, datacenter: true, peer: true, meshGatewayMode: true };

/** Props of `MeshService`. */
export interface MeshServiceProps {
  /** Datacenter the service instance registers in. */
  readonly datacenter: IDatacenter;

  /** Service name. */
  readonly service: string;

  /** Port the service listens on. */
  readonly port: number;

  /**
   * Mode of the service instance's sidecar (`proxy.mesh_gateway`).
   * @default MeshGatewayMode.inherit()
   */
  readonly meshGatewayMode?: MeshGatewayMode;

  /**
   * Upstreams of the sidecar.
   * @default - none; add them with addUpstream()
   */
  readonly upstreams?: UpstreamOptions[];
}

/** Options of `MeshService.grantCall`. */
export interface CallGrantOptions {
  /**
   * Description of the intention source.
   * @default - none
   */
  readonly description?: string;
}

/** What `MeshService.grantCall` created: one allow source in the destination's intentions. */
export interface CallGrant {
  /** The destination's intentions in its cluster (created by the first grant). */
  readonly intentions: ServiceIntentions;

  /** The allow source for the caller, as stored. */
  readonly source: IntentionSourceOptions;
}

/**
 * A service instance with a Connect sidecar and its upstreams. It renders the
 * service definition a Consul agent loads (`MeshService.definitionJson`;
 * a `MeshGatewayModeReport` writes it next to the synthesized stack),
 * and takes part in `MeshGatewayModes.explain`, which checks every
 * upstream's mode before deploy.
 */
export class MeshService extends Construct {
  /** The service name. */
  public readonly service: string;
  /** The datacenter it registers in. */
  public readonly datacenter: IDatacenter;
  /** Port the service listens on. */
  public readonly port: number;
  /** Mode of the service instance's sidecar. */
  public readonly meshGatewayMode: MeshGatewayMode;
  private readonly _upstreams: UpstreamOptions[] = [];

  constructor(scope: Construct, id: string, props: MeshServiceProps) {
    super(scope, id);
    this.service = checkServiceName(this, 'service', props.service);
    this.datacenter = props.datacenter;
    this.port = checkPort(this, 'port', props.port);
    this.meshGatewayMode = checkMode(this, 'meshGatewayMode', props.meshGatewayMode) ?? MeshGatewayMode.inherit();
    for (const upstream of props.upstreams ?? []) this.addUpstream(upstream);
    StackRecords.of(this).add(MODE_LAYERS.services, this);
    this.node.addValidation({ validate: () => this.checkModes() });
  }

  /** Adds an upstream; returns it as stored (read-only: the one `upstreams` lists). */
  public addUpstream(upstream: UpstreamOptions): UpstreamOptions {
    checkKeys(this, `upstreams[${this._upstreams.length}]`, upstream, UPSTREAM_OPTIONS, 'UpstreamOptions');
    checkPort(this, 'localBindPort', upstream.localBindPort);
    checkMode(this, `upstreams[${this._upstreams.length}].meshGatewayMode`, upstream.meshGatewayMode);
    if (upstream.peer !== undefined && upstream.datacenter !== undefined) {
      throw invalidInput(this, `upstream "${upstream.service}" names both a peer and a datacenter`, { peer: upstream.peer, datacenter: upstream.datacenter },
        'A peered upstream lives in the peer\'s cluster: set only `peer`.');
    }
    const clash = this._upstreams.find((u) => u.localBindPort === upstream.localBindPort);
    if (clash) {
      throw invalidInput(this, `upstreams "${clash.service}" and "${upstream.service}" bind the same local port`, upstream.localBindPort,
        'Give each upstream its own localBindPort.');
    }
    const stored = owned(upstream);
    this._upstreams.push(stored);
    return stored;
  }

  /**
   * Lets `caller` call this service: an allow source for it in this
   * service's intentions in its cluster (`ServiceIntentions.of`, created on
   * the first grant). Returns what it created. A caller in another cluster
   * reaches it over a peering: `ClusterPeering.exportService({ allowedCallers })`.
   */
  public grantCall(caller: MeshService, options: CallGrantOptions = {}): CallGrant {
    if (!sameCluster(caller.datacenter, this.datacenter)) {
      throw invalidInput(this, `caller "${caller.service}" (${caller.node.path}) is in cluster "${caller.datacenter.cluster}", not "${this.datacenter.cluster}"`,
        caller.datacenter.cluster, 'Export this service to the caller\'s cluster over a ClusterPeering, with allowedCallers.');
    }
    const intentions = ServiceIntentions.of(this.datacenter, this.service);
    const source = intentions.addSource({ name: caller.service, action: IntentionAction.allow(), description: options.description });
    return { intentions, source };
  }

  /** The upstreams, in the order added. */
  public get upstreams(): UpstreamOptions[] {
    return [...this._upstreams];
  }

  /** ID of the sidecar Consul registers: `<service>-sidecar-proxy`. */
  public get sidecarId(): string {
    return `${this.service}-sidecar-proxy`;
  }

  /** The service definition in the agent's configuration format. */
  public get definitionJson(): string {
    return JSON.stringify(this._renderDefinition(), null, 2);
  }

  /**
   * Mode `none` sends traffic straight to the destination. Consul turns it
   * into `remote` for peers (the setting is misleading, so refuse it), and
   * across datacenters it works only where workloads can route to each other.
   */
  private checkModes(): string[] {
    return noneAcrossDatacenters(this, resolvedModes(this).get(this) ?? [], this.datacenter,
      'Set local or remote there or at a stronger layer (e.g. this upstream\'s meshGatewayMode).');
  }

  /** @internal */
  public _renderDefinition(): Record<string, unknown> {
    const mode = (m?: MeshGatewayMode) => (m && !m.isInherit ? { mesh_gateway: { mode: m.value } } : {});
    return {
      service: {
        name: this.service,
        id: this.service,
        port: this.port,
        connect: {
          sidecar_service: {
            proxy: {
              ...mode(this.meshGatewayMode),
              upstreams: this._upstreams.map((u) => ({
                destination_name: u.service,
                ...(u.datacenter ? { datacenter: u.datacenter } : {}),
                ...(u.peer ? { destination_peer: u.peer } : {}),
                local_bind_port: u.localBindPort,
                ...mode(u.meshGatewayMode),
              })),
            },
          },
        },
      },
    };
  }
}

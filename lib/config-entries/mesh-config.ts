import { Construct, IConstruct } from 'constructs';
import { configEntryResource, declaredEntry } from './config-entry-resource';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { ConfigEntry } from '../internal/providers';
import { TerraformStack } from '../internal/tf';

/** Props of `MeshConfig`. */
export interface MeshConfigProps {
  /** A datacenter of the cluster (the entry is global to a federation). */
  readonly datacenter: IDatacenter;

  /**
   * Send cluster-peering control-plane traffic through mesh gateways
   * (`Peering.PeerThroughMeshGateways`). Consul then refuses to generate a
   * peering token until a mesh gateway of the datacenter is registered.
   * @default - false, unless a ClusterPeering through mesh gateways uses this cluster
   */
  readonly peerThroughMeshGateways?: boolean;

  /**
   * Proxies in transparent mode reach only mesh destinations
   * (`TransparentProxy.MeshDestinationsOnly`).
   * @default false
   */
  readonly meshDestinationsOnly?: boolean;
}

/**
 * The `mesh` config entry: one per cluster, always named `mesh`. Use
 * `MeshConfig.of` to share it; a second one for the same cluster is
 * rejected, since both would write the same entry.
 */
export class MeshConfig extends Construct {
  /**
   * The mesh entry of `datacenter`'s cluster in this stack: the one already
   * declared, or a new one at `<datacenter>/MeshConfig`.
   */
  public static of(datacenter: IDatacenter): MeshConfig {
    const existing = declaredEntry(datacenter, 'mesh', 'mesh');
    if (existing !== undefined) return existing as MeshConfig;
    const scope = datacenter instanceof Construct ? datacenter : TerraformStack.of(datacenter);
    return new MeshConfig(scope, scope === datacenter ? 'MeshConfig' : `MeshConfig-${datacenter.name}`, { datacenter });
  }

  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** Whether transparent proxies reach only mesh destinations. */
  public readonly meshDestinationsOnly: boolean;
  /** The underlying `consul_config_entry` (kind and name `mesh`). */
  public readonly resource: ConfigEntry;
  private readonly explicitPeering?: boolean;
  private requiredBy?: IConstruct;

  constructor(scope: Construct, id: string, props: MeshConfigProps) {
    super(scope, id);
    this.datacenter = props.datacenter;
    this.explicitPeering = props.peerThroughMeshGateways;
    this.meshDestinationsOnly = props.meshDestinationsOnly ?? false;
    this.resource = configEntryResource(this, props.datacenter, 'mesh', 'mesh', {
      render: () => this._renderBody(), orElse: 'get it with MeshConfig.of(datacenter)',
    });
  }

  /** Whether peering control-plane traffic goes through mesh gateways. */
  public get peerThroughMeshGateways(): boolean {
    return this.explicitPeering ?? this.requiredBy !== undefined;
  }

  /**
   * Turns on peering through mesh gateways for `by` (a ClusterPeering),
   * unless the entry was explicitly told not to.
   * @internal
   */
  public _requirePeeringThroughMeshGateways(by: IConstruct): void {
    if (this.explicitPeering === false) {
      throw invalidInput(by, `peering through mesh gateways needs Peering.PeerThroughMeshGateways, which ${this.node.path} turns off`, false,
        `Remove peerThroughMeshGateways: false from ${this.node.path}, or set throughMeshGateways: false on the peering.`);
    }
    this.requiredBy ??= by;
  }

  /**
   * The config_json body. `TransparentProxy` comes back even when unset, so it
   * is always sent; `Peering` comes back only when sent, so it is sent only on.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    return {
      TransparentProxy: { MeshDestinationsOnly: this.meshDestinationsOnly },
      ...(this.peerThroughMeshGateways ? { Peering: { PeerThroughMeshGateways: true } } : {}),
    };
  }
}

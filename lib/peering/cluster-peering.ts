import { Construct } from 'constructs';
import { ClusterPeeringBase, ClusterPeeringSides, IClusterPeering, PeeredServiceOptions, peeringsOf } from './cluster-peering-base';
import { MeshConfig } from '../config-entries/mesh-config';
import { gatewaysOf, IDatacenter, replicationReadiness } from '../datacenter/datacenter';
import { runtimeOf } from '../datacenter/runtime';
import { addDependencies, dependsOnAll } from '../internal/dependencies';
import { invalidInput, validationMessage } from '../internal/errors';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { Peering, PeeringToken } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';
import { checkHostPort } from '../internal/validation';

/** Props of `ClusterPeering`. */
export interface ClusterPeeringProps extends ClusterPeeringSides {
  /**
   * Send the peering's control-plane traffic through mesh gateways: the
   * `mesh` entry of both clusters gets `Peering.PeerThroughMeshGateways`, and
   * the token waits for the mesh gateways (which need `peering: true`).
   * Without it, the dialer's servers must reach the acceptor's servers'
   * gRPC TLS port (8503) directly.
   * @default true
   */
  readonly throughMeshGateways?: boolean;

  /**
   * `host:port` addresses the dialer should use for the acceptor
   * (`server_external_addresses`), e.g. behind NAT.
   * @default - the acceptor's servers, or its mesh gateways' WAN addresses
   * when peering through them. Without gateways between two Docker
   * datacenters: both sides' servers join the shared Docker network, and the
   * dialer dials the acceptor's servers there.
   */
  readonly acceptorServerAddresses?: string[];

  /**
   * Services to export across the peering.
   * @default - none yet: add them with exportService()
   */
  readonly exportedServices?: PeeredServiceOptions[];
}

/**
 * Cluster peering between two independent clusters, in the order Consul
 * documents, as Terraform dependencies: the `mesh` entries
 * (PeerThroughMeshGateways) and mesh gateway registrations of both sides →
 * the peering token (acceptor) → the peering (dialer) → the exported-services
 * entries → the intentions with `Sources[].Peer`.
 *
 * The token is sensitive: it reaches the dialer as a resource attribute
 * reference and never appears in cdk.tf.json.
 */
export class ClusterPeering extends ClusterPeeringBase implements IFinalizable {
  /**
   * The names `datacenter` knows its peers by, over every peering in its
   * stack (declared or imported): what an upstream's `peer` may name.
   */
  public static peerNamesOf(datacenter: IDatacenter): string[] {
    return peeringsOf(datacenter).map((p) => p.peerNameIn(datacenter));
  }

  /**
   * A peering that is already established (by the operator, another tool or
   * another app): services can be exported across it, and its peer names are
   * known to upstreams. Nothing of the peering itself is created.
   */
  public static fromPeeringAttributes(scope: Construct, id: string, attributes: ClusterPeeringSides): IClusterPeering {
    return new ImportedClusterPeering(scope, id, attributes);
  }

  /** Whether the control plane goes through mesh gateways. */
  public readonly throughMeshGateways: boolean;
  /** The `consul_peering_token` in the acceptor (its `peering_token` is sensitive). */
  public readonly token: PeeringToken;
  /** The `consul_peering` in the dialer. */
  public readonly peering: Peering;

  constructor(scope: Construct, id: string, props: ClusterPeeringProps) {
    super(scope, id, props);
    const { acceptor, dialer } = props;
    this.throughMeshGateways = props.throughMeshGateways ?? true;
    for (const address of props.acceptorServerAddresses ?? []) {
      checkHostPort(this, 'acceptorServerAddresses must be host:port', address, 'Use e.g. "203.0.113.7:8503" or "[2001:db8::7]:8503".');
    }

    const meshEntries = this.throughMeshGateways ? [acceptor, dialer].map((dc) => {
      if (!dc.connectEnabled) {
        throw invalidInput(this, `peering through mesh gateways needs Connect, which is disabled in datacenter "${dc.name}"`, false,
          'Enable Connect there, or set throughMeshGateways: false.');
      }
      const mesh = MeshConfig.of(dc);
      mesh._requirePeeringThroughMeshGateways(this);
      return mesh.resource;
    }) : [];

    // Direct peering between two runtimes whose servers' own addresses the
    // other side cannot reach (Docker: networks of their own): both offer
    // addresses (the dialer's servers join where the acceptor's are).
    const [acceptorRuntime, dialerRuntime] = [runtimeOf(acceptor), runtimeOf(dialer)];
    const directAddresses = !this.throughMeshGateways && props.acceptorServerAddresses === undefined
      && acceptorRuntime.directPeeringAddresses && dialerRuntime.directPeeringAddresses
      ? (dialerRuntime.directPeeringAddresses(), acceptorRuntime.directPeeringAddresses()) : undefined;
    this.token = new PeeringToken(this, 'Token', {
      provider: acceptor.provider,
      peerName: this.dialerName,
      serverExternalAddresses: props.acceptorServerAddresses ?? directAddresses,
      dependsOn: dependsOnAll([...replicationReadiness(acceptor), ...meshEntries]),
    });
    this.peering = new Peering(this, 'Peering', {
      provider: dialer.provider,
      peerName: this.acceptorName,
      peeringToken: this.token.peeringToken,
      dependsOn: dependsOnAll([...replicationReadiness(dialer), ...meshEntries]),
    });
    for (const service of props.exportedServices ?? []) this.exportService(service);
    FinalizePass.of(this).add(this);
    this.node.addValidation({ validate: () => this.checkGateways() });
  }

  /**
   * Consul refuses a token until a gateway is registered, and the dialer
   * reaches the acceptor through its own: order both after registration
   * (gateways may be added after the peering).
   * @internal
   */
  public _finalize(): void {
    if (!this.throughMeshGateways) return;
    addDependencies(this.token, gatewaysOf(this.acceptor, 'mesh').flatMap((g) => g.registrations));
    addDependencies(this.peering, gatewaysOf(this.dialer, 'mesh').flatMap((g) => g.registrations));
  }

  /** @internal */
  protected _exportsAfter(): ITerraformDependable[] {
    return [this.peering];
  }

  /** A gateway without `peering = "read"` cannot carry peering traffic; a datacenter whose runtime runs gateways, without one, cannot get a token. */
  private checkGateways(): string[] {
    if (!this.throughMeshGateways) return [];
    const errors: string[] = [];
    for (const dc of [this.acceptor, this.dialer]) {
      const gateways = gatewaysOf(dc, 'mesh');
      for (const g of gateways.filter((gw) => !gw.peering)) {
        errors.push(validationMessage(`mesh gateway ${g.construct.node.path} of "${dc.name}" carries this peering but its policy lacks peering = "read"`,
          false, `Create it with peering: true (dc.addMeshGateway('${g.construct.node.id}', { peering: true })).`));
      }
      if (gateways.length === 0 && runtimeOf(dc).runsGateways) {
        errors.push(validationMessage(`peering through mesh gateways needs a mesh gateway in "${dc.name}", which has none`,
          [], `Add one: ${dc.node.id}.addMeshGateway('gateway', { peering: true }), or set throughMeshGateways: false.`));
      }
    }
    return errors;
  }
}

/** An established peering: exports wait for nothing of it. */
class ImportedClusterPeering extends ClusterPeeringBase {
  /** @internal */
  protected _exportsAfter(): ITerraformDependable[] {
    return [];
  }
}

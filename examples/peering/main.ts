// Two independent Consul clusters on Docker, peered through their mesh
// gateways: east exports its api to west, where web may call it.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ClusterPeering, DockerDatacenter, StateEncryption } from '../../lib';

/** Knobs the tests turn (local images, no Envoy); users get the defaults. */
export interface PeeringExampleOptions {
  readonly image?: string;
  readonly startEnvoy?: boolean;
  /** Peer through the mesh gateways (default), or have the servers dial each other. */
  readonly throughMeshGateways?: boolean;
  /** Datacenter names of the two clusters (default: east, west). */
  readonly names?: [string, string];
}

export class PeeringExample extends TerraformStack {
  public readonly east: DockerDatacenter;
  public readonly west: DockerDatacenter;
  public readonly peering: ClusterPeering;

  constructor(scope: Construct, id: string, options: PeeringExampleOptions = {}) {
    super(scope, id);
    // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
    new StateEncryption(this, 'state-encryption');
    const [east, west] = options.names ?? ['east', 'west'];
    this.east = new DockerDatacenter(this, 'east', { name: east, image: options.image });
    this.west = new DockerDatacenter(this, 'west', { name: west, httpPort: 8510, image: options.image });
    for (const dc of [this.east, this.west]) {
      // Both WAN addresses sit on the shared consul-mesh-wan network, so the gateways reach each other.
      dc.addMeshGateway('gateway', { peering: true, startEnvoy: options.startEnvoy });
    }
    this.peering = new ClusterPeering(this, 'peering', {
      acceptor: this.east,
      dialer: this.west,
      exportedServices: [{ service: 'api', allowedCallers: ['web'] }],
      throughMeshGateways: options.throughMeshGateways,
    });
  }
}

if (require.main === module) {
  const app = new App();
  new PeeringExample(app, 'peering', {
    image: process.env.CONSUL_MESH_IMAGE,
    startEnvoy: process.env.CONSUL_MESH_START_ENVOY !== 'false',
  });
  app.synth();
}

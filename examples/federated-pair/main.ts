// The main job: two federated Consul datacenters on Docker, a mesh gateway in
// each, proxies sending cross-datacenter traffic through their local gateway,
// and one service that goes straight to the remote gateway.
import * as path from 'path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConsulFederation, FederationMethod, MeshGatewayMode, MeshGatewayModeReport, MeshService, Protocol, ProxyDefaults, ServiceDefaults, StateEncryption } from '../../lib';

/** Knobs the tests turn (local images, no Envoy); users get the defaults. */
export interface FederatedPairOptions {
  readonly method?: FederationMethod;
  readonly image?: string;
  readonly startEnvoy?: boolean;
  /**
   * Both datacenters' servers in a stack of their own (`<id>-servers`),
   * applied first, so a plain deploy heals a dead server. Default: on with
   * WAN gossip, the only method it works with.
   */
  readonly separateServers?: boolean;
}

export class FederatedPair extends TerraformStack {
  public readonly federation: ConsulFederation;

  constructor(scope: Construct, id: string, options: FederatedPairOptions = {}) {
    super(scope, id);
    // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
    new StateEncryption(this, 'state-encryption');
    const method = options.method ?? FederationMethod.wanGossip();
    const servers = (options.separateServers ?? !method.throughMeshGateways) ? new TerraformStack(scope, `${id}-servers`) : undefined;
    if (servers) new StateEncryption(servers, 'state-encryption');
    this.federation = new ConsulFederation(this, 'fed', {
      primary: { name: 'dc1' },
      secondaries: [{ name: 'dc2' }],
      method,
      image: options.image,
      // Containers, volumes, networks: applied before the Consul side, which is refreshed through them.
      serverStack: servers,
    });
    for (const dc of this.federation.datacenters) {
      dc.addMeshGateway('gateway', { startEnvoy: options.startEnvoy });
    }
    new ProxyDefaults(this, 'proxy-defaults', {
      datacenter: this.federation.primary,
      meshGatewayMode: MeshGatewayMode.local(),
    });
    new ServiceDefaults(this, 'api-defaults', {
      datacenter: this.federation.primary,
      service: 'api',
      protocol: Protocol.HTTP,
      meshGatewayMode: MeshGatewayMode.remote(),
    });

    // web in dc1 calls api in dc2 and billing in dc1. `npm run explain` shows
    // which gateway each call uses: proxy-defaults (local) decides api, even
    // though api's own service-defaults says remote.
    const dc2 = this.federation.datacenter('dc2');
    new MeshService(this, 'api', { datacenter: dc2, service: 'api', port: 8080 });
    new MeshService(this, 'web', {
      datacenter: this.federation.primary,
      service: 'web',
      port: 8080,
      upstreams: [
        { service: 'api', datacenter: dc2.name, localBindPort: 9191 },
        { service: 'billing', localBindPort: 9192 },
      ],
    });
    // Writes the mode table, its diagram and the services' agent definitions beside cdk.tf.json.
    new MeshGatewayModeReport(this, 'modes');
  }
}

if (require.main === module) {
  const app = new App();
  new FederatedPair(app, 'federated-pair', {
    image: process.env.CONSUL_MESH_IMAGE,
    startEnvoy: process.env.CONSUL_MESH_START_ENVOY !== 'false',
  });
  // Where `npm run up` keeps the stacks' (encrypted) state: outside the repo. Else cdktf's default, ./terraform.<stack>.tfstate.
  const stateDir = process.env.CONSUL_MESH_STATE_DIR;
  if (stateDir) {
    for (const stack of app.node.children.filter((c): c is TerraformStack => c instanceof TerraformStack)) {
      new LocalBackend(stack, { path: path.join(stateDir, `${stack.node.id}.tfstate`) });
    }
  }
  app.synth();
}

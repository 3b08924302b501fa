// An ingress gateway in one Docker datacenter: HTTP by host name to two
// services on one port, and a TCP database on another.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DockerDatacenter, IngressGateway, Protocol, ServiceDefaults, StateEncryption } from '../../lib';

/** Knobs the tests turn (local images, no Envoy); users get the defaults. */
export interface IngressExampleOptions {
  readonly image?: string;
  readonly startEnvoy?: boolean;
}

export class IngressExample extends TerraformStack {
  public readonly datacenter: DockerDatacenter;
  public readonly gateway: IngressGateway;

  constructor(scope: Construct, id: string, options: IngressExampleOptions = {}) {
    super(scope, id);
    // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
    new StateEncryption(this, 'state-encryption');
    this.datacenter = new DockerDatacenter(this, 'dc1', { name: 'dc1', image: options.image });
    // An http listener takes only services whose protocol is http.
    for (const service of ['web', 'api']) {
      new ServiceDefaults(this, `${service}-defaults`, { datacenter: this.datacenter, service, protocol: Protocol.HTTP });
    }
    this.gateway = new IngressGateway(this, 'ingress', { datacenter: this.datacenter, startEnvoy: options.startEnvoy });
    const http = this.gateway.addListener({ port: 8080, protocol: Protocol.HTTP });
    http.addService({ name: 'web', hosts: ['shop.example.com'] });
    http.addService({ name: 'api', hosts: ['api.shop.example.com'] });
    this.gateway.addListener({ port: 5432, services: [{ name: 'db' }] });
  }
}

if (require.main === module) {
  const app = new App();
  new IngressExample(app, 'ingress', {
    image: process.env.CONSUL_MESH_IMAGE,
    startEnvoy: process.env.CONSUL_MESH_START_ENVOY !== 'false',
  });
  app.synth();
}

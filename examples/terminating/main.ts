// A terminating gateway in one Docker datacenter: a billing API outside the
// mesh, registered on an external node and reached over TLS, and the
// intention that lets the mesh's web service call it.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DockerDatacenter, IntentionAction, ServiceIntentions, StateEncryption, TerminatingGateway } from '../../lib';

/** Knobs the tests turn (local images, no Envoy); users get the defaults. */
export interface TerminatingExampleOptions {
  readonly image?: string;
  readonly startEnvoy?: boolean;
}

export class TerminatingExample extends TerraformStack {
  public readonly datacenter: DockerDatacenter;
  public readonly gateway: TerminatingGateway;

  constructor(scope: Construct, id: string, options: TerminatingExampleOptions = {}) {
    super(scope, id);
    // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
    new StateEncryption(this, 'state-encryption');
    this.datacenter = new DockerDatacenter(this, 'dc1', { name: 'dc1', image: options.image });
    this.gateway = new TerminatingGateway(this, 'egress', { datacenter: this.datacenter, startEnvoy: options.startEnvoy });
    // 192.0.2.0/24 is a documentation range: put the real address here.
    this.gateway.linkService({
      service: 'billing', address: '192.0.2.10', port: 443, node: 'billing-saas',
      caFile: '/etc/ssl/certs/ca-certificates.crt', sni: 'billing.example.com',
    });
    new ServiceIntentions(this, 'billing-intentions', {
      datacenter: this.datacenter,
      destination: 'billing',
      sources: [{ name: 'web', action: IntentionAction.allow() }, { name: '*', action: IntentionAction.deny() }],
    });
  }
}

if (require.main === module) {
  const app = new App();
  new TerminatingExample(app, 'terminating', {
    image: process.env.CONSUL_MESH_IMAGE,
    startEnvoy: process.env.CONSUL_MESH_START_ENVOY !== 'false',
  });
  app.synth();
}

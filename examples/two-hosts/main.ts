// A federation split the way teams run it: each datacenter in a stack of its
// own (its own Terraform state), on a Docker host of its own. WAN gossip and
// server RPC go between the hosts' addresses, over TLS from one CA; the
// secondary's stack takes what it needs of the primary's (addresses, the
// replication token as a sensitive output) through cdktf's cross-stack
// references. Apply `two-hosts-dc1`, then `two-hosts-dc2`; destroy in reverse.
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { DockerDatacenter, FederationJoin, FederationMethod, MeshGatewayMode, MeshGatewayModeReport, MeshService, ProxyDefaults, StateEncryption } from '../../lib';

/** One Docker host of the federation. */
export interface HostOptions {
  /** The engine's DOCKER_HOST, e.g. ssh://ops@dc2.example.internal (default: the local engine). */
  readonly dockerHost?: string;
  /** The host's IPv4 address that the other host reaches. */
  readonly address: string;
}

/** Knobs the tests turn (local images, no Envoy); users get the defaults. */
export interface TwoHostsOptions {
  readonly dc1: HostOptions;
  readonly dc2: HostOptions;
  readonly image?: string;
  readonly startEnvoy?: boolean;
}

interface DatacenterStackProps {
  readonly name: string;
  readonly host: HostOptions;
  readonly image?: string;
  readonly startEnvoy?: boolean;
  readonly federationMethod?: FederationMethod;
  readonly join?: FederationJoin;
  readonly httpPort?: number;
  readonly lanSubnet?: string;
}

/** One datacenter, its Docker host and its mesh gateway, in a stack of its own. */
export class DatacenterStack extends TerraformStack {
  public readonly datacenter: DockerDatacenter;

  constructor(scope: Construct, id: string, props: DatacenterStackProps) {
    super(scope, id);
    // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
    new StateEncryption(this, 'state-encryption');
    // The federation's CA (`consul tls ca create`): every stack gets the same one.
    const caCertificate = new TerraformVariable(this, 'ca_certificate', { type: 'string', description: 'The federation CA certificate (PEM)' });
    const caPrivateKey = new TerraformVariable(this, 'ca_private_key', { type: 'string', sensitive: true, description: 'The federation CA key (PEM)' });
    this.datacenter = new DockerDatacenter(this, props.name, {
      name: props.name,
      image: props.image,
      dockerProvider: new DockerProvider(this, 'docker', { host: props.host.dockerHost }),
      hostAddress: props.host.address,
      tls: { caCertificate: caCertificate.stringValue, caPrivateKey: caPrivateKey.stringValue },
      federationMethod: props.federationMethod,
      join: props.join,
      httpPort: props.httpPort,
      lanSubnet: props.lanSubnet,
    });
    this.datacenter.addMeshGateway('gateway', { startEnvoy: props.startEnvoy });
  }
}

/** The primary's stack and the secondary's, wired together. */
export function twoHosts(app: App, options: TwoHostsOptions): { primary: DatacenterStack; secondary: DatacenterStack } {
  const primary = new DatacenterStack(app, 'two-hosts-dc1', {
    name: 'dc1', host: options.dc1, image: options.image, startEnvoy: options.startEnvoy, federationMethod: FederationMethod.wanGossip(),
  });
  new ProxyDefaults(primary, 'proxy-defaults', { datacenter: primary.datacenter, meshGatewayMode: MeshGatewayMode.local() });

  // Both on one engine (no DOCKER_HOST given): there, each datacenter needs a subnet and API port of its own.
  const oneEngine = options.dc1.dockerHost === options.dc2.dockerHost;
  const secondary = new DatacenterStack(app, 'two-hosts-dc2', {
    name: 'dc2', host: options.dc2, image: options.image, startEnvoy: options.startEnvoy, join: primary.datacenter.federationJoin(),
    httpPort: oneEngine ? 8501 : undefined, lanSubnet: oneEngine ? '10.249.2.0/24' : undefined,
  });
  // web in dc2 calls api in dc1 through dc2's gateway (proxy-defaults: local, replicated from dc1).
  new MeshService(secondary, 'web', {
    datacenter: secondary.datacenter,
    service: 'web',
    port: 8080,
    upstreams: [{ service: 'api', datacenter: 'dc1', localBindPort: 9191 }],
  });
  // The mode table beside dc2's cdk.tf.json: its row is decided by dc1's proxy-defaults, declared in the other stack.
  new MeshGatewayModeReport(secondary, 'modes');
  return { primary, secondary };
}

if (require.main === module) {
  const app = new App();
  const env = process.env;
  twoHosts(app, {
    dc1: { dockerHost: env.DC1_DOCKER_HOST, address: env.DC1_HOST_ADDRESS ?? '192.0.2.1' },
    dc2: { dockerHost: env.DC2_DOCKER_HOST, address: env.DC2_HOST_ADDRESS ?? '192.0.2.2' },
    image: env.CONSUL_MESH_IMAGE,
    startEnvoy: env.CONSUL_MESH_START_ENVOY !== 'false',
  });
  app.synth();
}

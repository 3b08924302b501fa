import { Construct, IConstruct } from 'constructs';
import { AddressPool, DockerRuntime, pollUntil } from './runtime';
import { CONSUL_PORTS } from '../../internal/agent-config';
import { portText } from '../../internal/plan-checks';
import { Container, Volume } from '../../internal/providers';
import { invalidInput } from '../../internal/errors';
import { Annotations, ITerraformDependable, Token } from '../../internal/tf';

/** What a Docker datacenter lends the gateways placed in it. */
export interface DockerPlacement {
  readonly runtime: DockerRuntime;
  readonly datacenterName: string;
  /** Prefix of Docker object names. */
  readonly prefix: string;
  /** The datacenter's network (a literal name when the servers are in another stack). */
  readonly networkName: string;
  readonly lanPool: AddressPool;
  /** Addresses on the network datacenters share (mesh gateways' WAN side without a host address). */
  readonly wanPool: AddressPool;
  /** That network's name; reading it declares the network where its owner lives. */
  readonly wanNetworkName: () => string;
  /** The Consul image (registration runs `consul connect envoy`). */
  readonly image: string;
  /** LAN address of the server gateways register through. */
  readonly serverAddress: string;
  /** The servers' containers: registration waits for them (none when they are in a stack applied before). */
  readonly readiness: ITerraformDependable[];
  /** Servers federate through mesh gateways: mesh gateways expose them. */
  readonly meshGatewayFederation: boolean;
  /** Mesh gateways publish their port on this host address (replica r: port+r) and advertise it as their WAN address. */
  readonly hostAddress?: string;
}

const placements = new WeakMap<IConstruct, DockerPlacement>();

/** Records that `datacenter` runs its gateways' processes on Docker, as `placement` says. */
export function placeOnDocker(datacenter: IConstruct, placement: DockerPlacement): void {
  placements.set(datacenter, placement);
}

/** Where `datacenter` runs gateway processes; none for a datacenter whose operator runs them. */
export function dockerPlacementOf(datacenter: IConstruct): DockerPlacement | undefined {
  return placements.get(datacenter);
}

/** What a gateway asks for when it starts its replicas. */
export interface GatewayProcessSpec {
  /** `mesh`, `ingress` or `terminating` (the `-gateway` flag). */
  readonly kind: string;
  readonly service: string;
  readonly replicas: number;
  readonly port: number;
  /** The gateway token's SecretID (a sensitive reference). */
  readonly tokenSecret: string;
  readonly exposeServers: boolean;
  readonly startEnvoy: boolean;
  readonly envoyImage: string;
  readonly dependsOn: ITerraformDependable[];
}

/** One replica as placed: its addresses and the resources that run it. */
export interface GatewayInstance {
  readonly proxyId: string;
  readonly lanAddress: string;
  /** Mesh gateways only: the others never join the WAN network. */
  readonly wanAddress?: string;
  /** Completes once the gateway is registered and its Envoy bootstrap written. */
  readonly registration: ITerraformDependable;
  /** The Envoy container, when Envoy is started. */
  readonly envoy?: Container;
}

/**
 * Builds, under `gateway` (`Replica<n>/...`), each replica's bootstrap
 * volume, its registration (a one-shot `consul connect envoy -register
 * -bootstrap` with the gateway's own token) and its Envoy container.
 */
export function runGatewayReplicas(gateway: Construct, placement: DockerPlacement, spec: GatewayProcessSpec): GatewayInstance[] {
  const { runtime } = placement;
  if (spec.kind === 'mesh' && placement.meshGatewayFederation && !spec.startEnvoy) {
    Annotations.of(gateway).addWarning(`startEnvoy is off in mesh-gateway federation: "${placement.datacenterName}" will register its gateway`
      + ' but servers cannot reach other datacenters until an Envoy runs it.');
  }
  if (spec.kind === 'mesh' && placement.hostAddress !== undefined && spec.replicas > 1 && Token.isUnresolved(spec.port)) {
    // Replica r publishes port+r on the shared host address, which needs the number at synth.
    throw invalidInput(gateway, 'a mesh gateway with replicas on a host address needs its port as a number, not a Terraform reference', '<reference>',
      'Pass port as a number, or use one replica.');
  }
  const image = runtime.image(placement.image);
  const port = portText(spec.port);
  const instances: GatewayInstance[] = [];
  for (let r = 0; r < spec.replicas; r++) {
    const proxyId = `${spec.service}-${r}`;
    const lan = placement.lanPool.allocate();
    // Only mesh gateways face the WAN: on the host address, or on the WAN network, whose /24 every datacenter shares.
    const onHost = spec.kind === 'mesh' && placement.hostAddress !== undefined;
    const external = r === 0 ? spec.port : spec.port + r;
    const wanPort = onHost ? portText(external) : port;
    const wan = spec.kind !== 'mesh' ? undefined : placement.hostAddress ?? placement.wanPool.allocate();
    const base = `${placement.prefix}-${placement.datacenterName}-${proxyId}`;
    const scope = new Construct(gateway, `Replica${r}`);
    const bootstrap = new Volume(scope, 'Bootstrap', { provider: runtime.provider, name: `${base}-bootstrap` });
    const flags = [
      `-gateway=${spec.kind}`, '-register',
      `-service ${spec.service}`, `-proxy-id ${proxyId}`,
      `-address ${lan}:${port}`,
      ...(wan ? [`-wan-address ${wan}:${wanPort}`] : []),
      ...(spec.exposeServers ? ['-expose-servers'] : []),
      // One listener on every interface of the Envoy container (LAN and
      // WAN); it also spares the check that the LAN address is bindable
      // here, in a container that is not the one holding it.
      `-bind-address default=0.0.0.0:${port}`,
      '-admin-bind 127.0.0.1:19000',
      '-bootstrap',
    ];
    // Registration and bootstrap need only the consul binary, so they run
    // (and are tested) apart from Envoy, which reads the bootstrap file.
    const registration = runtime.oneShot(scope, 'Registration', {
      name: `${base}-register`,
      image: image.imageId,
      entrypoint: ['/bin/sh', '-c'],
      // Polled: in a secondary the token was just created in the primary and
      // is "not found" until it has replicated (typically well under a second).
      command: [`${pollUntil(`consul connect envoy ${flags.join(' ')} > /bootstrap/envoy.json.tmp`, 'the gateway did not register', 60)}`
        + ' && mv /bootstrap/envoy.json.tmp /bootstrap/envoy.json'],
      env: [
        `CONSUL_HTTP_ADDR=http://${placement.serverAddress}:${CONSUL_PORTS.http}`,
        `CONSUL_GRPC_ADDR=http://${placement.serverAddress}:${CONSUL_PORTS.grpc}`,
        `CONSUL_HTTP_TOKEN=${spec.tokenSecret}`,
      ],
      networksAdvanced: [{ name: placement.networkName }],
      volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap' }],
      dependsOn: [...placement.readiness, ...spec.dependsOn],
    });
    const envoy = spec.startEnvoy ? new Container(scope, 'Envoy', {
      provider: runtime.provider,
      name: base,
      image: runtime.image(spec.envoyImage).imageId,
      command: ['envoy', '--config-path', '/bootstrap/envoy.json'],
      networksAdvanced: [
        { name: placement.networkName, ipv4Address: lan },
        ...(wan && !onHost ? [{ name: placement.wanNetworkName(), ipv4Address: wan }] : []),
      ],
      ...(onHost ? { ports: [{ internal: spec.port, external, ip: placement.hostAddress }] } : {}),
      volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap', readOnly: true }],
      restart: 'unless-stopped',
      dependsOn: [registration],
    }) : undefined;
    instances.push({ proxyId, lanAddress: `${lan}:${port}`, wanAddress: wan && `${wan}:${wanPort}`, registration, envoy });
  }
  return instances;
}

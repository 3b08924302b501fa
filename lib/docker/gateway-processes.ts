// The Docker side of the runtime seam (lib/datacenter/runtime.ts): a
// gateway's replicas as containers, and what a Docker datacenter offers for
// direct peering.
import { Construct, IConstruct } from 'constructs';
import { AddressPool, consulCliEnv, pollUntil, StackEngine } from './stack-engine';
import { DatacenterRuntime, GatewayProcesses, GatewayProcessSpec, GatewayReplica, TokenRetirement } from '../datacenter/runtime';
import { CONSUL_PORTS } from '../internal/agent-config';
import { replaceTrigger } from '../internal/dependencies';
import { invalidInput } from '../internal/errors';
import { portText } from '../internal/plan-checks';
import { Container, Volume } from '../internal/providers';
import { FinalizePass } from '../internal/finalize-pass';
import { Annotations, ITerraformDependable, Token } from '../internal/tf';

/** What a Docker datacenter lends the gateways placed in it. */
export interface DockerPlacement {
  readonly engine: StackEngine;
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
  /** That server's container: registrations run in its network namespace, once it is ready. */
  readonly serverContainer: string;
  /** What registration waits for: the servers' steps, or in a stack applied after them, a secondary's replication hand-over. */
  readonly readiness: ITerraformDependable[];
  /** Servers federate through mesh gateways: mesh gateways expose them. */
  readonly meshGatewayFederation: boolean;
  /** Mesh gateways publish their port on this host address (replica r: port+r) and advertise it as their WAN address. */
  readonly hostAddress?: string;
  /** The servers' addresses for direct peering (see `DatacenterRuntime.directPeeringAddresses`). */
  readonly directPeeringAddresses: () => string[];
  /** Deletes tokens of earlier generations (`DatacenterRuntime.retireTokens`). */
  readonly managementToken: string;
}

/** How a Docker datacenter runs what the generic constructs ask of it. */
export class DockerDatacenterRuntime implements DatacenterRuntime {
  public readonly runsGateways = true;

  constructor(private readonly placement: DockerPlacement) {}

  public get meshGatewayFederation(): boolean {
    return this.placement.meshGatewayFederation;
  }

  public runGateway(gateway: Construct, spec: GatewayProcessSpec): GatewayProcesses {
    this.placement.engine.registerOwner(gateway);
    return new DockerGatewayProcesses(this.placement.engine, runGatewayReplicas(gateway, this.placement, spec));
  }

  public directPeeringAddresses(): string[] {
    return this.placement.directPeeringAddresses();
  }

  public retireTokens(scope: Construct, spec: TokenRetirement): void {
    retireTokens(scope, this.placement, spec);
  }
}

/**
 * A one-shot that deletes every token of `spec.description` but `spec.keep`,
 * after the new one is handed over. It prints accessor IDs only.
 */
function retireTokens(scope: Construct, placement: DockerPlacement, spec: TokenRetirement): Container {
  const { engine } = placement;
  // `consul acl token list`: one "Key: value" a line, a blank line between tokens.
  const stale = 'consul acl token list | awk -v d="$DESCRIPTION" -v k="$KEEP" \'/^AccessorID:/ { a = $2 } /^Description:/ { sub(/^Description: */, ""); if ($0 == d && a != k) print a }\'';
  return engine.oneShot(scope, 'RetireTokens', {
    name: `${placement.prefix}-${placement.datacenterName}-${spec.name}-retire-tokens`,
    image: engine.image(placement.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [`set -e; for a in $(${stale}); do consul acl token delete -id "$a" >/dev/null; echo "deleted token $a"; done`],
    env: [...consulCliEnv(placement.serverAddress, placement.managementToken), `DESCRIPTION=${spec.description}`, `KEEP=${spec.keep}`],
    networksAdvanced: [{ name: placement.networkName }],
    dependsOn: spec.after,
  });
}

/** A replica as placed: the seam's view, and its Envoy container. */
interface DockerReplica extends GatewayReplica {
  /** The Envoy container, when Envoy is started. */
  readonly envoy?: Container;
}

class DockerGatewayProcesses implements GatewayProcesses {
  constructor(private readonly engine: StackEngine, public readonly replicas: DockerReplica[]) {}

  public publishOnHost(owner: IConstruct, ports: () => number[], fix: string): void {
    const envoy = this.replicas[0]?.envoy;
    if (!envoy) return;
    this.engine.registerPorts(owner, ports, fix);
    // Read once the tree is complete: ingress gateways gain listeners after construction.
    FinalizePass.of(owner).add({ _finalize: () => envoy.putPorts(ports().map((port) => ({ internal: port, external: port, ip: '127.0.0.1' }))) });
  }
}

/**
 * Builds, under `gateway` (`Replica<n>/...`), each replica's bootstrap
 * volume, its registration (a one-shot `consul connect envoy -register
 * -bootstrap` with the gateway's own token) and its Envoy container.
 */
function runGatewayReplicas(gateway: Construct, placement: DockerPlacement, spec: GatewayProcessSpec): DockerReplica[] {
  const { engine } = placement;
  if (spec.kind === 'mesh' && placement.meshGatewayFederation && !spec.startEnvoy) {
    Annotations.of(gateway).addWarning(`startEnvoy is off in mesh-gateway federation: "${placement.datacenterName}" will register its gateway`
      + ' but servers cannot reach other datacenters until an Envoy runs it.');
  }
  if (spec.kind === 'mesh' && placement.hostAddress !== undefined && spec.replicas > 1 && Token.isUnresolved(spec.port)) {
    // Replica r publishes port+r on the shared host address, which needs the number at synth.
    throw invalidInput(gateway, 'a mesh gateway with replicas on a host address needs its port as a number, not a Terraform reference', '<reference>',
      'Pass port as a number, or use one replica.');
  }
  const image = engine.image(placement.image);
  const port = portText(spec.port);
  const instances: DockerReplica[] = [];
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
    const bootstrap = new Volume(scope, 'Bootstrap', { provider: engine.provider, name: `${base}-bootstrap` });
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
    const registration = engine.oneShot(scope, 'Registration', {
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
      volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap' }],
      dependsOn: [...placement.readiness, ...spec.dependsOn],
    }, { joins: placement.serverContainer });
    const envoy = spec.startEnvoy ? new Container(scope, 'Envoy', {
      provider: engine.provider,
      name: base,
      image: engine.image(spec.envoyImage).imageId,
      command: ['envoy', '--config-path', '/bootstrap/envoy.json'],
      networksAdvanced: [
        { name: placement.networkName, ipv4Address: lan },
        ...(wan && !onHost ? [{ name: placement.wanNetworkName(), ipv4Address: wan }] : []),
      ],
      ...(onHost ? { ports: [{ internal: spec.port, external, ip: placement.hostAddress }] } : {}),
      volumes: [{ volumeName: bootstrap.name, containerPath: '/bootstrap', readOnly: true }],
      restart: 'unless-stopped',
      dependsOn: [registration],
      // Envoy reads its bootstrap (token included) only at start: a new registration (a rotated token, a new image) restarts it.
      lifecycle: { replaceTriggeredBy: [replaceTrigger(registration)] },
    }) : undefined;
    instances.push({ proxyId, lanAddress: `${lan}:${port}`, wanAddress: wan && `${wan}:${wanPort}`, registration, envoy });
  }
  return instances;
}

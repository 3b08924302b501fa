import { Construct } from 'constructs';
import { GatewayAcl } from './gateway-acl';
import { gatewaysOf, IDatacenter, recordGateway } from '../datacenter/datacenter';
import { GatewayProcesses, runtimeOf } from '../datacenter/runtime';
import { gatewayRules } from '../internal/acl-rules';
import { validationMessage } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { checkAtPlan } from '../internal/plan-checks';
import { AclPolicy, AclToken } from '../internal/providers';
import { FinalizePass, IFinalizable } from '../internal/finalize-pass';
import { ITerraformDependable, Op, Token } from '../internal/tf';
import { checkGeneration } from '../internal/token-rotation';
import { checkConnect, checkImage, checkPort, checkReplicas } from '../internal/validation';

/** The three kinds of Consul gateway (the `-gateway` flag of `consul connect envoy`). */
export enum GatewayKind {
  /** Routes mTLS traffic between datacenters and peers by SNI. */
  MESH = 'mesh',
  /** Lets traffic from outside into the mesh. */
  INGRESS = 'ingress',
  /** Lets mesh services reach services outside the mesh. */
  TERMINATING = 'terminating',
}

/** What every gateway kind takes: its name, port, replicas and process. */
export interface GatewayOptions {
  /**
   * Consul service name of the gateway (and of its config entry, for ingress
   * and terminating gateways).
   * @default - the kind's: "mesh-gateway", "ingress-gateway" or "terminating-gateway"
   */
  readonly serviceName?: string;

  /**
   * Port the gateway registers with: where a mesh gateway listens (LAN and
   * WAN), a terminating gateway's mesh listener, an ingress gateway's
   * readiness listener and health check (no listener may use it).
   * @default - the kind's: 8443 (mesh), 8888 (ingress), 9443 (terminating: Consul's docs use 8443, which mesh gateways take here)
   */
  readonly port?: number;

  /**
   * Gateway instances (Envoy processes) to run.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Start Envoy after registration. Registration and the Envoy bootstrap need
   * only Consul; turn this off where no Envoy image is available.
   * @default true
   */
  readonly startEnvoy?: boolean;

  /**
   * Envoy image for the gateway process.
   * @default - the Envoy line the datacenter's Consul version supports (ConsulVersion.defaultEnvoyImage)
   */
  readonly envoyImage?: string;

  /**
   * The generation of the gateway's ACL token. Add one to rotate the token
   * in one deploy: a new token is created, every replica registered again
   * with it (its Envoy restarted on the new bootstrap), and then the old
   * token is deleted. Where the operator runs the gateway, OpenTofu deletes
   * the old token in the same deploy: hand the new one over first.
   * @default 1
   */
  readonly tokenGeneration?: number;
}

/** What every gateway kind hands to `Gateway`. */
export interface GatewayBaseProps extends GatewayOptions {
  /** The datacenter the gateway serves. */
  readonly datacenter: IDatacenter;

  /** Which gateway it is. */
  readonly kind: GatewayKind;

  /**
   * Register with `-expose-servers` (mesh gateways).
   * @default - true for mesh gateways in mesh-gateway federation
   */
  readonly exposeServers?: boolean;
}

/** Each kind's own defaults (see `GatewayOptions`). */
const KIND_DEFAULTS: Record<GatewayKind, { serviceName: string; port: number }> = {
  [GatewayKind.MESH]: { serviceName: 'mesh-gateway', port: 8443 },
  [GatewayKind.INGRESS]: { serviceName: 'ingress-gateway', port: 8888 },
  [GatewayKind.TERMINATING]: { serviceName: 'terminating-gateway', port: 9443 },
};

/** Where `consul connect envoy` puts Envoy's admin listener, in the gateway's own process. */
const ENVOY_ADMIN_PORT = 19000;

/**
 * What every gateway shares: its checked name, port and replicas, its
 * least-privilege ACL policy and token (the token's secret read back through
 * a data source, never written into the configuration), and the processes
 * its datacenter's runtime runs for it (in a Docker datacenter, a
 * registration and an Envoy container per replica, built under the gateway).
 * Each kind adds its ACL rules and config entry.
 */
export abstract class Gateway extends Construct implements IFinalizable {
  /** The datacenter the gateway serves. */
  public readonly datacenter: IDatacenter;
  /** Which gateway it is. */
  public readonly kind: GatewayKind;
  /** Consul service name. */
  public readonly serviceName: string;
  /** Port the gateway registers with. */
  public readonly port: number;
  /** Number of gateway instances. */
  public readonly replicas: number;
  /** The gateway's ACL policy. */
  public readonly policy: AclPolicy;
  /** The gateway's ACL token. */
  public readonly token: AclToken;
  /** The token's SecretID, as a (sensitive) data source reference. */
  public readonly tokenSecretId: string;
  /** The processes its datacenter's runtime runs (no replicas where the operator runs the gateway). @internal */
  protected readonly _processes: GatewayProcesses;

  constructor(scope: Construct, id: string, props: GatewayBaseProps) {
    super(scope, id);
    const dc = props.datacenter;
    this.datacenter = dc;
    this.kind = props.kind;
    checkConnect(this, `${props.kind === GatewayKind.INGRESS ? 'an' : 'a'} ${props.kind} gateway`, dc);
    const defaults = KIND_DEFAULTS[props.kind];
    this.serviceName = checkServiceName(this, 'serviceName', props.serviceName ?? defaults.serviceName);
    this.port = checkPort(this, 'port', props.port ?? defaults.port, true);
    if (Token.isUnresolved(this.port)) checkAtPlan(this, Op.neq(this.port, ENVOY_ADMIN_PORT), `${this.node.path}: port must not be ${ENVOY_ADMIN_PORT}, Envoy's admin port in the same process.`);
    this.replicas = checkReplicas(this, props.replicas ?? 1);
    const envoyImage = props.envoyImage !== undefined ? checkImage(this, 'envoyImage', props.envoyImage) : dc.consulVersion.defaultEnvoyImage;

    const generation = checkGeneration(this, 'tokenGeneration', props.tokenGeneration);
    const runtime = runtimeOf(dc);
    const retires = generation > 1 && runtime.retireTokens !== undefined;
    const acl = new GatewayAcl(this, 'Acl', { datacenter: dc, kind: props.kind, serviceName: this.serviceName, generation, runtimeRetires: retires });
    this.policy = acl.policy;
    this.token = acl.token;
    this.tokenSecretId = acl.secretId;

    const exposeServers = props.exposeServers ?? (props.kind === GatewayKind.MESH && runtime.meshGatewayFederation);
    this._processes = runtime.runGateway(this, {
      kind: props.kind,
      service: this.serviceName,
      replicas: this.replicas,
      port: this.port,
      tokenSecret: acl.secretId,
      exposeServers,
      startEnvoy: props.startEnvoy ?? true,
      envoyImage,
      dependsOn: [acl.secret],
    });
    const replicas = this._processes.replicas;
    // The old token goes once every replica is registered with the new one.
    if (retires) runtime.retireTokens!(this, { name: this.serviceName, description: acl.description, keep: acl.token.accessorId, after: replicas.map((r) => r.registration) });

    const self = this;
    recordGateway({
      construct: this,
      kind: props.kind,
      datacenter: dc,
      service: this.serviceName,
      ports: () => this._ports(),
      registrations: this.registrations,
      wanAddresses: replicas.flatMap((r) => (r.wanAddress ? [r.wanAddress] : [])),
      exposesServers: replicas.length > 0 && exposeServers,
      get peering() { return self._carriesPeering(); },
    });
    FinalizePass.of(this).add(this);
    this.node.addValidation({ validate: () => this.checkClashes() });
  }

  /** The exact ACL rules of the gateway's policy. */
  public get rules(): string {
    return gatewayRules({ kind: this.kind, service: this.serviceName, ...this._ruleOptions() });
  }

  /** Resources that complete once every replica is registered (empty when the operator runs the gateway). */
  public get registrations(): ITerraformDependable[] {
    return this._processes.replicas.map((r) => r.registration);
  }

  /**
   * Renders what may change after construction: the policy's rules.
   * @internal
   */
  public _finalize(): void {
    this.policy.rules = this.rules;
  }

  /** What the kind adds to the rules (peering, linked services). @internal */
  protected _ruleOptions(): { peering?: boolean; linkedServices?: string[] } {
    return {};
  }

  /** Ports the gateway's process takes. @internal */
  protected _ports(): number[] {
    return [this.port];
  }

  /** Whether the policy grants `peering = "read"`. @internal */
  protected _carriesPeering(): boolean {
    return false;
  }

  /**
   * Two gateways of one datacenter on one port clash wherever they share a
   * host (an operator's machine, host networking), and two with one service
   * name would be one policy, one token and one set of containers. Reported
   * by the later-created gateway of each pair, so each clash is named once.
   * A port equal to Envoy's admin port clashes within the gateway's own process.
   */
  private checkClashes(): string[] {
    const errors: string[] = [];
    // A port from a reference is checked at plan time, and cannot be compared here.
    const ports = this._ports().filter((p) => !Token.isUnresolved(p));
    if (ports.includes(ENVOY_ADMIN_PORT)) {
      errors.push(validationMessage(`port ${ENVOY_ADMIN_PORT} of ${this.kind} gateway ${this.node.path} is Envoy's admin port in the same process`,
        ENVOY_ADMIN_PORT, 'Use another port for the gateway or listener.'));
    }
    for (const other of gatewaysOf(this.datacenter)) {
      if (other.construct === this) break; // only gateways created earlier
      if (other.service === this.serviceName) {
        errors.push(validationMessage(
          `${this.kind} gateway ${this.node.path} has the service name of ${other.kind} gateway ${other.construct.node.path} in datacenter "${this.datacenter.name}"`,
          this.serviceName, 'Give each gateway of a datacenter its own serviceName.'));
      }
      for (const port of ports.filter((p) => other.ports().includes(p))) {
        errors.push(validationMessage(
          `port ${port} of ${this.kind} gateway ${this.node.path} is taken by ${other.kind} gateway ${other.construct.node.path} in datacenter "${this.datacenter.name}"`,
          port, 'Give each gateway of a datacenter its own ports.'));
      }
    }
    return errors;
  }
}

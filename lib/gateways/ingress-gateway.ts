import { Construct } from 'constructs';
import { GatewayAcl, runGatewayProcess } from './gateway-acl';
import { IngressListener, IngressListenerOptions } from './ingress-listener';
import { configEntryResource, refreshConfigEntry } from '../config-entries/config-entry-resource';
import { ProxyDefaults } from '../config-entries/proxy-defaults';
import { ServiceDefaults } from '../config-entries/service-defaults';
import type { IDatacenter } from '../datacenter/datacenter';
import { gatewayRules } from '../internal/acl-rules';
import { addDependencies, beforeSynth, findInStack, sameCluster } from '../internal/cluster';
import { invalidInput, validationMessage } from '../internal/errors';
import { GatewayInstance } from '../internal/gateway-host';
import { gatewayPortClashes, registerGateway } from '../internal/gateway-registry';
import { checkServiceName } from '../internal/names';
import { AclPolicy, AclToken, ConfigEntry } from '../internal/providers';
import { Annotations, ITerraformDependable } from '../internal/tf';
import { checkConnect, checkPort, checkReplicas } from '../internal/validation';

/** Props of {@link IngressGateway}. */
export interface IngressGatewayProps {
  /** The datacenter the gateway runs in. */
  readonly datacenter: IDatacenter;

  /**
   * Consul service name of the gateway, and the name of its `ingress-gateway` config entry.
   * @default "ingress-gateway"
   */
  readonly serviceName?: string;

  /**
   * Port the gateway registers with: Envoy's readiness listener and Consul's
   * health check. No listener may use it.
   * @default 8888
   */
  readonly port?: number;

  /**
   * Gateway instances (Envoy processes) to run.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Serve TLS on every listener, with certificates from the Connect CA
   * (`TLS.Enabled`); a listener's own `tls` wins.
   * @default false
   */
  readonly tls?: boolean;

  /**
   * Listeners, each a port and the services behind it.
   * @default - none yet: add them with addListener()
   */
  readonly listeners?: IngressListenerOptions[];

  /**
   * Start Envoy after registration; turn this off where no Envoy image is available.
   * @default true
   */
  readonly startEnvoy?: boolean;

  /**
   * In a Docker datacenter, publish every listener port of the first replica's
   * Envoy on the host's 127.0.0.1 (same port number), so traffic from outside
   * Docker can enter the mesh. Further replicas are reachable on the
   * datacenter's network only. Ignored where the gateway process is the operator's.
   * @default true
   */
  readonly publishListeners?: boolean;

  /**
   * Envoy image for the gateway process.
   * @default - the Envoy line the datacenter's Consul version supports (ConsulVersion.defaultEnvoyImage)
   */
  readonly envoyImage?: string;
}

/**
 * An ingress gateway: the `ingress-gateway` config entry (listeners and the
 * services behind them), an ACL policy (its own service write, services and
 * nodes read) and token, and, in a Docker datacenter, the registration and
 * Envoy containers per replica.
 *
 * Consul refuses the entry unless each service's protocol (service-defaults
 * or proxy-defaults) matches its listener's: the entry is ordered after every
 * such entry in the stack, and a mismatch among them fails synthesis.
 */
export class IngressGateway extends Construct {
  /** The datacenter the gateway runs in. */
  public readonly datacenter: IDatacenter;
  /** Consul service name (and config entry name). */
  public readonly serviceName: string;
  /** Port the gateway registers with (readiness and health check). */
  public readonly port: number;
  /** Number of gateway instances. */
  public readonly replicas: number;
  /** Whether listeners serve TLS unless they say otherwise. */
  public readonly tls: boolean;
  /** The exact ACL rules of the gateway's policy. */
  public readonly rules: string;
  /** The gateway's ACL policy. */
  public readonly policy: AclPolicy;
  /** The gateway's ACL token. */
  public readonly token: AclToken;
  /** The token's SecretID, as a (sensitive) data source reference. */
  public readonly tokenSecretId: string;
  /** The underlying `consul_config_entry` (kind `ingress-gateway`). */
  public readonly resource: ConfigEntry;
  private readonly _listeners: IngressListener[] = [];
  private readonly instances: GatewayInstance[];

  constructor(scope: Construct, id: string, props: IngressGatewayProps) {
    super(scope, id);
    const dc = props.datacenter;
    this.datacenter = dc;
    checkConnect(this, 'an ingress gateway', dc);
    this.serviceName = checkServiceName(this, 'serviceName', props.serviceName ?? 'ingress-gateway');
    this.port = checkPort(this, 'port', props.port ?? 8888);
    this.replicas = checkReplicas(this, props.replicas ?? 1);
    this.tls = props.tls ?? false;
    for (const listener of props.listeners ?? []) this.place(listener);
    registerGateway(this, { kind: 'ingress', datacenter: dc, service: this.serviceName, ports: () => [this.port, ...this._listeners.map((l) => l.port)] });

    this.rules = gatewayRules({ kind: 'ingress', service: this.serviceName });
    const acl = new GatewayAcl(this, 'Acl', {
      datacenter: dc,
      kind: 'ingress',
      serviceName: this.serviceName,
      rules: this.rules,
    });
    this.policy = acl.policy;
    this.token = acl.token;
    this.tokenSecretId = acl.secretId;
    this.resource = configEntryResource(this, dc, 'ingress-gateway', this.serviceName, this._renderBody(),
      'give this gateway its own serviceName');

    this.instances = runGatewayProcess(this, acl, {
      kind: 'ingress', replicas: this.replicas,
      port: this.port, startEnvoy: props.startEnvoy, envoyImage: props.envoyImage,
      publishedPorts: props.publishListeners ?? true ? () => this._listeners.map((l) => l.port) : undefined,
    });

    this.node.addValidation({ validate: () => [...this.checkListeners(), ...gatewayPortClashes(this), ...this.checkProtocols()] });
    beforeSynth(this, () => addDependencies(this.resource, this.protocolSources().map((s) => s.resource)));
  }

  /** Adds a listener; returns it, to add services to. */
  public addListener(options: IngressListenerOptions): IngressListener {
    const listener = this.place(options);
    this._listenerChanged();
    return listener;
  }

  /** The listeners, in the order added. */
  public get listeners(): IngressListener[] {
    return [...this._listeners];
  }

  /** Resources that complete once every replica is registered (empty when the operator runs the gateway). */
  public get registrations(): ITerraformDependable[] {
    return this.instances.map((i) => i.registration);
  }

  /** @internal */
  public _listenerChanged(): void {
    refreshConfigEntry(this.resource, this._renderBody());
  }

  /**
   * The config_json body. Consul returns `TLS` and `Listeners` as sent
   * (`Hosts` as null when absent), so nothing here needs an `{}` stand-in.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    return {
      TLS: { Enabled: this.tls },
      Listeners: this._listeners.map((l) => l._render()),
    };
  }

  private place(options: IngressListenerOptions): IngressListener {
    const clash = this._listeners.find((l) => l.port === options.port);
    if (clash) {
      throw invalidInput(this, `two listeners on port ${options.port}`, options.port, 'Give each listener its own port.');
    }
    if (options.port === this.port) {
      throw invalidInput(this, `listener port ${options.port} is the gateway's own port (Envoy's readiness listener)`, options.port,
        'Use another listener port, or move the gateway with `port`.');
    }
    const listener = IngressListener._create(this, options);
    this._listeners.push(listener);
    return listener;
  }

  private checkListeners(): string[] {
    return this._listeners.filter((l) => l.services.length === 0).map((l) => validationMessage(
      l.protocol === 'tcp' ? `tcp listener ${l.port} takes exactly one service and has none` : `listener ${l.port} (${l.protocol}) has no service`,
      [], 'Add one with listener.addService({ name: "..." }), or remove the listener.'));
  }

  /** service-defaults and proxy-defaults of this cluster that may set a listener's service's protocol. */
  private protocolSources(): (ServiceDefaults | ProxyDefaults)[] {
    const named = new Set(this._listeners.flatMap((l) => l.services.map((s) => s.name)));
    return findInStack(this, (c): c is ServiceDefaults | ProxyDefaults =>
      (c instanceof ServiceDefaults && named.has(c.service) || c instanceof ProxyDefaults) && sameCluster(c.datacenter, this.datacenter));
  }

  /** A protocol set in this stack that differs from the listener's makes Consul refuse the entry: fail at synth instead. */
  private checkProtocols(): string[] {
    const sources = this.protocolSources();
    const global = sources.find((s): s is ProxyDefaults => s instanceof ProxyDefaults);
    const globalProtocol = (global?._renderBody().Config as { protocol?: string } | undefined)?.protocol;
    const errors: string[] = [];
    for (const listener of this._listeners) {
      for (const service of listener.services.filter((s) => s.name !== '*')) {
        const own = sources.find((s): s is ServiceDefaults => s instanceof ServiceDefaults && s.service === service.name);
        const ownProtocol = own?._renderBody().Protocol as string | undefined;
        const [protocol, from] = ownProtocol ? [ownProtocol, own!] : globalProtocol ? [globalProtocol, global!] : [undefined, undefined];
        if (protocol !== undefined && protocol !== listener.protocol) {
          errors.push(validationMessage(
            `service "${service.name}" behind ${listener.protocol} listener ${listener.port} has protocol "${protocol}" (set by ${from!.node.path}), which Consul refuses`,
            protocol, `Set protocol "${listener.protocol}" for "${service.name}", or move it to a ${protocol} listener.`));
        } else if (protocol === undefined && listener.isHttpFamily) {
          Annotations.of(this).addWarning(`service "${service.name}" behind ${listener.protocol} listener ${listener.port} has no protocol set in this stack; `
            + `Consul refuses the entry unless service-defaults or proxy-defaults elsewhere set "${listener.protocol}" (its default is tcp).`);
        }
      }
    }
    return errors;
  }
}

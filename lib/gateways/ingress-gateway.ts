import { Construct } from 'constructs';
import { Gateway, GatewayKind, GatewayOptions } from './gateway';
import { IngressListener, IngressListenerOptions } from './ingress-listener';
import { configEntryResource, declaredEntry } from '../config-entries/config-entry-resource';
import { chainEntries } from '../config-entries/discovery-chain';
import { Protocol } from '../config-entries/protocol';
import { ProxyDefaults } from '../config-entries/proxy-defaults';
import { ServiceDefaults } from '../config-entries/service-defaults';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput, validationMessage } from '../internal/errors';
import { ConfigEntry } from '../internal/providers';
import { StackRecords } from '../internal/stack-records';
import { Annotations } from '../internal/tf';
import { MODE_LAYERS } from '../modes/mode-layers';
import { resolvedModes } from '../modes/mode-resolution';
import { noneAcrossDatacenters } from '../modes/none-across-datacenters';

/** Options of `DatacenterBase.addIngressGateway`. */
export interface IngressGatewayOptions extends GatewayOptions {
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
   * In a Docker datacenter, publish every listener port of the first replica's
   * Envoy on the host's 127.0.0.1 (same port number), so traffic from outside
   * Docker can enter the mesh. Further replicas are reachable on the
   * datacenter's network only. Ignored where the gateway process is the operator's.
   * @default true
   */
  readonly publishListeners?: boolean;
}

/** Props of `IngressGateway`. */
export interface IngressGatewayProps extends IngressGatewayOptions {
  /** The datacenter the gateway runs in. */
  readonly datacenter: IDatacenter;
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
export class IngressGateway extends Gateway {
  /** Whether listeners serve TLS unless they say otherwise. */
  public readonly tls: boolean;
  /** The underlying `consul_config_entry` (kind `ingress-gateway`). */
  public readonly resource: ConfigEntry;
  private readonly _listeners: IngressListener[] = [];

  constructor(scope: Construct, id: string, props: IngressGatewayProps) {
    super(scope, id, { ...props, kind: GatewayKind.INGRESS });
    this.tls = props.tls ?? false;
    for (const listener of props.listeners ?? []) this.place(listener);
    this.resource = configEntryResource(this, this.datacenter, 'ingress-gateway', this.serviceName, {
      render: () => this._renderBody(),
      orElse: 'give this gateway its own serviceName',
      // Consul refuses the entry unless each listener's services (through their resolvers) have its protocol.
      writtenAfter: () => chainEntries(this.datacenter, this._listeners.flatMap((l) => l.services.map((s) => s.name)), { resolvers: true }),
    });
    if (props.publishListeners ?? true) {
      this._processes.publishOnHost(this, () => this._listeners.map((l) => l.port), 'Move the listener to a free port, or set publishListeners: false.');
    }
    StackRecords.of(this).add(MODE_LAYERS.ingressGateways, this);
    this.node.addValidation({ validate: () => [...this.checkListeners(), ...this.checkProtocols(), ...this.checkModes()] });
  }

  /** Adds a listener; returns it, to add services to. */
  public addListener(options: IngressListenerOptions): IngressListener {
    return this.place(options);
  }

  /** The listeners, in the order added. */
  public get listeners(): IngressListener[] {
    return [...this._listeners];
  }

  /** @internal */
  protected _ports(): number[] {
    return [this.port, ...this._listeners.map((l) => l.port)];
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
      l.protocol === Protocol.TCP ? `tcp listener ${l.port} takes exactly one service and has none` : `listener ${l.port} (${l.protocol}) has no service`,
      [], 'Add one with listener.addService({ name: "..." }), or remove the listener.'));
  }

  /** A listener's service resolved (by a redirect or failover) to another datacenter in mode none. */
  private checkModes(): string[] {
    return noneAcrossDatacenters(this, resolvedModes(this).get(this) ?? [], this.datacenter,
      'Set local or remote in the target service\'s service-defaults or in proxy-defaults (an ingress gateway\'s upstreams carry no mode of their own).');
  }

  /** The cluster's proxy-defaults, if this stack declares it. */
  private proxyDefaults(): ProxyDefaults | undefined {
    const global = declaredEntry(this.datacenter, 'proxy-defaults', 'global');
    return global instanceof ProxyDefaults ? global : undefined;
  }

  /** A service's service-defaults in this cluster, if this stack declares them. */
  private serviceDefaultsOf(service: string): ServiceDefaults | undefined {
    const own = declaredEntry(this.datacenter, 'service-defaults', service);
    return own instanceof ServiceDefaults ? own : undefined;
  }

  /** A protocol set in this stack that differs from the listener's makes Consul refuse the entry: fail at synth instead. */
  private checkProtocols(): string[] {
    const global = this.proxyDefaults();
    const errors: string[] = [];
    for (const listener of this._listeners) {
      for (const service of listener.services.filter((s) => s.name !== '*')) {
        const own = this.serviceDefaultsOf(service.name);
        const [protocol, from] = own?.protocol ? [own.protocol, own] : global?.protocol ? [global.protocol, global] : [undefined, undefined];
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

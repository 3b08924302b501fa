import { IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { owned } from '../internal/owned';
import { checkProtocol, isHttpFamily, Protocol } from '../config-entries/protocol';
import { checkKeys, checkPort, utf8Length } from '../internal/validation';

/** A service behind an ingress listener. */
export interface IngressServiceOptions {
  /**
   * The mesh service. `*` (http listeners only) exposes every service whose
   * protocol is http, each under `<service>.ingress.*`.
   */
  readonly name: string;

  /**
   * Host names routed to the service, matched against the request's Host
   * header; `*` may stand for the leftmost label, and for any host where the
   * gateway's TLS is off. http, http2 and grpc only.
   * @default - Consul's `<service>.ingress.*`
   */
  readonly hosts?: string[];
}

/** Options of `IngressGateway.addListener`. */
export interface IngressListenerOptions {
  /** Port Envoy listens on. */
  readonly port: number;

  /**
   * The listener's protocol. Every service behind an http-family listener
   * must have that protocol (service-defaults or proxy-defaults), or Consul
   * refuses the entry.
   * @default Protocol.TCP
   */
  readonly protocol?: Protocol;

  /**
   * Serve TLS on this listener, with certificates from the Connect CA.
   * @default - the gateway's `tls`
   */
  readonly tls?: boolean;

  /**
   * Services behind the listener: exactly one on tcp, one or more otherwise.
   * @default - none yet: add them with addService()
   */
  readonly services?: IngressServiceOptions[];
}

/** @internal */
export interface IngressListenerOwner extends IConstruct {
  /** The gateway's TLS, which Consul checks hosts against. */
  readonly tls: boolean;
}

const INGRESS_SERVICE: Record<keyof IngressServiceOptions, true> = { name: true, hosts: true };
const INGRESS_LISTENER: Record<keyof IngressListenerOptions, true> = { port: true, protocol: true, tls: true, services: true };

/**
 * One listener of an `IngressGateway`, a port and the services behind
 * it, rendered into the gateway's config entry when the stack is synthesized.
 */
export class IngressListener {
  /** @internal */
  public static _create(owner: IngressListenerOwner, options: IngressListenerOptions): IngressListener {
    const listener = new IngressListener(owner, options);
    for (const service of options.services ?? []) {
      listener.check(service);
      listener._services.push(owned(service));
    }
    return listener;
  }

  /** Port Envoy listens on. */
  public readonly port: number;
  /** The listener's protocol. */
  public readonly protocol: Protocol;
  /** TLS of this listener; undefined defers to the gateway. */
  public readonly tls?: boolean;
  private readonly owner: IngressListenerOwner;
  private readonly _services: IngressServiceOptions[] = [];

  private constructor(owner: IngressListenerOwner, options: IngressListenerOptions) {
    checkKeys(owner, 'listener', options, INGRESS_LISTENER, 'IngressListenerOptions');
    this.owner = owner;
    this.port = checkPort(owner, 'listener port', options.port);
    this.protocol = checkProtocol(owner, options.protocol ?? Protocol.TCP);
    this.tls = options.tls;
  }

  /** Adds a service behind this listener; returns it as stored (read-only: the one `services` lists). */
  public addService(service: IngressServiceOptions): IngressServiceOptions {
    this.check(service);
    const stored = owned(service);
    this._services.push(stored);
    return stored;
  }

  /** The services behind the listener, in the order added. */
  public get services(): IngressServiceOptions[] {
    return [...this._services];
  }

  /** Whether the listener routes HTTP requests (http, http2, grpc), so hosts apply. */
  public get isHttpFamily(): boolean {
    return isHttpFamily(this.protocol);
  }

  /** @internal */
  public _render(): Record<string, unknown> {
    return {
      Port: this.port,
      Protocol: this.protocol,
      ...(this.tls === undefined ? {} : { TLS: { Enabled: this.tls } }),
      Services: this._services.map((s) => ({
        Name: s.name,
        // An empty list and none read back alike; none keeps the body minimal.
        ...(s.hosts && s.hosts.length > 0 ? { Hosts: [...s.hosts] } : {}),
      })),
    };
  }

  /** Consul's own rules for a listener's services, checked before anything is written. */
  private check(service: IngressServiceOptions): void {
    checkKeys(this.owner, `service of listener ${this.port}`, service, INGRESS_SERVICE, 'IngressServiceOptions');
    const where = `listener ${this.port} (${this.protocol})`;
    checkServiceName(this.owner, `service of ${where}`, service.name, 'every http service (http listeners only)');
    if (service.name === '*' && this.protocol !== Protocol.HTTP) {
      throw invalidInput(this.owner, `the wildcard service "*" is only valid on http listeners, and ${where} is not`, service.name,
        'Name the service, or put it on a listener with protocol "http".');
    }
    if (this.protocol === Protocol.TCP && this._services.length > 0) {
      throw invalidInput(this.owner, `a tcp listener takes exactly one service, and ${where} already has "${this._services[0].name}"`,
        service.name, 'Add another listener on its own port for this service, or use protocol "http" to route by host.');
    }
    if (this._services.some((s) => s.name === service.name)) {
      throw invalidInput(this.owner, `service "${service.name}" is already behind ${where}`, service.name,
        'Add each service once per listener; give it several hosts instead.');
    }
    const hosts = service.hosts ?? [];
    if (hosts.length > 0 && !this.isHttpFamily) {
      throw invalidInput(this.owner, `hosts route HTTP requests, so they apply only to http, http2 and grpc listeners, and ${where} is not`,
        hosts, `Remove hosts from service "${service.name}", or use protocol "http".`);
    }
    if (hosts.length > 0 && service.name === '*') {
      throw invalidInput(this.owner, `the wildcard service on ${where} cannot have hosts: each service gets <service>.ingress.*`,
        hosts, 'Remove hosts, or name the service.');
    }
    const taken = this._services.flatMap((s) => s.hosts ?? []);
    for (const host of hosts) {
      if (!/^(\*|[^*\s]+)(\.[^*\s]+)*$/.test(host)) {
        throw invalidInput(this.owner, `host of service "${service.name}" on ${where} is not a host name ("*" may only be the whole leftmost label)`,
          host, 'Use e.g. "api.example.com" or "*.example.com".');
      }
      // Consul checks the gateway's TLS here, not the listener's: hosts become DNS names of its certificate.
      if (host === '*' && this.owner.tls) {
        throw invalidInput(this.owner,
          `host "*" of service "${service.name}" on ${where} would be a DNS name of the gateway's TLS certificate, so Consul refuses it while the gateway's tls is on`,
          host, 'Name the hosts (e.g. "shop.example.com" or "*.example.com"), or turn the gateway\'s tls off.');
      }
      const problem = dnsNameProblem(host);
      if (problem) {
        throw invalidInput(this.owner, `host of service "${service.name}" on ${where} ${problem}, so Consul refuses it as a DNS name`, host,
          'Use a DNS name: labels of 1 to 63 bytes, at most 255 bytes in all (e.g. "shop.example.com").');
      }
      if (taken.includes(host) || hosts.indexOf(host) !== hosts.lastIndexOf(host)) {
        throw invalidInput(this.owner, `host "${host}" is routed twice on ${where}`, host,
          'Hosts must be unique within a listener: give each service its own.');
      }
    }
  }
}

/** Consul's DNS-name rule for hosts (miekg/dns IsDomainName), in bytes; the root "." passes it. */
function dnsNameProblem(host: string): string | undefined {
  if (host === '.') return undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = name.split('.');
  if (labels.includes('')) return 'has an empty label';
  if (labels.some((label) => utf8Length(label) > 63)) return 'has a label longer than 63 bytes';
  if (utf8Length(name) > 255) return 'is longer than 255 bytes';
  return undefined;
}

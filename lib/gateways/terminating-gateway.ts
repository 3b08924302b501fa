import { Construct } from 'constructs';
import { Gateway, GatewayKind, GatewayOptions } from './gateway';
import { LinkedService, LinkedServiceOptions } from './linked-service';
import { configEntryResource } from '../config-entries/config-entry-resource';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { ConfigEntry } from '../internal/providers';
import { checkKeys } from '../internal/validation';

const LINKED_SERVICE: Record<keyof LinkedServiceOptions, true> = {
  service: true, caFile: true, certFile: true, keyFile: true, sni: true, address: true, port: true, node: true,
};

/** Options of `DatacenterBase.addTerminatingGateway`. */
export interface TerminatingGatewayOptions extends GatewayOptions {
  /**
   * Services the gateway represents.
   * @default - none yet: link them with linkService()
   */
  readonly services?: LinkedServiceOptions[];
}

/** Props of `TerminatingGateway`. */
export interface TerminatingGatewayProps extends TerminatingGatewayOptions {
  /** The datacenter the gateway runs in. */
  readonly datacenter: IDatacenter;
}

/**
 * A terminating gateway: the `terminating-gateway` config entry (the linked
 * services, with the TLS the gateway uses towards them), the catalog
 * registration of linked services that live outside the mesh, an ACL policy
 * (its own service write, services and nodes read, and `service write` for
 * each linked service, kept in step with linkService()) and token, and, in a
 * Docker datacenter, the registration and Envoy containers per replica.
 */
export class TerminatingGateway extends Gateway {
  /** The underlying `consul_config_entry` (kind `terminating-gateway`). */
  public readonly resource: ConfigEntry;
  private readonly linked: LinkedService[] = [];

  constructor(scope: Construct, id: string, props: TerminatingGatewayProps) {
    super(scope, id, { ...props, kind: GatewayKind.TERMINATING });
    this.resource = configEntryResource(this, this.datacenter, 'terminating-gateway', this.serviceName, {
      render: () => this._renderBody(), orElse: 'give this gateway its own serviceName',
    });
    for (const service of props.services ?? []) this.linkService(service);
  }

  /**
   * Links a service: the gateway represents it to the mesh (config entry),
   * may write it (policy), and, given an address, registers it in the catalog.
   * Returns what it created.
   */
  public linkService(options: LinkedServiceOptions): LinkedService {
    checkKeys(this, `services[${this.linked.length}]`, options, LINKED_SERVICE, 'LinkedServiceOptions');
    if (options.service !== '*') checkServiceName(this, 'service', options.service); // before it becomes a construct id
    if (options.service === '*') {
      throw invalidInput(this, 'linking every service ("*") would need `service_prefix "" write` in the gateway\'s policy', options.service,
        'Link each service by name, so the token may write only those.');
    }
    if (this.linked.some((l) => l.service === options.service)) {
      throw invalidInput(this, `service "${options.service}" is already linked`, options.service, 'Link each service once.');
    }
    const linked = new LinkedService(this, options.service, { ...options, datacenter: this.datacenter });
    this.linked.push(linked);
    return linked;
  }

  /** The linked services, in the order linked. */
  public get linkedServices(): LinkedService[] {
    return [...this.linked];
  }

  /** Its rules add `service write` for each linked service. @internal */
  protected _ruleOptions() {
    return { linkedServices: this.linked.map((l) => l.service) };
  }

  /**
   * The config_json body. `Services` is left out while empty: Consul drops an
   * empty list, and `[]` against its absence is a diff on every plan.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    return this.linked.length > 0 ? { Services: this.linked.map((l) => l._render()) } : {};
  }
}

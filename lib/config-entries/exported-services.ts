import { Construct } from 'constructs';
import { configEntryResource, declaredEntry } from './config-entry-resource';
import { chainEntries, chainResolvers } from './discovery-chain';
import type { IDatacenter } from '../datacenter/datacenter';
import { validationMessage } from '../internal/errors';
import { checkPeerName, checkServiceName } from '../internal/names';
import { owned } from '../internal/owned';
import { ConfigEntry } from '../internal/providers';
import { TerraformStack } from '../internal/tf';
import { checkKeys } from '../internal/validation';

/** A service and the cluster peers that may consume it. */
export interface ExportedService {
  /** The exported service. */
  readonly service: string;

  /** The peers, by the names this cluster knows them by. */
  readonly peers: string[];
}

const EXPORTED_SERVICE: Record<keyof ExportedService, true> = { service: true, peers: true };

/** Props of `ExportedServices`. */
export interface ExportedServicesProps {
  /** A datacenter of the exporting cluster (the entry is global to a federation). */
  readonly datacenter: IDatacenter;

  /**
   * Services to export.
   * @default - none yet: add them with exportService()
   */
  readonly services?: ExportedService[];
}

/**
 * The `exported-services` config entry, which makes services visible to
 * cluster peers. One per cluster (named `default` in Consul CE), so get it
 * with `ExportedServices.of`; ClusterPeering adds to it.
 */
export class ExportedServices extends Construct {
  /**
   * The exported-services entry of `datacenter`'s cluster in this stack: the
   * one already declared, or a new one at `<datacenter>/ExportedServices`.
   */
  public static of(datacenter: IDatacenter): ExportedServices {
    const existing = declaredEntry(datacenter, 'exported-services', 'default');
    if (existing !== undefined) return existing as ExportedServices;
    const scope = datacenter instanceof Construct ? datacenter : TerraformStack.of(datacenter);
    return new ExportedServices(scope, scope === datacenter ? 'ExportedServices' : `ExportedServices-${datacenter.name}`, { datacenter });
  }

  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** The underlying `consul_config_entry` (kind `exported-services`, name `default`). */
  public readonly resource: ConfigEntry;
  /** Each service's export as it now stands (read-only; replaced when peers are added). */
  private readonly exports = new Map<string, ExportedService>();

  constructor(scope: Construct, id: string, props: ExportedServicesProps) {
    super(scope, id);
    this.datacenter = props.datacenter;
    (props.services ?? []).forEach((e, i) => {
      checkKeys(this, `services[${i}]`, e, EXPORTED_SERVICE, 'ExportedService');
      this.add(e.service, e.peers);
    });
    this.resource = configEntryResource(this, props.datacenter, 'exported-services', 'default', {
      render: () => this._renderBody(),
      orElse: 'get it with ExportedServices.of(datacenter)',
      // A peer-exported chain may gain no target Consul did not see when it was exported.
      writtenAfter: () => chainEntries(this.datacenter, this.exports.keys(), { resolvers: true }),
    });
    this.node.addValidation({ validate: () => this.checkExports() });
  }

  /**
   * Exports `service` to `peers` (added to any it is already exported to);
   * returns the export as it now stands (read-only: the one `services` lists).
   */
  public exportService(service: string, peers: string[]): ExportedService {
    return this.add(service, peers);
  }

  /** The exports, in the order first added. */
  public get services(): ExportedService[] {
    return [...this.exports.values()];
  }

  /**
   * The config_json body. `Services` is left out while empty: Consul drops an
   * empty list, and `[]` against its absence is a diff on every plan.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    if (this.exports.size === 0) return {};
    return {
      Services: [...this.exports.values()].map((e) => ({ Name: e.service, Consumers: e.peers.map((peer) => ({ Peer: peer })) })),
    };
  }

  private add(service: string, peers: string[]): ExportedService {
    checkServiceName(this, 'exported service', service);
    peers.forEach((peer) => checkPeerName(this, `peer of exported service "${service}"`, peer));
    const consumers = this.exports.get(service)?.peers ?? [];
    const stored = owned({ service, peers: [...consumers, ...peers.filter((p, i) => !consumers.includes(p) && peers.indexOf(p) === i)] });
    this.exports.set(service, stored);
    return stored;
  }

  private checkExports(): string[] {
    const errors: string[] = [];
    for (const { service, peers } of this.exports.values()) {
      if (peers.length === 0) {
        errors.push(validationMessage(`service "${service}" is exported to no peer`, [], 'Name at least one peer, or do not export it.'));
      }
      // Consul refuses a peer-exported chain that leaves the datacenter by redirect, whichever is written first.
      for (const resolver of chainResolvers(this.datacenter, [service])) {
        if (resolver.redirect?.datacenter !== undefined) {
          errors.push(validationMessage(
            `service "${service}" is exported to peers, but its discovery chain is redirected to datacenter "${resolver.redirect.datacenter}" by ${resolver.node.path}, which Consul refuses for an exported service`,
            resolver.redirect, 'A peer-exported chain must stay in its datacenter: drop the redirect\'s datacenter, or do not export the service.'));
        }
      }
    }
    return errors;
  }
}

import { Construct } from 'constructs';
import { configEntryResource } from './config-entry-resource';
import { chainEntries } from './discovery-chain';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { checkPeerName, checkServiceName } from '../internal/names';
import { ConfigEntry } from '../internal/providers';
import { StackRecords } from '../internal/stack-records';
import { checkDatacenterName, checkKeys } from '../internal/validation';
import { MODE_LAYERS } from '../modes/mode-layers';

/** Where a resolver sends a service's traffic instead (redirect) or next (failover). */
export interface ResolverTarget {
  /**
   * The service to send it to.
   * @default - the resolver's own service
   */
  readonly service?: string;

  /**
   * The datacenter of the federation to send it to.
   * @default - the datacenter the caller's chain is compiled in
   */
  readonly datacenter?: string;

  /**
   * The cluster peer to send it to, by the name this cluster knows it by; excludes `datacenter`.
   * @default - not peered
   */
  readonly peer?: string;
}

const RESOLVER_TARGET: Record<keyof ResolverTarget, true> = { service: true, datacenter: true, peer: true };

/** Props of `ServiceResolver`. */
export interface ServiceResolverProps {
  /** A datacenter of the cluster (the entry is global to a federation). */
  readonly datacenter: IDatacenter;

  /** The service whose traffic the entry resolves. */
  readonly service: string;

  /**
   * Send every request for the service elsewhere (`Redirect`): another
   * datacenter, a peer, or another service. Excludes `failover`.
   * @default - no redirect
   */
  readonly redirect?: ResolverTarget;

  /**
   * Where to send requests when no healthy instance is left, in order
   * (`Failover["*"].Targets`). Excludes `redirect`.
   * @default - no failover
   */
  readonly failover?: ResolverTarget[];
}

/**
 * The `service-resolver` config entry of one service: the routes mesh
 * gateways most often carry, a redirect to another datacenter or peer, or
 * failover targets. `MeshGatewayModes.explain` follows both, with the
 * mesh gateway mode and gateway of each target.
 */
export class ServiceResolver extends Construct {
  /** The service whose traffic the entry resolves. */
  public readonly service: string;
  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** The redirect, if any. */
  public readonly redirect?: ResolverTarget;
  /** The failover targets, in order (empty without failover). */
  public readonly failover: ResolverTarget[];
  /** The underlying `consul_config_entry` (kind `service-resolver`). */
  public readonly resource: ConfigEntry;

  constructor(scope: Construct, id: string, props: ServiceResolverProps) {
    super(scope, id);
    this.datacenter = props.datacenter;
    this.service = checkServiceName(this, 'service', props.service);
    if (props.redirect !== undefined && props.failover !== undefined) {
      throw invalidInput(this, 'a resolver redirects or fails over, not both (Consul refuses Redirect with Failover)', Object.keys(props).filter((k) => k === 'redirect' || k === 'failover'),
        'Keep one: a redirect sends all traffic elsewhere, so failover would never be used.');
    }
    if (props.redirect !== undefined) {
      this.redirect = this.checkTarget('redirect', props.redirect);
      if (this.redirect.peer !== undefined && this.redirect.service === undefined) {
        throw invalidInput(this, 'a redirect to a peer must name the service there (Consul refuses Redirect.Peer without Redirect.Service)', this.redirect,
          `Add service, e.g. { service: "${this.service}", peer: "${this.redirect.peer}" }.`);
      }
      if (this.redirect.datacenter === undefined && this.redirect.peer === undefined && (this.redirect.service ?? this.service) === this.service) {
        throw invalidInput(this, `the redirect sends "${this.service}" to itself`, this.redirect, 'Name another service, datacenter or peer.');
      }
    }
    if (props.failover !== undefined && props.failover.length === 0) {
      throw invalidInput(this, 'failover needs at least one target (Consul refuses an empty Failover)', [], 'Add a target, e.g. { datacenter: "dc2" }, or remove failover.');
    }
    this.failover = (props.failover ?? []).map((t, i) => this.checkTarget(`failover[${i}]`, t));
    this.resource = configEntryResource(this, props.datacenter, 'service-resolver', this.service, {
      render: () => this._renderBody(),
      // Consul compiles the chain when it writes the resolver: every service it reaches must agree on the protocol.
      writtenAfter: () => chainEntries(this.datacenter, [this.service], { resolvers: false }),
    });
    StackRecords.of(this).add(MODE_LAYERS.resolvers, this);
  }

  /**
   * The config_json body: Consul stores and returns only the fields set.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    if (this.redirect) return { Redirect: renderTarget(this.redirect) };
    if (this.failover.length > 0) return { Failover: { '*': { Targets: this.failover.map(renderTarget) } } };
    return {};
  }

  private checkTarget(prop: string, target: ResolverTarget): ResolverTarget {
    checkKeys(this, prop, target, RESOLVER_TARGET, 'ResolverTarget');
    if (target.service !== undefined) checkServiceName(this, `${prop}.service`, target.service);
    if (target.datacenter !== undefined) checkDatacenterName(this, target.datacenter, `${prop}.datacenter`);
    if (target.peer !== undefined) checkPeerName(this, `${prop}.peer`, target.peer);
    if (target.peer !== undefined && target.datacenter !== undefined) {
      throw invalidInput(this, `${prop} names both a peer and a datacenter (Consul refuses Peer with Datacenter)`, target,
        'A peer is another cluster: set only `peer` there, or only `datacenter` for this federation.');
    }
    if (target.service === undefined && target.datacenter === undefined && target.peer === undefined) {
      throw invalidInput(this, `${prop} names no service, datacenter or peer: it would be "${this.service}" itself`, target,
        'Name where the traffic should go, e.g. { datacenter: "dc2" }.');
    }
    return { ...target };
  }
}

function renderTarget(t: ResolverTarget): Record<string, string> {
  const rendered: Record<string, string> = {};
  if (t.service !== undefined) rendered.Service = t.service;
  if (t.datacenter !== undefined) rendered.Datacenter = t.datacenter;
  if (t.peer !== undefined) rendered.Peer = t.peer;
  return rendered;
}

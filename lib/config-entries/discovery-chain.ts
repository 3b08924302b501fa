import { IConstruct } from 'constructs';
import { declaredEntry } from './config-entry-resource';
import type { IDatacenter } from '../datacenter/datacenter';
import { ConfigEntry } from '../internal/providers';

/**
 * What Consul checks a config entry against, as dependencies.
 *
 * Consul compiles the discovery chains an entry touches before it stores or
 * deletes it (1.14: `validateProposedConfigEntryInServiceGraph`), reading the
 * other entries as they are at that moment: a resolver's chain must use one
 * protocol across every service it reaches (each service's service-defaults,
 * else proxy-defaults' `Config.protocol`); an ingress listener's services
 * must have its protocol; a peer-exported chain may gain no new target. A
 * service-defaults write recompiles every chain whose resolver names the
 * service. With nothing ordering them, OpenTofu writes a resolver beside the
 * service-defaults of its targets and Consul refuses whichever comes second
 * ("discovery chain uses inconsistent protocols").
 *
 * So an entry depends on what its chains read: created after it, deleted
 * before it, with no moment where a chain Consul recompiles is half there.
 * A resolver depends on the proxy-defaults and service-defaults its chain
 * reaches, never on another resolver (two resolvers may fail over to each
 * other: a cycle for Terraform, legal for Consul); an ingress gateway and
 * the exported-services entry also depend on the chains' resolvers.
 * Intentions are checked only when they carry L7 permissions, which this
 * library does not render: they need no order. Only entries of the same
 * stack are ordered; one in another stack is ordered by the stacks' order.
 */

/** A declared service-resolver, as the chain reads it. */
interface ChainResolver extends IConstruct {
  readonly service: string;
  readonly redirect?: ChainTarget;
  readonly failover: ChainTarget[];
  readonly resource: ConfigEntry;
}

interface ChainTarget {
  readonly service?: string;
  readonly datacenter?: string;
  readonly peer?: string;
}

/**
 * The services the discovery chains of `services` reach in their own
 * cluster, in the order first reached: each service, then every service a
 * declared resolver redirects or fails over to, through that service's own
 * resolver in turn. A peer's services are left out (Consul does not check
 * their protocol; their entries live in the peer).
 */
export function chainServices(datacenter: IDatacenter, services: Iterable<string>): string[] {
  const reached = new Set<string>();
  const queue = [...services].filter((s) => s !== '*');
  while (queue.length > 0) {
    const service = queue.shift()!;
    if (reached.has(service)) continue;
    reached.add(service);
    const resolver = resolverOf(datacenter, service);
    if (!resolver) continue;
    for (const target of resolver.redirect ? [resolver.redirect] : resolver.failover) {
      if (target.peer === undefined) queue.push(target.service ?? service);
    }
  }
  return [...reached];
}

/** The service-resolvers declared (in `datacenter`'s stack) for the services the chains of `services` reach. */
export function chainResolvers(datacenter: IDatacenter, services: Iterable<string>): ChainResolver[] {
  return chainServices(datacenter, services).map((s) => resolverOf(datacenter, s)).filter((r): r is ChainResolver => r !== undefined);
}

/**
 * The entries Consul reads when it compiles the chains of `services`: the
 * cluster's proxy-defaults, the service-defaults of every service reached
 * and, with `resolvers`, their service-resolvers. Only what is declared in
 * `datacenter`'s stack.
 */
export function chainEntries(datacenter: IDatacenter, services: Iterable<string>, options: { readonly resolvers: boolean }): ConfigEntry[] {
  const reached = chainServices(datacenter, services);
  const entries: ConfigEntry[] = [];
  const global = declaredEntry(datacenter, 'proxy-defaults', 'global') as { resource: ConfigEntry } | undefined;
  if (global) entries.push(global.resource);
  for (const service of reached) {
    const defaults = declaredEntry(datacenter, 'service-defaults', service) as { resource: ConfigEntry } | undefined;
    if (defaults) entries.push(defaults.resource);
  }
  if (options.resolvers) {
    for (const service of reached) {
      const resolver = resolverOf(datacenter, service);
      if (resolver) entries.push(resolver.resource);
    }
  }
  return entries;
}

function resolverOf(datacenter: IDatacenter, service: string): ChainResolver | undefined {
  return declaredEntry(datacenter, 'service-resolver', service) as ChainResolver | undefined;
}

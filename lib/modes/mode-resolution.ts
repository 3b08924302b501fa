// Consul's precedence, applied to what the stacks recorded: every upstream's
// discovery chain targets and the mode each gets.
import { IConstruct } from 'constructs';
import { MeshGatewayMode } from './mesh-gateway-mode';
import { MeshGatewayModeExplanation, MeshGatewayModeLayer } from './mesh-gateway-mode-explanation';
import { MODE_LAYERS, ModeDownstream, ModeIngress, ModeProxyDefaults, ModeResolver, ModeService, ModeServiceDefaults, ModeUpstream } from './mode-layers';
import { FEATURES, supports } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { FinalizePass } from '../internal/finalize-pass';
import { StackRecords } from '../internal/stack-records';
import { TerraformStack } from '../internal/tf';

/**
 * Every upstream of every service recorded in `scope`'s stacks (under
 * `scope`), by service. Each stack resolves once per finalize pass: the
 * config entries are indexed once, so the cost grows with the number of
 * upstreams, not upstreams × tree size.
 * @internal
 */
export function explainByService(scope: IConstruct): Map<ModeDownstream, MeshGatewayModeExplanation[]> {
  const inStack = scope.node.scopes.find((c) => TerraformStack.isStack(c));
  const stacks = inStack ? [inStack] : scope.node.findAll().filter((c) => TerraformStack.isStack(c));
  const prefix = scope === inStack || !inStack ? undefined : `${scope.node.path}/`;
  const rows = new Map<ModeDownstream, MeshGatewayModeExplanation[]>();
  for (const stack of stacks) {
    const records = StackRecords.find(stack);
    if (!records) continue;
    // Resolved afresh: the tree may have changed since the last pass (the memo serves validations).
    for (const [service, explained] of resolveStack(records)) {
      if (prefix === undefined || service === scope || service.node.path.startsWith(prefix)) rows.set(service, explained);
    }
  }
  return rows;
}

/**
 * The modes of every service and ingress gateway of `scope`'s stack,
 * resolved once per finalize pass: what the validations of thousands of
 * services share. @internal
 */
export function resolvedModes(scope: IConstruct): Map<ModeDownstream, MeshGatewayModeExplanation[]> {
  return FinalizePass.of(scope).memo('mesh-gateway-modes', () => resolveStack(StackRecords.of(scope)));
}

function resolveStack(records: StackRecords): Map<ModeDownstream, MeshGatewayModeExplanation[]> {
  const entries = indexEntries(records);
  const rows = new Map<ModeDownstream, MeshGatewayModeExplanation[]>();
  for (const service of records.all(MODE_LAYERS.services)) rows.set(service, service.upstreams.flatMap((u) => resolve(service, u, entries)));
  for (const gateway of records.all(MODE_LAYERS.ingressGateways)) {
    const names = [...new Set(gateway.listeners.flatMap((l) => l.services.map((s) => s.name)).filter((n) => n !== '*'))];
    rows.set(gateway, names.flatMap((name) => resolveIngress(gateway, name, entries)));
  }
  return rows;
}

/**
 * Config entries are global to a federation (a cluster): what is written
 * anywhere in it applies everywhere in it. Indexed by cluster and service;
 * the first declared wins, as a second one is refused anyway.
 */
interface Entries {
  readonly proxyDefaults: Map<string, ModeProxyDefaults>;
  readonly serviceDefaults: Map<string, ModeServiceDefaults>;
  readonly resolvers: Map<string, ModeResolver>;
}

const serviceKey = (dc: IDatacenter, service: string) => `${dc.cluster}\u0000${service}`;

/** Entries of every stack of the app: a cluster's entries may be declared in a stack of their own. */
function indexEntries(records: StackRecords): Entries {
  const entries: Entries = { proxyDefaults: new Map(), serviceDefaults: new Map(), resolvers: new Map() };
  for (const stackRecords of records.inApp()) {
    for (const c of stackRecords.all(MODE_LAYERS.proxyDefaults)) {
      if (!entries.proxyDefaults.has(c.datacenter.cluster)) entries.proxyDefaults.set(c.datacenter.cluster, c);
    }
    for (const c of stackRecords.all(MODE_LAYERS.serviceDefaults)) {
      const key = serviceKey(c.datacenter, c.service);
      if (!entries.serviceDefaults.has(key)) entries.serviceDefaults.set(key, c);
    }
    for (const c of stackRecords.all(MODE_LAYERS.resolvers)) {
      const key = serviceKey(c.datacenter, c.service);
      if (!entries.resolvers.has(key)) entries.resolvers.set(key, c);
    }
  }
  return entries;
}

/** One target of a discovery chain: where a resolver (or none) sends the upstream's traffic. */
interface ChainTarget {
  readonly service: string;
  readonly datacenter?: string;
  readonly peer?: string;
  readonly via: '' | 'redirect' | 'failover';
  readonly resolver?: ModeResolver;
}

/**
 * The targets Consul compiles for `service` asked for in `datacenter` (or of
 * a peer): redirects followed (a redirect back to where the chain already
 * is ends it, as in Consul), then the final resolver's failover targets,
 * each place once. A
 * peer's resolvers live in its cluster, not ours to see.
 */
function chainTargets(cluster: IDatacenter, service: string, datacenter: string, peer: string | undefined, entries: Entries): ChainTarget[] {
  if (peer !== undefined) return [{ service, peer, via: '' }];
  let current: ChainTarget = { service, datacenter, via: '' };
  const seen = new Set<string>();
  for (;;) {
    seen.add(`${current.service}@${current.datacenter}`);
    const resolver = entries.resolvers.get(serviceKey(cluster, current.service));
    if (!resolver?.redirect) break;
    const r = resolver.redirect;
    const next: ChainTarget = r.peer !== undefined
      ? { service: r.service ?? current.service, peer: r.peer, via: 'redirect', resolver }
      : { service: r.service ?? current.service, datacenter: r.datacenter ?? current.datacenter, via: 'redirect', resolver };
    if (next.peer !== undefined) return [next];
    if (seen.has(`${next.service}@${next.datacenter}`)) {
      current = { ...current, via: 'redirect', resolver: current.resolver ?? resolver };
      break;
    }
    current = next;
  }
  const final = entries.resolvers.get(serviceKey(cluster, current.service));
  const failover = (final?.failover ?? []).map((t): ChainTarget => ({
    service: t.service ?? current.service,
    ...(t.peer !== undefined ? { peer: t.peer } : { datacenter: t.datacenter ?? current.datacenter }),
    via: 'failover',
    resolver: final,
  }));
  // Consul keys a chain's targets by service and place: a failover target equal to an earlier one adds nothing.
  const place = (t: ChainTarget) => `${t.service}@${t.peer !== undefined ? `peer:${t.peer}` : t.datacenter}`;
  const seenTargets = new Set([place(current)]);
  return [current, ...failover.filter((t) => !seenTargets.has(place(t)) && !!seenTargets.add(place(t)))];
}

type Decision = readonly [MeshGatewayModeLayer, MeshGatewayMode, IConstruct];

function row(downstream: { service: string; proxyKind: string; datacenter: IDatacenter }, upstream: string, chainDatacenter: string, target: ChainTarget,
  decided: Decision | undefined, agentMode: string): MeshGatewayModeExplanation {
  const peered = target.peer !== undefined;
  const targetDc = target.datacenter ?? downstream.datacenter.name;
  return {
    service: downstream.service,
    proxyKind: downstream.proxyKind,
    datacenter: downstream.datacenter.name,
    upstream,
    targetService: target.service,
    target: peered ? `peer:${target.peer}` : targetDc,
    chainDatacenter,
    via: target.via,
    resolvedAt: target.resolver?.node.path ?? '',
    crossesDatacenter: peered || targetDc !== downstream.datacenter.name,
    mode: decided ? decided[1].value : peered ? 'remote' : 'none',
    decidedBy: decided ? decided[0] : MeshGatewayModeLayer.BUILT_IN,
    decidedAt: decided ? decided[2].node.path : '',
    agentMode,
  };
}

/** The target service's own service-defaults mode (a peer's entries are not ours to see). */
function destinationMode(cluster: IDatacenter, target: ChainTarget, entries: Entries): Decision | undefined {
  const destination = target.peer === undefined ? entries.serviceDefaults.get(serviceKey(cluster, target.service)) : undefined;
  return destination && !destination.meshGatewayMode.isInherit
    ? [MeshGatewayModeLayer.DESTINATION_SERVICE_DEFAULTS, destination.meshGatewayMode, destination] : undefined;
}

/**
 * An ingress gateway's upstreams carry no mode (measured on 1.14.11): each
 * target takes its service's service-defaults mode, else proxy-defaults',
 * else none: the opposite order of a sidecar's.
 */
function resolveIngress(gateway: ModeIngress, service: string, entries: Entries): MeshGatewayModeExplanation[] {
  const dc = gateway.datacenter;
  const proxyDefaults = entries.proxyDefaults.get(dc.cluster);
  const global: Decision | undefined = proxyDefaults && !proxyDefaults.meshGatewayMode.isInherit
    ? [MeshGatewayModeLayer.PROXY_DEFAULTS, proxyDefaults.meshGatewayMode, proxyDefaults] : undefined;
  return chainTargets(dc, service, dc.name, undefined, entries).map((target) =>
    row({ service: gateway.serviceName, proxyKind: 'ingress-gateway', datacenter: dc }, service, dc.name, target, destinationMode(dc, target, entries) ?? global, ''));
}

function resolve(service: ModeService, upstream: ModeUpstream, entries: Entries): MeshGatewayModeExplanation[] {
  const dc = service.datacenter;
  const proxyDefaults = entries.proxyDefaults.get(dc.cluster);
  const downstream = entries.serviceDefaults.get(serviceKey(dc, service.service));
  // Before 1.15, Consul keys overrides by service name alone (it has no
  // `Peer` there): an override for `api` also applies to a peered `api`.
  const byNameOnly = downstream !== undefined && !supports(downstream.datacenter.consulVersion, FEATURES.upstreamOverridePeer);
  const override = downstream?.upstreamOverrides.find((o) => o.service === upstream.service
    && (o.peer === upstream.peer || (byNameOnly && o.peer === undefined)));
  const downstreamLayers: [MeshGatewayModeLayer, MeshGatewayMode | undefined, IConstruct | undefined][] = [
    [MeshGatewayModeLayer.UPSTREAM, upstream.meshGatewayMode, service],
    [MeshGatewayModeLayer.UPSTREAM_OVERRIDE, override?.meshGatewayMode, downstream],
    [MeshGatewayModeLayer.SERVICE_INSTANCE, service.meshGatewayMode, service],
    [MeshGatewayModeLayer.UPSTREAM_DEFAULTS, downstream?.upstreamDefaultsMeshGatewayMode, downstream],
    [MeshGatewayModeLayer.SERVICE_DEFAULTS, downstream?.meshGatewayMode, downstream],
    [MeshGatewayModeLayer.PROXY_DEFAULTS, proxyDefaults?.meshGatewayMode, proxyDefaults],
  ];
  const agent = downstreamLayers.find(([, mode]) => mode && !mode.isInherit) as Decision | undefined;
  // The sidecar compiles the chain with its merged upstream mode as override;
  // only when that is empty does each target's own entry count.
  const downstreamRow = { service: service.service, proxyKind: 'sidecar', datacenter: dc };
  const chainDc = upstream.peer === undefined ? upstream.datacenter ?? dc.name : dc.name;
  return chainTargets(dc, upstream.service, chainDc, upstream.peer, entries).map((target) =>
    row(downstreamRow, upstream.service, chainDc, target, agent ?? destinationMode(dc, target, entries), agent ? agent[1].value : ''));
}

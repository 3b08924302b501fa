import { IConstruct } from 'constructs';
import { MeshGatewayMode } from './mesh-gateway-mode';
import { FEATURES, supports } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { FinalizePass } from '../internal/finalize-pass';
import { RecordList, StackRecords } from '../internal/stack-records';
import { Annotations, TerraformStack } from '../internal/tf';

/** The places a mesh gateway mode can be set, strongest first. */
export enum MeshGatewayModeLayer {
  /** The upstream's own `mesh_gateway`. */
  UPSTREAM = 'UPSTREAM',
  /** The downstream service's service-defaults `UpstreamConfig.Overrides[]` for this upstream. */
  UPSTREAM_OVERRIDE = 'UPSTREAM_OVERRIDE',
  /** The service instance's sidecar `proxy.mesh_gateway`. */
  SERVICE_INSTANCE = 'SERVICE_INSTANCE',
  /** The downstream service's service-defaults `UpstreamConfig.Defaults`. */
  UPSTREAM_DEFAULTS = 'UPSTREAM_DEFAULTS',
  /** The downstream service's service-defaults `MeshGateway`. */
  SERVICE_DEFAULTS = 'SERVICE_DEFAULTS',
  /** proxy-defaults `MeshGateway`. */
  PROXY_DEFAULTS = 'PROXY_DEFAULTS',
  /**
   * The target service's service-defaults `MeshGateway` (after a resolver's
   * redirect, the service redirected to): it decides the discovery chain's
   * target only when nothing above set a mode. For an ingress gateway, whose
   * upstreams carry no mode, it comes first, before proxy-defaults.
   */
  DESTINATION_SERVICE_DEFAULTS = 'DESTINATION_SERVICE_DEFAULTS',
  /** Nothing set: `none` across a federation, `remote` for a peer. */
  BUILT_IN = 'BUILT_IN',
}

const LAYER_TEXT: Record<MeshGatewayModeLayer, string> = {
  UPSTREAM: 'upstream mesh_gateway',
  UPSTREAM_OVERRIDE: 'service-defaults UpstreamConfig.Overrides',
  SERVICE_INSTANCE: 'service instance proxy.mesh_gateway',
  UPSTREAM_DEFAULTS: 'service-defaults UpstreamConfig.Defaults',
  SERVICE_DEFAULTS: 'service-defaults MeshGateway',
  PROXY_DEFAULTS: 'proxy-defaults MeshGateway',
  DESTINATION_SERVICE_DEFAULTS: 'destination service-defaults MeshGateway',
  BUILT_IN: 'built-in default',
};

/** One target of one upstream of one service (or ingress gateway), and the mode its traffic will use. */
export interface MeshGatewayModeExplanation {
  /** The downstream: a service, or an ingress gateway's service name. */
  readonly service: string;
  /** What the downstream is: `sidecar` (a MeshService) or `ingress-gateway`. */
  readonly proxyKind: string;
  /** Its datacenter. */
  readonly datacenter: string;
  /** The upstream (destination) service, as the downstream names it. */
  readonly upstream: string;
  /** The service the target serves: the upstream, or where a resolver redirects it. */
  readonly targetService: string;
  /** Where the target lives: a datacenter name, or `peer:<name>`. */
  readonly target: string;
  /** The datacenter the discovery chain is compiled in: the upstream's datacenter (the downstream's for a peer). */
  readonly chainDatacenter: string;
  /** How the target was reached: `""` (directly), `redirect` or `failover`. */
  readonly via: string;
  /** Construct path of the ServiceResolver that routed it (empty when none did). */
  readonly resolvedAt: string;
  /** Whether traffic leaves the service's datacenter (only then do gateways matter). */
  readonly crossesDatacenter: boolean;
  /** The mode the discovery chain's target gets: local, remote or none. */
  readonly mode: string;
  /** The layer that decided it. */
  readonly decidedBy: MeshGatewayModeLayer;
  /** Construct path of what set it (empty for the built-in default). */
  readonly decidedAt: string;
  /**
   * What Consul reports for this upstream in `/v1/agent/service/<sidecar-id>`
   * (the downstream layers only; empty when none of them set a mode, and
   * always for an ingress gateway, whose upstreams carry no mode).
   */
  readonly agentMode: string;
}

/**
 * Computes, before deploy, the mesh gateway mode of every upstream and the
 * layer that decided it, following what Consul does (measured by the
 * integration suite, on 1.14 and 1.19): upstream > service-defaults
 * overrides > service instance > service-defaults upstream defaults >
 * service-defaults > proxy-defaults > destination's service-defaults >
 * built-in. Before 1.15, overrides match an upstream by name alone.
 */
export class MeshGatewayModes {
  /** Every upstream of every `MeshService` under `scope` (a stack, a construct in one, or the app). */
  public static explain(scope: IConstruct): MeshGatewayModeExplanation[] {
    return [...explainByService(scope).values()].flat();
  }

  /** The explanations as an aligned text table. */
  public static renderTable(rows: MeshGatewayModeExplanation[]): string {
    const header = ['service', 'dc', 'upstream', 'target', 'mode', 'decided by', 'set at', 'agent reports'];
    return alignedTable(header, rows.map((r) => [downstreamText(r), r.datacenter, r.upstream,
      targetText(r) + (r.crossesDatacenter ? '' : ' (local)') + (r.via ? ` (${r.via})` : ''),
      r.mode, LAYER_TEXT[r.decidedBy], r.decidedAt || '-', r.agentMode || '""']));
  }

  /**
   * The explanations as a Mermaid flowchart: one box per datacenter (and
   * peer), each service, the mesh gateways a path crosses, and every
   * upstream's path labelled with its mode: `local` through the caller's
   * gateway and the target's, `remote` straight to the target's gateway,
   * `none` directly.
   */
  public static renderDiagram(rows: MeshGatewayModeExplanation[]): string {
    const id = (...parts: string[]) => parts.join('_').replace(/[^A-Za-z0-9_]/g, '_');
    const nodes = new Map<string, Set<string>>(); // box -> node lines
    const node = (box: string, nodeId: string, text: string) => {
      if (!nodes.has(box)) nodes.set(box, new Set());
      nodes.get(box)!.add(`    ${nodeId}${text}`);
      return nodeId;
    };
    const service = (dc: string, name: string) => node(dc, id('svc', dc, name), `["${name}"]`);
    const gateway = (dc: string) => node(dc, id('gw', dc), '{{"mesh gateway"}}');
    const edges = rows.map((r) => {
      const from = service(r.datacenter, downstreamText(r));
      const to = service(r.target, r.targetService);
      const label = `"${r.upstream}: ${r.crossesDatacenter ? r.mode : 'same datacenter'}${r.via ? ` (${r.via})` : ''}"`;
      if (!r.crossesDatacenter || r.mode === 'none') return `  ${from} -- ${label} --> ${to}`;
      const hops = [...(r.mode === 'local' ? [gateway(r.datacenter)] : []), gateway(r.target), to];
      return `  ${from} -- ${label} --> ${hops.join(' --> ')}`;
    });
    const boxes = [...nodes].map(([box, lines]) => [`  subgraph ${id('box', box)}["${box}"]`, ...[...lines].sort(), '  end'].join('\n'));
    return ['flowchart LR', ...boxes, ...edges].join('\n') + '\n';
  }

  /** Human text of a layer, as the table and error messages spell it. */
  public static describeLayer(layer: MeshGatewayModeLayer): string {
    return LAYER_TEXT[layer];
  }

  private constructor() {}
}

/** An upstream as the resolver reads it (a MeshService's UpstreamOptions). @internal */
export interface ModeUpstream {
  readonly service: string;
  readonly datacenter?: string;
  readonly peer?: string;
  readonly meshGatewayMode?: MeshGatewayMode;
}

/** A service instance as the resolver reads it (a MeshService). @internal */
export interface ModeService extends IConstruct {
  readonly service: string;
  /** Its agent service definition (JSON). */
  readonly definitionJson: string;
  /** The ID its sidecar registers under. */
  readonly sidecarId: string;
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
  readonly upstreams: ModeUpstream[];
}

/** An upstream override as the resolver reads it. @internal */
export interface ModeOverride {
  readonly service: string;
  readonly peer?: string;
  readonly meshGatewayMode?: MeshGatewayMode;
}

/** A service-defaults entry as the resolver reads it. @internal */
export interface ModeServiceDefaults extends IConstruct {
  readonly service: string;
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
  readonly upstreamDefaultsMeshGatewayMode: MeshGatewayMode;
  readonly upstreamOverrides: ModeOverride[];
}

/** A proxy-defaults entry as the resolver reads it. @internal */
export interface ModeProxyDefaults extends IConstruct {
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
}

/** Where a resolver sends traffic, as the resolver reads it. @internal */
export interface ModeTarget {
  readonly service?: string;
  readonly datacenter?: string;
  readonly peer?: string;
}

/** A service-resolver entry as the resolver reads it. @internal */
export interface ModeResolver extends IConstruct {
  readonly service: string;
  readonly datacenter: IDatacenter;
  readonly redirect?: ModeTarget;
  readonly failover: ModeTarget[];
}

/** An ingress gateway as the resolver reads it: its listeners' services are its upstreams. @internal */
export interface ModeIngress extends IConstruct {
  readonly serviceName: string;
  readonly datacenter: IDatacenter;
  readonly listeners: { readonly services: { readonly name: string }[] }[];
}

/** Where each layer records itself, in its own stack. @internal */
export const MODE_LAYERS = {
  services: new RecordList<ModeService>('mode-services'),
  ingressGateways: new RecordList<ModeIngress>('mode-ingress-gateways'),
  serviceDefaults: new RecordList<ModeServiceDefaults>('mode-service-defaults'),
  proxyDefaults: new RecordList<ModeProxyDefaults>('mode-proxy-defaults'),
  resolvers: new RecordList<ModeResolver>('mode-resolvers'),
};

/** A downstream the resolver explains: a service with a sidecar, or an ingress gateway. @internal */
export type ModeDownstream = ModeService | ModeIngress;

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

/**
 * Mode `none` sends traffic straight to the target. Consul turns it into
 * `remote` for peers (the setting is misleading, so refuse it), and across
 * datacenters it works only where workloads can route to each other: an
 * error there, a warning on `scope` where they can.
 * @internal
 */
export function noneAcrossDatacenters(scope: IConstruct, rows: MeshGatewayModeExplanation[], datacenter: IDatacenter, fix: string): string[] {
  const errors: string[] = [];
  for (const row of rows) {
    if (row.mode !== 'none' || !row.crossesDatacenter) continue;
    const target = targetText(row) + (row.via ? `, by ${row.via}` : '');
    const where = `upstream "${row.upstream}" (${target}) resolves to mesh gateway mode none, set by ${MeshGatewayModes.describeLayer(row.decidedBy)}`
      + (row.decidedAt ? ` at ${row.decidedAt}` : '');
    if (row.target.startsWith('peer:')) {
      errors.push(`${where} (got: "none"). Peered upstreams always go through mesh gateways; Consul treats none as remote. ${fix}`);
    } else if (!datacenter.directlyRoutable) {
      errors.push(`${where} (got: "none"), but datacenter "${datacenter.name}" is not directly routable to "${row.target}". ${fix}`);
    } else {
      Annotations.of(scope).addWarning(`${where}: traffic to ${row.target} goes directly, without gateways. ${fix}`);
    }
  }
  return errors;
}

/** The downstream as the table and diagram name it: an ingress gateway marked as one. @internal */
export function downstreamText(r: MeshGatewayModeExplanation): string {
  return r.service + (r.proxyKind === 'ingress-gateway' ? ' (ingress)' : '');
}

/** Where a row's target lives, with the service it serves when a resolver redirected the upstream. @internal */
export function targetText(r: MeshGatewayModeExplanation): string {
  return (r.targetService !== r.upstream ? `${r.targetService} in ` : '') + r.target;
}

/** Rows of cells as an aligned text table under `header`. @internal */
export function alignedTable(header: string[], cells: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

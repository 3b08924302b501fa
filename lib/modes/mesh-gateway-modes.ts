import { IConstruct } from 'constructs';
import { MeshGatewayMode } from './mesh-gateway-mode';
import { FEATURES, supports } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { Slot, StackIndex } from '../internal/stack-index';
import { TerraformStack } from '../internal/tf';

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
   * The destination service's service-defaults `MeshGateway`: it decides the
   * discovery chain's target only when nothing above set a mode.
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

/** One upstream of one service, and the mode its traffic will use. */
export interface MeshGatewayModeExplanation {
  /** The downstream service. */
  readonly service: string;
  /** Its datacenter. */
  readonly datacenter: string;
  /** The upstream (destination) service. */
  readonly upstream: string;
  /** Where the destination lives: a datacenter name, or `peer:<name>`. */
  readonly target: string;
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
   * (the downstream layers only; empty when none of them set a mode).
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
  /** Every upstream of every {@link MeshService} under `scope` (a stack, a construct in one, or the app). */
  public static explain(scope: IConstruct): MeshGatewayModeExplanation[] {
    return [...explainByService(scope).values()].flat();
  }

  /** The explanations as an aligned text table. */
  public static renderTable(rows: MeshGatewayModeExplanation[]): string {
    const header = ['service', 'dc', 'upstream', 'target', 'mode', 'decided by', 'set at', 'agent reports'];
    const cells = rows.map((r) => [r.service, r.datacenter, r.upstream, r.target + (r.crossesDatacenter ? '' : ' (local)'),
      r.mode, LAYER_TEXT[r.decidedBy], r.decidedAt || '-', r.agentMode || '""']);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
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
      const from = service(r.datacenter, r.service);
      const to = service(r.target, r.upstream);
      const label = `"${r.upstream}: ${r.crossesDatacenter ? r.mode : 'same datacenter'}"`;
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

/** Where each layer records itself, in its own stack. @internal */
export const MODE_LAYERS = {
  services: new Slot<ModeService>('mode-services'),
  serviceDefaults: new Slot<ModeServiceDefaults>('mode-service-defaults'),
  proxyDefaults: new Slot<ModeProxyDefaults>('mode-proxy-defaults'),
};

/**
 * Every upstream of every service recorded in `scope`'s stacks (under
 * `scope`), by service. Each stack resolves once per finalize pass: the
 * config entries are indexed once, so the cost grows with the number of
 * upstreams, not upstreams × tree size.
 * @internal
 */
export function explainByService(scope: IConstruct): Map<ModeService, MeshGatewayModeExplanation[]> {
  const inStack = scope.node.scopes.find((c) => TerraformStack.isStack(c));
  const stacks = inStack ? [inStack] : scope.node.findAll().filter((c) => TerraformStack.isStack(c));
  const prefix = scope === inStack || !inStack ? undefined : `${scope.node.path}/`;
  const rows = new Map<ModeService, MeshGatewayModeExplanation[]>();
  for (const stack of stacks) {
    const index = StackIndex.find(stack);
    if (!index) continue;
    for (const [service, explained] of resolvedModes(index)) {
      if (prefix === undefined || service === scope || service.node.path.startsWith(prefix)) rows.set(service, explained);
    }
  }
  return rows;
}

/** The modes of every service of the stack of `index`, resolved once per finalize pass. @internal */
export function resolvedModes(index: StackIndex): Map<ModeService, MeshGatewayModeExplanation[]> {
  return index.memo('mesh-gateway-modes', () => {
    const entries = indexEntries(index);
    return new Map(index.all(MODE_LAYERS.services).map((service) => [service, service.upstreams.map((u) => resolve(service, u, entries))]));
  });
}

/**
 * Config entries are global to a federation (a cluster): what is written
 * anywhere in it applies everywhere in it. Indexed by cluster and service;
 * the first declared wins, as a second one is refused anyway.
 */
interface Entries {
  readonly proxyDefaults: Map<string, ModeProxyDefaults>;
  readonly serviceDefaults: Map<string, ModeServiceDefaults>;
}

const serviceKey = (dc: IDatacenter, service: string) => `${dc.cluster}\u0000${service}`;

/** Entries of every stack of the app: a cluster's entries may be declared in a stack of their own. */
function indexEntries(index: StackIndex): Entries {
  const entries: Entries = { proxyDefaults: new Map(), serviceDefaults: new Map() };
  for (const stackIndex of index.appIndexes()) {
    for (const c of stackIndex.all(MODE_LAYERS.proxyDefaults)) {
      if (!entries.proxyDefaults.has(c.datacenter.cluster)) entries.proxyDefaults.set(c.datacenter.cluster, c);
    }
    for (const c of stackIndex.all(MODE_LAYERS.serviceDefaults)) {
      const key = serviceKey(c.datacenter, c.service);
      if (!entries.serviceDefaults.has(key)) entries.serviceDefaults.set(key, c);
    }
  }
  return entries;
}

function resolve(service: ModeService, upstream: ModeUpstream, entries: Entries): MeshGatewayModeExplanation {
  const dc = service.datacenter;
  const proxyDefaults = entries.proxyDefaults.get(dc.cluster);
  const downstream = entries.serviceDefaults.get(serviceKey(dc, service.service));
  // Before 1.15, Consul keys overrides by service name alone (it has no
  // `Peer` there): an override for `api` also applies to a peered `api`.
  const byNameOnly = downstream !== undefined && !supports(downstream.datacenter.consulVersion, FEATURES.upstreamOverridePeer);
  const override = downstream?.upstreamOverrides.find((o) => o.service === upstream.service
    && (o.peer === upstream.peer || (byNameOnly && o.peer === undefined)));
  // A peer's service-defaults live in the other cluster; they are not ours to see.
  const destination = upstream.peer === undefined ? entries.serviceDefaults.get(serviceKey(dc, upstream.service)) : undefined;

  const downstreamLayers: [MeshGatewayModeLayer, MeshGatewayMode | undefined, IConstruct | undefined][] = [
    [MeshGatewayModeLayer.UPSTREAM, upstream.meshGatewayMode, service],
    [MeshGatewayModeLayer.UPSTREAM_OVERRIDE, override?.meshGatewayMode, downstream],
    [MeshGatewayModeLayer.SERVICE_INSTANCE, service.meshGatewayMode, service],
    [MeshGatewayModeLayer.UPSTREAM_DEFAULTS, downstream?.upstreamDefaultsMeshGatewayMode, downstream],
    [MeshGatewayModeLayer.SERVICE_DEFAULTS, downstream?.meshGatewayMode, downstream],
    [MeshGatewayModeLayer.PROXY_DEFAULTS, proxyDefaults?.meshGatewayMode, proxyDefaults],
  ];
  const agent = downstreamLayers.find(([, mode]) => mode && !mode.isInherit);
  // The sidecar compiles the chain with its merged upstream mode as override;
  // only when that is empty does the destination's own entry count.
  const decided = agent ?? (destination && !destination.meshGatewayMode.isInherit
    ? [MeshGatewayModeLayer.DESTINATION_SERVICE_DEFAULTS, destination.meshGatewayMode, destination] as const : undefined);

  const peered = upstream.peer !== undefined;
  const targetDc = upstream.datacenter ?? dc.name;
  return {
    service: service.service,
    datacenter: dc.name,
    upstream: upstream.service,
    target: peered ? `peer:${upstream.peer}` : targetDc,
    crossesDatacenter: peered || targetDc !== dc.name,
    mode: decided ? decided[1]!.value : peered ? 'remote' : 'none',
    decidedBy: decided ? decided[0] : MeshGatewayModeLayer.BUILT_IN,
    decidedAt: decided ? decided[2]!.node.path : '',
    agentMode: agent ? agent[1]!.value : '',
  };
}

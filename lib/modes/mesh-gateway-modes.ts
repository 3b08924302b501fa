import { IConstruct } from 'constructs';
import { MeshGatewayMode } from './mesh-gateway-mode';
import { ProxyDefaults } from '../config-entries/proxy-defaults';
import { ServiceDefaults, UpstreamOverride } from '../config-entries/service-defaults';
import { FEATURES, supports } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { MeshService, UpstreamOptions } from '../services/mesh-service';

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
  /** Every upstream of every {@link MeshService} under `scope`. */
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

/**
 * Every upstream of every MeshService under `scope`, by service, from one
 * walk of the tree: the config entries are indexed once, so the cost grows
 * with the number of upstreams, not upstreams × tree size.
 * @internal
 */
export function explainByService(scope: IConstruct): Map<MeshService, MeshGatewayModeExplanation[]> {
  const entries = indexEntries(scope.node.root);
  const rows = new Map<MeshService, MeshGatewayModeExplanation[]>();
  for (const c of scope.node.findAll()) {
    if (c instanceof MeshService) rows.set(c, c.upstreams.map((u) => resolve(c, u, entries)));
  }
  return rows;
}

/**
 * Config entries are global to a federation (a cluster): what is written
 * anywhere in it applies everywhere in it. Indexed by cluster and service;
 * the first declared wins, as a second one is refused anyway.
 */
interface Entries {
  readonly proxyDefaults: Map<string, ProxyDefaults>;
  readonly serviceDefaults: Map<string, ServiceDefaults>;
}

const serviceKey = (dc: IDatacenter, service: string) => `${dc.cluster}\u0000${service}`;

function indexEntries(root: IConstruct): Entries {
  const entries: Entries = { proxyDefaults: new Map(), serviceDefaults: new Map() };
  for (const c of root.node.findAll()) {
    if (c instanceof ProxyDefaults && !entries.proxyDefaults.has(c.datacenter.cluster)) entries.proxyDefaults.set(c.datacenter.cluster, c);
    if (c instanceof ServiceDefaults && !entries.serviceDefaults.has(serviceKey(c.datacenter, c.service))) {
      entries.serviceDefaults.set(serviceKey(c.datacenter, c.service), c);
    }
  }
  return entries;
}

function resolve(service: MeshService, upstream: UpstreamOptions, entries: Entries): MeshGatewayModeExplanation {
  const dc = service.datacenter;
  const proxyDefaults = entries.proxyDefaults.get(dc.cluster);
  const downstream = entries.serviceDefaults.get(serviceKey(dc, service.service));
  // Before 1.15, Consul keys overrides by service name alone (it has no
  // `Peer` there): an override for `api` also applies to a peered `api`.
  const byNameOnly = downstream !== undefined && !supports(downstream.datacenter.consulVersion, FEATURES.upstreamOverridePeer);
  const override = downstream?.upstreamOverrides.find((o: UpstreamOverride) => o.service === upstream.service
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

import { IConstruct } from 'constructs';
import { MeshGatewayModeExplanation, MeshGatewayModeLayer } from './mesh-gateway-mode-explanation';
import { explainByService } from './mode-resolution';
import { alignedTable, downstreamText, LAYER_TEXT, targetText } from './mode-text';

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

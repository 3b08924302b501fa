// How explanations read in tables, diagrams and messages.
import { MeshGatewayModeExplanation, MeshGatewayModeLayer } from './mesh-gateway-mode-explanation';

/** Each layer as the table and error messages spell it. @internal */
export const LAYER_TEXT: Record<MeshGatewayModeLayer, string> = {
  UPSTREAM: 'upstream mesh_gateway',
  UPSTREAM_OVERRIDE: 'service-defaults UpstreamConfig.Overrides',
  SERVICE_INSTANCE: 'service instance proxy.mesh_gateway',
  UPSTREAM_DEFAULTS: 'service-defaults UpstreamConfig.Defaults',
  SERVICE_DEFAULTS: 'service-defaults MeshGateway',
  PROXY_DEFAULTS: 'proxy-defaults MeshGateway',
  DESTINATION_SERVICE_DEFAULTS: 'destination service-defaults MeshGateway',
  BUILT_IN: 'built-in default',
};

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

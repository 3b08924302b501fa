import { IConstruct } from 'constructs';
import { MeshGatewayModeExplanation } from './mesh-gateway-mode-explanation';
import { LAYER_TEXT, targetText } from './mode-text';
import type { IDatacenter } from '../datacenter/datacenter';
import { Annotations } from '../internal/tf';

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
    const where = `upstream "${row.upstream}" (${target}) resolves to mesh gateway mode none, set by ${LAYER_TEXT[row.decidedBy]}`
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

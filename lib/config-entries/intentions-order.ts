import { IConstruct } from 'constructs';
import { DECLARED_ENTRIES } from './config-entry-resource';
import type { IDatacenter } from '../datacenter/datacenter';
import { addDependencies } from '../internal/dependencies';
import { StackIndex } from '../internal/stack-index';
import { DataResource, TerraformResource, TerraformStack } from '../internal/tf';

/**
 * A cluster's intentions are written after its other chain entries.
 *
 * Every write and delete of a proxy-defaults, service-defaults,
 * service-resolver or terminating-gateway entry makes Consul (1.14) compile
 * the discovery chain of every service-intentions destination of the cluster
 * (`validateProposedConfigEntryInServiceGraph` reads them all, L4 ones too),
 * inside the one loop that applies every write. Among thousands of
 * intentions each such write costs milliseconds per intention: on one
 * server, 3,000 service-defaults written after 3,000 intentions took 126 s,
 * before them 2.4 s. So each stack gives each cluster one `terraform_data`
 * that depends on those entries and that its intentions depend on: they are
 * created after them and deleted before them, with N + M edges, not N x M.
 * Consul requires no such order (intentions are not checked against them
 * unless they carry L7 permissions); it is what keeps a large apply linear.
 */

/** The kinds whose every write compiles the chain of every intention's destination. */
const SCANS_INTENTIONS = new Set(['proxy-defaults', 'service-defaults', 'service-resolver', 'terminating-gateway']);

/** The StackIndex namespace of the ordering points: cluster -> its `terraform_data`. */
const POINTS = 'intentions-order';

/**
 * The point the intentions of `datacenter`'s cluster declared in `scope`'s
 * stack wait for, created with the first of them. @internal
 */
export function intentionsOrderPoint(scope: IConstruct, datacenter: IDatacenter): TerraformResource {
  const index = StackIndex.of(scope);
  const cluster = datacenter.cluster;
  const existing = index.lookup(POINTS, cluster);
  if (existing) return existing as TerraformResource;
  const stack = TerraformStack.of(scope);
  // terraform_data is built into Terraform (1.4+) and OpenTofu: no provider, nothing to create remotely.
  const point = new DataResource(stack, `IntentionsAfterEntries-${cluster}`);
  point.overrideLogicalId(`intentions_after_entries_${cluster}`);
  index.claim(POINTS, cluster, point);
  index.finalizeLater({
    _finalize: () => addDependencies(point, index.all(DECLARED_ENTRIES)
      .filter((e) => e.cluster === cluster && SCANS_INTENTIONS.has(e.kind))
      .map((e) => e.resource)),
  });
  return point;
}

import { IConstruct } from 'constructs';
import { Aspects, dependable, ITerraformDependable, TerraformResource, TerraformStack } from './tf';
import type { IDatacenter } from '../datacenter/datacenter';

/**
 * Config entries are global to a cluster: the datacenters of a federation
 * share their primary's (see IDatacenter.cluster).
 */
export function sameCluster(a: IDatacenter, b: IDatacenter): boolean {
  return a === b || a.cluster === b.cluster;
}

/** Constructs of `scope`'s stack that `match`, in tree order. */
export function findInStack<T extends IConstruct>(scope: IConstruct, match: (c: IConstruct) => c is T): T[] {
  return TerraformStack.of(scope).node.findAll().filter(match);
}

const added = new WeakMap<TerraformResource, Set<ITerraformDependable>>();

/** Adds `depends_on` entries once each, however often synthesis runs. */
export function addDependencies(resource: TerraformResource, dependables: ITerraformDependable[]): void {
  const seen = added.get(resource) ?? new Set<ITerraformDependable>();
  added.set(resource, seen);
  const fresh = dependables.filter((d) => d !== resource && !seen.has(d));
  if (fresh.length === 0) return;
  fresh.forEach((d) => seen.add(d));
  resource.dependsOn = [...(resource.dependsOn ?? []), ...fresh.map((d) => dependable(d))];
}

/**
 * Runs `wire` when the stack is synthesized, once the tree is complete: for
 * dependencies on constructs that may be added after this one (an aspect,
 * because validations must not change the tree).
 */
export function beforeSynth(scope: IConstruct, wire: () => void): void {
  Aspects.of(scope).add({ visit: (node) => { if (node === scope) wire(); } });
}

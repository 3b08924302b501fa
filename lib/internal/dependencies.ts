import { dependable, ITerraformDependable, Lazy, TerraformResource } from './tf';

/** `dependsOn` for a list that may be empty, so no `depends_on = []` is written. */
export function dependsOnAll(dependables: ITerraformDependable[]): ITerraformDependable[] | undefined {
  return dependables.length > 0 ? dependables : undefined;
}

const added = new WeakMap<TerraformResource, Set<ITerraformDependable>>();

/** Adds `depends_on` entries once each, however often the finalize pass runs. */
export function addDependencies(resource: TerraformResource, dependables: readonly ITerraformDependable[]): void {
  const seen = added.get(resource) ?? new Set<ITerraformDependable>();
  added.set(resource, seen);
  const fresh = dependables.filter((d) => d !== resource && !seen.has(d));
  if (fresh.length === 0) return;
  fresh.forEach((d) => seen.add(d));
  resource.dependsOn = [...(resource.dependsOn ?? []), ...fresh.map((d) => dependable(d))];
}

/**
 * A resource's address as `replace_triggered_by` takes it in JSON (a bare
 * reference: cdktf would write the `${...}` form, which OpenTofu refuses there).
 */
export function replaceTrigger(resource: TerraformResource): string {
  return Lazy.stringValue({ produce: () => `${resource.terraformResourceType}.${resource.friendlyUniqueId}` });
}

import { ITerraformDependable } from './tf';

/** `dependsOn` for a list that may be empty, so no `depends_on = []` is written. */
export function dependsOnAll(dependables: ITerraformDependable[]): ITerraformDependable[] | undefined {
  return dependables.length > 0 ? dependables : undefined;
}

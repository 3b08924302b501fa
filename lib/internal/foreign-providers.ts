import { validationMessage } from './errors';
import { TerraformDataSource, TerraformResource, TerraformStack } from './tf';

/**
 * Resources of `stack` configured with another stack's provider: Terraform
 * would find no such provider in this stack's configuration. With the
 * library, it is a construct declared in one stack for a datacenter
 * declared in another (whose providers live there).
 * @internal
 */
export function foreignProviders(stack: TerraformStack): string[] {
  const errors: string[] = [];
  const reported = new Set<unknown>();
  for (const c of stack.node.findAll()) {
    if (!(c instanceof TerraformResource || c instanceof TerraformDataSource) || c.provider === undefined) continue;
    const home = TerraformStack.of(c.provider);
    if (home === stack || reported.has(c.node.scope)) continue;
    reported.add(c.node.scope);
    const owner = c.provider.node.scope!;
    errors.push(validationMessage(`${c.node.path} uses the provider of ${owner.node.path}, declared in stack ${home.node.id}: a provider serves its own stack only`,
      c.provider.node.path, `Declare ${c.node.scope!.node.path} in stack ${home.node.id}, or give this stack a datacenter of its own for the same Consul (ExistingDatacenter).`));
  }
  return errors;
}

// A datacenter's servers in a stack of their own (`serverStack`): where they
// go, and what the stack must be and may read. The datacenter's own stack
// depends on that one, so nothing the servers start with may come from it.
import { Construct, IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';
import { stacksReferencedBy } from '../internal/secrets';
import { TerraformStack } from '../internal/tf';

/** Where a datacenter's servers go in its serverStack: a scope named after it (so its secret variables keep their names). */
export function serverScopeIn(datacenter: Construct, serverStack: TerraformStack, parent: IConstruct | undefined): Construct {
  checkServerStack(datacenter, serverStack);
  return new Construct(parent ?? serverStack, datacenter.node.id);
}

/** A stack of the same app, not the one `scope` is declared in. */
export function checkServerStack(scope: Construct, serverStack: TerraformStack): void {
  if (!(serverStack instanceof TerraformStack)) {
    throw invalidInput(scope, 'serverStack must be a TerraformStack', serverStack, 'Pass a stack of the same app, e.g. new TerraformStack(app, "dc1-servers").');
  }
  const own = TerraformStack.of(scope);
  if (serverStack === own || serverStack.node.root !== own.node.root) {
    throw invalidInput(scope, serverStack === own ? 'serverStack is the stack it is declared in' : 'serverStack belongs to another app', serverStack.node.path,
      'Pass another stack of the same app: it is applied first, and the stack declared here depends on it.');
  }
}

/**
 * What the servers start with must come from their stack (or one applied
 * before it), never from the stack `scope` is declared in.
 */
export function checkReadableFromServers(scope: Construct, serverStack: TerraformStack, values: Record<string, string | undefined>): void {
  const own = TerraformStack.of(scope);
  for (const [prop, value] of Object.entries(values)) {
    if (stacksReferencedBy(value).includes(own)) {
      throw invalidInput(scope, `${prop} comes from its own stack "${own.node.id}", which is applied after serverStack "${serverStack.node.id}": `
        + 'the servers start with it, so their stack would depend on the one that depends on it', '<reference>',
      `Declare it in "${serverStack.node.id}" (e.g. new TerraformVariable(serverStack, ...)); the stack declared here reads it from there.`);
    }
  }
}

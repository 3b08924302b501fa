import { IConstruct } from 'constructs';
import { StackIndex } from './stack-index';
import { TerraformStack } from './tf';

/** Stacks that hold the library's constructs. */
const stacks = new WeakSet<IConstruct>();
let validatingOthers = false;

/**
 * cdktf validates and writes one stack after the other, so a mistake in a
 * later stack would surface after earlier stacks' cdk.tf.json were written.
 * Each stack with the library's constructs therefore also runs the
 * validations of every other such stack of its app, after that stack's
 * finalize pass (its own synthesis has not run it yet): the first stack to be
 * written fails if any of them would, and nothing is written.
 * @internal
 */
export function validateAppBeforeWriting(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if (stacks.has(stack)) return;
  stacks.add(stack);
  stack.node.addValidation({
    validate: () => {
      if (validatingOthers) return [];
      validatingOthers = true;
      try {
        return stack.node.root.node.findAll()
          .filter((c) => c !== stack && stacks.has(c))
          .flatMap((other) => {
            StackIndex.find(other)?.finalize();
            return other.node.findAll().flatMap((c) => c.node.validate().map((e) => `in stack ${other.node.id}: [${c.node.path}] ${e}`));
          });
      } finally {
        validatingOthers = false;
      }
    },
  });
}

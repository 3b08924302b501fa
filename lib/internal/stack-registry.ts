import { IConstruct } from 'constructs';
import { TerraformStack } from './tf';

/**
 * One map per stack, for names that must be unique across a stack (config
 * entries, provider aliases): a lookup at construction instead of a walk of
 * the tree per construct at synth.
 * @internal
 */
export class StackRegistry<V> {
  private readonly byStack = new WeakMap<IConstruct, Map<string, V>>();

  /** The map of `scope`'s stack. */
  public of(scope: IConstruct): Map<string, V> {
    const stack = TerraformStack.of(scope);
    let map = this.byStack.get(stack);
    if (!map) {
      map = new Map<string, V>();
      this.byStack.set(stack, map);
    }
    return map;
  }
}

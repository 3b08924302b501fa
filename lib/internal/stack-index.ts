import { Construct, IConstruct } from 'constructs';
import { Aspects, TerraformStack } from './tf';

/**
 * A typed list in a `StackIndex`, declared by the module that owns its
 * items: the index itself knows no concept of the library.
 */
export class Slot<T> {
  constructor(public readonly name: string) {}
  /** @internal Only here so `Slot<A>` and `Slot<B>` are different types. */
  public _type?: T;
}

/**
 * Something that needs the complete tree: runs once per synthesis of its stack.
 * @internal
 */
export interface IFinalizable {
  /**
   * Renders what depends on constructs added after this one (bodies, rules,
   * dependencies, published ports). Must read only what constructs set when
   * they were built or changed by the user, never what another `_finalize`
   * writes, so the order of the pass does not matter; and must be idempotent,
   * since a stack can be synthesized more than once.
   */
  _finalize(): void;
}

const INDEXES = new WeakMap<IConstruct, StackIndex>();
/** Per app, its stacks' indexes in the order created. */
const APP_INDEXES = new WeakMap<IConstruct, StackIndex[]>();

/**
 * Per stack, what the library's constructs recorded about themselves when
 * they were built: typed lists, unique names, and the constructs to finalize.
 * Constructs look each other up here (a map or a list of their own kind)
 * instead of walking the tree, so synthesis stays linear in the number of
 * constructs.
 *
 * The finalize pass runs when the app prepares the stack (before any stack
 * is written, so references to other stacks in what it renders are wired)
 * and again, idempotently, from one aspect when the stack is synthesized,
 * before validations: by then the tree is complete. It sits on a construct
 * of its own without children, so cdktf calls it once: an aspect on the
 * stack would be called for every construct of it (and cdktf computes each
 * one's path for its bookkeeping), about 5% of the synth time of a stack of
 * thousands of entries.
 * @internal
 */
export class StackIndex {
  /** The index of `scope`'s stack, created (with its aspect) on first use. */
  public static of(scope: IConstruct): StackIndex {
    const stack = TerraformStack.of(scope);
    let index = INDEXES.get(stack);
    if (!index) {
      index = new StackIndex(stack);
      INDEXES.set(stack, index);
      APP_INDEXES.set(stack.node.root, [...(APP_INDEXES.get(stack.node.root) ?? []), index]);
    }
    return index;
  }

  /** The index of `stack` if the library recorded anything in it. */
  public static find(stack: IConstruct): StackIndex | undefined {
    return INDEXES.get(stack);
  }

  private readonly lists = new Map<string, unknown[]>();
  private readonly names = new Map<string, Map<string, IConstruct>>();
  private readonly finalizables: IFinalizable[] = [];
  private readonly memos = new Map<string, unknown>();

  private constructor(public readonly stack: TerraformStack) {
    Aspects.of(new Construct(stack, 'ConsulMeshFinalize')).add({ visit: () => this.finalize() });
    // cdktf wires references between stacks (an output there, remote state
    // here) while it prepares every stack of the app, before it writes any:
    // what the pass renders must exist by then. (Testing.synth skips the
    // prepare step; the aspect covers it.)
    const prepare = stack.prepareStack.bind(stack);
    stack.prepareStack = () => {
      this.finalize();
      prepare();
    };
  }

  /** The indexes of every stack of this one's app, in the order created. */
  public appIndexes(): readonly StackIndex[] {
    return APP_INDEXES.get(this.stack.node.root) ?? [this];
  }

  /** Appends `item` to `slot`'s list. */
  public add<T>(slot: Slot<T>, item: T): void {
    const list = this.lists.get(slot.name);
    if (list) list.push(item);
    else this.lists.set(slot.name, [item]);
  }

  /** `slot`'s items, in the order added. */
  public all<T>(slot: Slot<T>): readonly T[] {
    return (this.lists.get(slot.name) ?? []) as T[];
  }

  /**
   * Records `owner` under `key` in the namespace `space` and returns the
   * construct that recorded it first, if any (the caller decides whether
   * that is an error).
   */
  public claim(space: string, key: string, owner: IConstruct): IConstruct | undefined {
    let names = this.names.get(space);
    if (!names) {
      names = new Map();
      this.names.set(space, names);
    }
    const first = names.get(key);
    if (first === undefined) names.set(key, owner);
    return first;
  }

  /** What was recorded under `key` in `space`. */
  public lookup(space: string, key: string): IConstruct | undefined {
    return this.names.get(space)?.get(key);
  }

  /** Has `item` finalized in every synthesis of this stack. */
  public finalizeLater(item: IFinalizable): void {
    this.finalizables.push(item);
  }

  /**
   * A stack-wide result computed once per finalize pass (e.g. every
   * upstream's mesh gateway mode), or computed now outside synthesis.
   */
  public memo<T>(key: string, compute: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = compute();
    if (this.finalizing) this.memos.set(key, value);
    return value;
  }

  private finalizing = false;

  /**
   * The pass: forgets results of an earlier pass (the tree may have grown
   * since), then finalizes every recorded construct. Validations that run
   * before this stack's own synthesis (another stack's, see
   * app-validation.ts) call it first.
   */
  public finalize(): void {
    this.memos.clear();
    for (const item of this.finalizables) item._finalize();
    // Results computed from here on see the complete tree: keep them until the next pass.
    this.finalizing = true;
  }
}

// How the library adds what depends on constructs created later.
//
// Users build the tree in any order: a gateway's policy gains rules when a
// linked service is added, an entry's body gains sources and overrides, a
// secondary's servers learn the primary's mesh gateways. Every construct
// takes one of two routes for what it cannot know when it is built:
//
// 1. What it renders from the complete tree (bodies, rules, depends_on,
//    published ports) it writes in `_finalize()`, having registered with
//    `FinalizePass.of(this).add(this)`. The pass runs before cdktf prepares
//    the stack (cross-stack references in what it renders get wired), from an
//    aspect when the stack is synthesized (Testing.synth skips preparing), and
//    before another stack's validations read this one. A result many
//    constructs share (every upstream's mode) is computed once per pass with
//    `memo`.
// 2. What it checks against the complete tree (clashes, missing gateways,
//    modes) it returns from a validation (`node.addValidation`), which cdktf
//    runs after the pass. Each stack also runs every other stack's, so a
//    mistake anywhere fails the first stack written and nothing is written.
//
// Files beside cdk.tf.json (MeshGatewayModeReport) are cdktf's own extension
// point, a wrapped stack synthesizer; they read the tree the pass completed.
// Before any of this, the app's synth refuses stacks that read each other's
// values (stack-cycles.ts), and each stack's validation refuses resources
// configured with another stack's provider (foreign-providers.ts).
import { Construct, IConstruct } from 'constructs';
import { foreignProviders } from './foreign-providers';
import { checkStackCycles } from './stack-cycles';
import { Aspects, TerraformStack } from './tf';

/**
 * Something that needs the complete tree: runs once per synthesis of its stack.
 * @internal
 */
export interface IFinalizable {
  /**
   * Renders what depends on constructs added after this one. Must read only
   * what constructs set when they were built or changed by the user, never
   * what another `_finalize` writes, so the order of the pass does not
   * matter; and must be idempotent, since a stack can be synthesized more
   * than once.
   */
  _finalize(): void;
}

const PASSES = new WeakMap<IConstruct, FinalizePass>();
/** Apps whose synth checks their stacks for circles of references first. */
const CYCLES_CHECKED = new WeakSet<IConstruct>();
let validatingOthers = false;

/**
 * A stack's finalize pass (see the top of this file). It sits on a construct
 * of its own without children, so cdktf calls its aspect once: an aspect on
 * the stack would be called for every construct of it (and cdktf computes
 * each one's path for its bookkeeping), about 5% of the synth time of a
 * stack of thousands of entries.
 * @internal
 */
export class FinalizePass {
  /** The pass of `scope`'s stack, created (with its triggers) on first use. */
  public static of(scope: IConstruct): FinalizePass {
    const stack = TerraformStack.of(scope);
    let pass = PASSES.get(stack);
    if (!pass) {
      pass = new FinalizePass(stack);
      PASSES.set(stack, pass);
    }
    return pass;
  }

  private readonly items: IFinalizable[] = [];
  private readonly memos = new Map<string, unknown>();
  private complete = false;

  private constructor(private readonly stack: TerraformStack) {
    Aspects.of(new Construct(stack, 'ConsulMeshFinalize')).add({ visit: () => this.run() });
    // cdktf wires references between stacks (an output there, remote state
    // here) while it prepares every stack of the app, before it writes any:
    // what the pass renders must exist by then.
    const prepare = stack.prepareStack.bind(stack);
    stack.prepareStack = () => {
      this.run();
      prepare();
    };
    // Before cdktf prepares any stack: it would stop at a circle naming two stacks only.
    const app = stack.node.root as IConstruct & { synth?: () => void };
    if (typeof app.synth === 'function' && !CYCLES_CHECKED.has(app)) {
      CYCLES_CHECKED.add(app);
      const synth = app.synth.bind(app);
      app.synth = () => {
        checkStackCycles(app, (s) => PASSES.get(s)?.run());
        synth();
      };
    }
    stack.node.addValidation({ validate: () => [...foreignProviders(stack), ...this.validateOtherStacks()] });
  }

  /** Has `item` finalized in every synthesis of this stack. */
  public add(item: IFinalizable): void {
    this.items.push(item);
  }

  /**
   * A stack-wide result computed once per pass (e.g. every upstream's mesh
   * gateway mode), or computed now outside synthesis.
   */
  public memo<T>(key: string, compute: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = compute();
    if (this.complete) this.memos.set(key, value);
    return value;
  }

  /** Forgets results of an earlier pass (the tree may have grown since), then finalizes every item. */
  public run(): void {
    this.memos.clear();
    for (const item of this.items) item._finalize();
    // Results computed from here on see the complete tree: keep them until the next pass.
    this.complete = true;
  }

  /**
   * cdktf validates and writes one stack after the other, so a mistake in a
   * later stack would surface after earlier stacks' cdk.tf.json were
   * written: run every other stack's validations too, after its pass.
   */
  private validateOtherStacks(): string[] {
    if (validatingOthers) return [];
    validatingOthers = true;
    try {
      return this.stack.node.root.node.findAll()
        .filter((c) => c !== this.stack && PASSES.has(c))
        .flatMap((other) => {
          PASSES.get(other)!.run();
          return other.node.findAll().flatMap((c) => c.node.validate().map((e) => `in stack ${other.node.id}: [${c.node.path}] ${e}`));
        });
    } finally {
      validatingOthers = false;
    }
  }
}

// Stacks that read each other's values cannot be ordered: neither can be
// applied first. cdktf finds such a circle while it wires the references
// (when it prepares the stacks) and names two stacks only; the library finds
// it first, from the same references, and names the constructs that read
// across, so the user knows which line to move.
import { IConstruct } from 'constructs';
import { invalidInput } from './errors';
import { DefaultTokenResolver, IPostProcessor, IResolvable, IResolveContext, StringConcat, TerraformElement, TerraformStack, Tokenization } from './tf';

/** One construct of a stack reading a value of another's. */
interface Reading {
  readonly reader: IConstruct;
  readonly from: TerraformStack;
  /** The Terraform expression read, e.g. `consul_acl_token.dc1_Replication_ABCD.accessor_id`. */
  readonly identifier: string;
}

/** Records each reference to another stack's value while resolving, as cdktf's own references carry their stack. */
class ReadingCollector extends DefaultTokenResolver {
  public reader?: IConstruct;
  public readonly readings: Reading[] = [];

  constructor(private readonly stack: TerraformStack) {
    super(new StringConcat());
  }

  public resolveToken(t: IResolvable, context: IResolveContext, postProcessor: IPostProcessor): unknown {
    const ref = t as { originStack?: unknown; identifier?: unknown };
    if (ref.originStack instanceof TerraformStack && ref.originStack !== this.stack && typeof ref.identifier === 'string' && this.reader) {
      this.readings.push({ reader: this.reader, from: ref.originStack, identifier: ref.identifier });
    }
    return super.resolveToken(t, context, postProcessor);
  }
}

/** What each element of `stack` reads of other stacks (one reading per pair of stacks, the first found). */
function readingsOf(stack: TerraformStack): Map<TerraformStack, Reading> {
  const collector = new ReadingCollector(stack);
  for (const element of stack.node.findAll()) {
    if (!(element instanceof TerraformElement) || TerraformStack.of(element) !== stack) continue;
    collector.reader = element;
    Tokenization.resolve(element.toTerraform(), { scope: stack, resolver: collector, preparing: false });
  }
  const byStack = new Map<TerraformStack, Reading>();
  for (const reading of collector.readings) if (!byStack.has(reading.from)) byStack.set(reading.from, reading);
  return byStack;
}

/** The construct of `stack` an expression names (resources, data sources, variables: by their unique id). */
function constructNamed(stack: TerraformStack, identifier: string): IConstruct | undefined {
  const parts = identifier.split('.');
  return stack.node.findAll().find((c) => c instanceof TerraformElement && parts.includes(c.friendlyUniqueId));
}

/**
 * Refuses a circle of stacks that read each other's values, naming each
 * construct that reads across and what it reads. Runs before cdktf wires
 * the references (which would stop at the circle with two stack names).
 * @internal
 */
export function checkStackCycles(root: IConstruct, finalize: (stack: TerraformStack) => void): void {
  const stacks = root.node.findAll().filter((c): c is TerraformStack => c instanceof TerraformStack);
  if (stacks.length < 2) return;
  // What a stack renders late (bodies, rules) may read another stack too.
  stacks.forEach(finalize);
  const reads = new Map(stacks.map((s) => [s, readingsOf(s)] as const));
  const cycle = findCycle(stacks, (s) => [...reads.get(s)!.keys()]);
  if (!cycle) return;
  const edges = cycle.map((s, i) => reads.get(s)!.get(cycle[(i + 1) % cycle.length])!);
  const lines = edges.map((e) => {
    const read = constructNamed(e.from, e.identifier);
    return `${e.reader.node.path} (stack ${TerraformStack.of(e.reader).node.id}) reads ${read ? read.node.path : e.identifier} (stack ${e.from.node.id})`;
  });
  throw invalidInput(edges[0].reader, `stacks ${cycle.map((s) => s.node.id).join(' and ')} read each other's values, so neither can be applied first: ${lines.join('; ')}`,
    [...cycle, cycle[0]].map((s) => s.node.id).join(' -> '),
    'Move one of these constructs into the stack it reads from, or pass the value in through a variable of its stack instead of a reference.');
}

/** A circle in the graph (in the order found), if any. */
function findCycle<T>(nodes: T[], next: (n: T) => T[]): T[] | undefined {
  const state = new Map<T, 'open' | 'done'>();
  const path: T[] = [];
  const visit = (n: T): T[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return path.slice(path.indexOf(n));
    state.set(n, 'open');
    path.push(n);
    for (const m of next(n)) {
      const found = visit(m);
      if (found) return found;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const found = visit(n);
    if (found) return found;
  }
  return undefined;
}

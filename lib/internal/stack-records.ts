import { IConstruct } from 'constructs';
import { TerraformStack } from './tf';

/**
 * A typed list of a stack's records, declared by the module that owns its
 * items: the records themselves know no concept of the library.
 */
export class RecordList<T> {
  constructor(public readonly name: string) {}
  /** @internal Only here so `RecordList<A>` and `RecordList<B>` are different types. */
  public _type?: T;
}

const RECORDS = new WeakMap<IConstruct, StackRecords>();
/** Per app, its stacks' records in the order created. */
const APP_RECORDS = new WeakMap<IConstruct, StackRecords[]>();

/**
 * Per stack, what the library's constructs recorded about themselves when
 * they were built: typed lists and unique names. Constructs look each other
 * up here (a list of their own kind, a name) instead of walking the tree, so
 * synthesis stays linear in the number of constructs.
 * @internal
 */
export class StackRecords {
  /** The records of `scope`'s stack, created on first use. */
  public static of(scope: IConstruct): StackRecords {
    const stack = TerraformStack.of(scope);
    let records = RECORDS.get(stack);
    if (!records) {
      records = new StackRecords(stack);
      RECORDS.set(stack, records);
      APP_RECORDS.set(stack.node.root, [...(APP_RECORDS.get(stack.node.root) ?? []), records]);
    }
    return records;
  }

  /** The records of `stack` if the library recorded anything in it. */
  public static find(stack: IConstruct): StackRecords | undefined {
    return RECORDS.get(stack);
  }

  private readonly lists = new Map<string, unknown[]>();
  private readonly names = new Map<string, Map<string, IConstruct>>();

  private constructor(public readonly stack: TerraformStack) {}

  /** The records of every stack of this one's app, in the order created. */
  public inApp(): readonly StackRecords[] {
    return APP_RECORDS.get(this.stack.node.root) ?? [this];
  }

  /** Appends `item` to `list`. */
  public add<T>(list: RecordList<T>, item: T): void {
    const items = this.lists.get(list.name);
    if (items) items.push(item);
    else this.lists.set(list.name, [item]);
  }

  /** `list`'s items, in the order added. */
  public all<T>(list: RecordList<T>): readonly T[] {
    return (this.lists.get(list.name) ?? []) as T[];
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
}

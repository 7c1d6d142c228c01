// Lookups over the state's arrays without scanning them: at fleet scale (10,000 targets and their actions) a
// `find` per request or per target made the DDI paths linear and the rollout start quadratic.
//
// The indexes follow the arrays instead of being updated by every writer, because routes add to the state by
// pushing and remove from it by replacing an array with a filtered copy. So the one rule for code that changes
// the state is: arrays only grow in place (push); whatever removes entries assigns a new array. An index catches
// up with pushes by indexing the new tail, and starts over when the array was replaced. The indexed keys (ids,
// controller ids, the rollout and group an action belongs to) never change once an entity exists.

const NONE: readonly never[] = Object.freeze([]);

/** Entities of one state array, grouped by a key, each group in array order (the order `filter` gives). */
export class ArrayIndex<T, K> {
  private indexedArray: readonly T[] | undefined;
  private indexedLength = 0;
  private readonly groups = new Map<K, T[]>();

  constructor(private readonly array: () => readonly T[], private readonly keyOf: (entity: T) => K | undefined) {}

  /**
   * Every entity with this key, as `array.filter((e) => keyOf(e) === key)` would list them. The list is the index's
   * own and grows with later pushes: copy it to keep it across changes of the state.
   */
  all(key: K): readonly T[] {
    this.catchUp();
    return this.groups.get(key) ?? NONE;
  }

  /** The first entity with this key, as `array.find((e) => keyOf(e) === key)` would return it. */
  first(key: K): T | undefined {
    return this.all(key)[0];
  }

  private catchUp(): void {
    const array = this.array();
    if (array !== this.indexedArray || array.length < this.indexedLength) {
      this.groups.clear();
      this.indexedArray = array;
      this.indexedLength = 0;
    }
    for (; this.indexedLength < array.length; this.indexedLength++) {
      const entity = array[this.indexedLength]!;
      const key = this.keyOf(entity);
      if (key === undefined) continue;
      const group = this.groups.get(key);
      if (group) group.push(entity);
      else this.groups.set(key, [entity]);
    }
  }
}

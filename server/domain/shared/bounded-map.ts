/**
 * A Map that starts over when it reaches `max` entries: for caches of values that are cheap to
 * find again, where what is still in use comes back at once and memory stays bounded.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max) this.clear();
    return super.set(key, value);
  }
}

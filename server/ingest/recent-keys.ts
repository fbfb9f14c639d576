/**
 * Keys of the flows received in the last few seconds. A resumed stream re-sends flows we already
 * have, and an agent without uuids can send byte-identical flows (one flow, by the dedup key's
 * definition): both are dropped here, so a key is unique among stored flows.
 */
export class RecentKeys {
  /** insertion order ≈ time order, so eviction walks from the front */
  private readonly keys = new Map<string, bigint>();
  private newest = 0n;
  private sinceEvict = 0;

  constructor(private readonly windowNs: bigint) {}

  get size(): number {
    return this.keys.size;
  }

  /** Returns false when the key was seen already (a duplicate), else remembers it. */
  add(key: string, ts: bigint): boolean {
    if (this.keys.has(key)) return false;
    this.keys.set(key, ts);
    if (ts > this.newest) this.newest = ts;
    if (++this.sinceEvict >= 4096) this.evict();
    return true;
  }

  private evict(): void {
    this.sinceEvict = 0;
    const cutoff = this.newest - this.windowNs;
    for (const [key, ts] of this.keys) {
      if (ts >= cutoff) break;
      this.keys.delete(key);
    }
  }
}

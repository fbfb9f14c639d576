/**
 * How many DNS requests and responses each minute holds: the DNS views reuse what they read and
 * analysed while these counts stay the same. Counting with SQL costs a scan of the range's DNS rows
 * (~100 ms for 200k), so counts are remembered per minute and counted again only for minutes the
 * writer reported new flows in (its rollup feed announces every committed batch, by minute), after
 * a change that is not an addition (retention, repair, a failed write), or when they were counted
 * more than RECHECK_MS ago — the bound on how late a write by another process is noticed.
 */
import { L7FlowType } from "@/proto/gen/flow/flow_pb";
import type { Database } from "../connection";
import type { RollupFeed } from "../flows/rollup-feed";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

const RECHECK_MS = 10_000;
const MAX_MINUTES = 200_000;

export class DnsMinuteCounts {
  /** minute → [count, when counted (ms)] */
  private known = new Map<number, [number, number]>();
  private dirty = new Set<number>();
  /** bumped by a reset: a count that was running then must not store what it saw */
  private generation = 0;
  private recheckMs = RECHECK_MS;
  /** minutes [lo, hi] of the latest SQL counts (tests tell remembered answers from work by it) */
  private recentReads: [number, number][] = [];

  constructor(
    private readonly db: Database,
    feed?: RollupFeed,
  ) {
    feed?.subscribe({
      rows: (rollups) => {
        for (const r of rollups) this.dirty.add(r.minute);
        // nobody has read DNS for a long while: forget it all rather than grow
        if (this.dirty.size > MAX_MINUTES) this.forget();
      },
      reset: () => this.forget(),
    });
    // without a feed nothing says when a minute changed: every read counts again
    if (!feed) this.recheckMs = 0;
  }

  private forget(): void {
    this.known.clear();
    this.dirty.clear();
    this.generation++;
  }

  /** of the latest 1,000 SQL counts, those that covered any minute of [c0, c1] */
  readsOf(c0: bigint, c1: bigint): number {
    return this.recentReads.filter(([lo, hi]) => lo <= Number(c1) && hi >= Number(c0)).length;
  }

  /** Stored DNS rows per minute of [c0, c1]; minutes without any are absent. */
  async counts(c0: bigint, c1: bigint, nowMs = Date.now(), signal?: AbortSignal): Promise<Map<bigint, number>> {
    const first = Number(c0);
    const last = Number(c1);
    let lo = Infinity;
    let hi = -Infinity;
    for (let m = first; m <= last; m++) {
      const k = this.known.get(m);
      if (k && !this.dirty.has(m) && nowMs - k[1] < this.recheckMs) continue;
      lo = Math.min(lo, m);
      hi = Math.max(hi, m);
    }
    if (lo <= hi) await this.count(lo, hi, nowMs, signal);
    const out = new Map<bigint, number>();
    for (let m = first; m <= last; m++) {
      const n = this.known.get(m)?.[0] ?? 0;
      if (n > 0) out.set(BigInt(m), n);
    }
    return out;
  }

  private async count(lo: number, hi: number, nowMs: number, signal?: AbortSignal): Promise<void> {
    // forget the dirty marks first: a batch committing while the count runs marks its minute again
    for (let m = lo; m <= hi; m++) this.dirty.delete(m);
    this.recentReads.push([lo, hi]);
    if (this.recentReads.length > 1000) this.recentReads.shift();
    const generation = this.generation;
    let rows: { c: string; n: string }[];
    try {
      rows = await this.db.api.query<{ c: string; n: string }>(
        `SELECT (f.ts / ${NS_PER_MINUTE})::text AS c, count(*)::text AS n FROM flows f
          WHERE f.l7_kind = 100 AND f.l7_type IN (${L7FlowType.REQUEST}, ${L7FlowType.RESPONSE}) AND f.ts >= $1::bigint AND f.ts < $2::bigint
          GROUP BY 1`,
        [(BigInt(lo) * NS_PER_MINUTE).toString(), (BigInt(hi + 1) * NS_PER_MINUTE).toString()],
        { signal },
      );
    } catch (e) {
      for (let m = lo; m <= hi; m++) this.known.delete(m);
      throw e;
    }
    if (generation !== this.generation) return; // counted before a reset: the next read counts again
    if (this.known.size + (hi - lo + 1) > MAX_MINUTES) this.known.clear();
    for (let m = lo; m <= hi; m++) this.known.set(m, [0, nowMs]);
    for (const r of rows) this.known.set(Number(r.c), [Number(r.n), nowMs]);
  }
}

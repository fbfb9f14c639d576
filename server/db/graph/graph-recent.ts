/**
 * An exact in-memory copy of the newest rollup minutes — the ones still changing — kept current
 * from the writer's feed. An open map refreshes every second; without this each refresh re-read
 * and re-summed the newest two minutes (~30k rollup rows at 1,000 workloads) from SQL.
 *
 * The copy holds every minute from `from` on: flow_rollups plus the writer's pending rows, read
 * once while no write runs (RollupFeed.exclusive), then every committed batch's rows are added as
 * the writer's upsert adds them. Minutes far behind the newest are let go; a query reaching further
 * back loads again.
 */
import type { Rollup } from "@/server/domain/flows/flow-rollup";
import type { Queryable } from "../connection";
import { entryFromRollup, addCounts, entryKey, readPerMinute, type Entry } from "./graph-entries";
import type { RollupFeed, RollupListener } from "../flows/rollup-feed";

/** minutes kept behind the oldest one asked for, so settling minutes and blocks come from memory */
export const KEEP_BEHIND = 12;

export class RecentRollups implements RollupListener {
  private minutes = new Map<number, Map<string, Entry>>();
  /** every minute ≥ from is held; null: nothing held */
  private from: number | null = null;
  private loading: Promise<void> | null = null;
  /** loads from SQL (for tests) */
  loads = 0;

  constructor(
    private readonly db: Queryable,
    private readonly feed: RollupFeed,
  ) {
    feed.subscribe(this);
  }

  rows(rollups: readonly Rollup[]): void {
    if (this.from === null) return;
    for (const r of rollups) {
      if (r.minute < this.from) continue; // a late row for a minute let go: the settled caches re-read it in time
      let m = this.minutes.get(r.minute);
      if (!m) this.minutes.set(r.minute, (m = new Map()));
      const k = entryKey(r.ctxId, r.l4, r.port);
      const e = m.get(k);
      if (e) addCounts(e.counts, entryFromRollup(r).counts);
      else m.set(k, entryFromRollup(r));
    }
  }

  reset(): void {
    this.from = null;
    this.minutes.clear();
  }

  /**
   * whether minute is held (a held minute without rows has none in the table either); not while a
   * rollup transaction is in flight, as the table may already have rows the copy is about to get
   */
  holds(minute: number): boolean {
    return this.from !== null && minute >= this.from && this.feed.quiet;
  }

  /** the held entries of one minute, as live objects (copy before keeping them) */
  peek(minute: number): Entry[] {
    const m = this.minutes.get(minute);
    return m ? [...m.values()] : [];
  }

  /**
   * Entries of each minute in [fromMinute, toMinute) (live objects, added to by later commits), or
   * null when no consistent copy could be made while the writer kept committing.
   */
  async range(fromMinute: number, toMinute: number): Promise<Entry[][] | null> {
    return (await this.rangeByMinute(fromMinute, toMinute))?.map(([, list]) => list) ?? null;
  }

  /** range() with each list's minute (minutes without rows are left out) */
  async rangeByMinute(fromMinute: number, toMinute: number): Promise<[number, Entry[]][] | null> {
    if (this.from === null || fromMinute < this.from) {
      await this.load(fromMinute);
      if (this.from === null || fromMinute < this.from) return null;
    }
    this.forgetBefore(fromMinute - KEEP_BEHIND);
    const out: [number, Entry[]][] = [];
    for (let m = fromMinute; m < toMinute; m++) {
      const held = this.minutes.get(m);
      if (held) out.push([m, [...held.values()]]);
    }
    return out;
  }

  private forgetBefore(minute: number): void {
    if (this.from === null || minute <= this.from) return;
    for (const m of this.minutes.keys()) if (m < minute) this.minutes.delete(m);
    this.from = minute;
  }

  private async load(fromMinute: number): Promise<void> {
    // one load at a time; a load that does not reach far enough back is followed by another
    while (this.loading) await this.loading;
    if (this.from !== null && fromMinute >= this.from) return;
    // the table plus the writer's pending rows, with no write in between (see RollupFeed)
    this.loading = this.feed.exclusive(async () => {
      this.loads++;
      const rows = await readPerMinute(this.db, "minute >= $1::int", [fromMinute]);
      const minutes = new Map<number, Map<string, Entry>>();
      for (const [m, list] of rows) minutes.set(m, new Map(list.map((e) => [entryKey(e.ctxId, e.counts.l4, e.counts.port), e])));
      this.minutes = minutes;
      this.from = fromMinute;
      this.rows(this.feed.pending());
    });
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
  }
}

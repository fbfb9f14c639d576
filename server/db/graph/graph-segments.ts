/**
 * The rollups of a map window as segments: settled whole blocks and settled single minutes are
 * read once and cached (filter-independent), the unsettled tail comes from the in-memory newest
 * minutes (graph-recent.ts) or SQL without a feed; each minute's paired drop events are marked.
 */
import { pairedDropEvents, type PairInfo } from "@/server/domain/connections/denied-packets";
import type { Database } from "../connection";
import type { RollupFeed } from "../flows/rollup-feed";
import type { GraphCatalog } from "./graph-catalog";
import { entryKey, mergeEntries, readPerMinute, readRange, type Entry } from "./graph-entries";
import { RecentRollups } from "./graph-recent";
import { segmentOf, type Segment } from "./graph-segment";

/** minutes per cached block: a 1 h window is six blocks plus at most 18 single minutes */
export const BLOCK_MINUTES = 10;
/**
 * A minute counts as settled — its rollups no longer change — once the newest rollup minute is this
 * many minutes later (Relay sorts across nodes within ~1 s; the ingest resumes 5 s back).
 */
export const SETTLE_MINUTES = 2;
/** Cached segments are re-read after this long, so a very late write still shows up eventually. */
export const CACHE_TTL_MS = 10 * 60_000;
const MAX_CACHED = 2000;

interface Cached {
  at: number;
  seg: Segment;
  /** distinguishes a re-read of the same key */
  gen: number;
}

export interface GraphRepoOptions {
  /** turn the caches off (tests compare both ways) */
  cache?: boolean;
  /** the writer's rollup feed: keeps the unsettled minutes in memory instead of re-reading them */
  feed?: RollupFeed;
  now?: () => number;
}

/** the window split by what can be cached: settled segments and the newest minutes */
export interface Segments {
  /** settled minutes [fromMinute, settledUntil) as cached blocks and minutes */
  settled: Segment[];
  /** names the exact cached lists in `settled`: a folded result is reused while it is the same */
  settledKey: string;
  settledUntil: number;
  /** the unsettled minutes, one list per minute (or one for the whole tail) */
  tail: Entry[][];
}

export class GraphSegments {
  /** "b:<first minute>" (a block) or "m:<minute>" → its groups; filter-independent */
  private readonly cache = new Map<string, Cached>();
  private readonly useCache: boolean;
  private readonly now: () => number;
  private readonly recent: RecentRollups | null;
  private gen = 0;
  private prefetching: Promise<void> | null = null;
  /** segment reads done from SQL (for tests and the bench) */
  sqlReads = 0;

  constructor(
    private readonly db: Database,
    private readonly catalog: GraphCatalog,
    opts: GraphRepoOptions = {},
  ) {
    this.useCache = opts.cache ?? true;
    this.now = opts.now ?? Date.now;
    // its load runs while writes wait (RollupFeed.exclusive): on the ingest's connections, so it
    // never waits behind busy API ones with the writer held up
    this.recent = this.useCache && opts.feed ? new RecentRollups(db, opts.feed) : null;
    // retention and repair remove rollups: nothing cached may outlive that
    opts.feed?.subscribe({ rows() {}, reset: () => this.cache.clear() });
  }

  /** SQL loads of the in-memory newest minutes */
  get recentLoads(): number {
    return this.recent?.loads ?? 0;
  }

  /** until a background read of a block's minutes (prefetchHead) has ended */
  async prefetched(): Promise<void> {
    await this.prefetching;
  }

  /**
   * The window as segments of groups: settled whole blocks and settled single minutes come from
   * the cache (read once), the unsettled tail from the in-memory newest minutes (or SQL without a
   * feed). This keeps a 1 h map over 10M flows from re-aggregating ~1M rollup rows on every
   * refresh of an open page.
   */
  async window(fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<Segments> {
    if (!this.useCache) return { settled: [segmentOf(await this.readPaired(fromMinute, toMinute, signal))], settledKey: "", settledUntil: toMinute, tail: [] };
    const newest = await this.db.api.query<{ m: number | null }>("SELECT max(minute) AS m FROM flow_rollups", [], { signal });
    const settledBefore = newest[0]?.m == null ? fromMinute : Math.min(toMinute, newest[0].m - SETTLE_MINUTES + 1);
    const out: Segment[] = [];
    const used: string[] = [];
    const now = this.now();
    const fresh = (key: string) => {
      const c = this.cache.get(key);
      return c && now - c.at < CACHE_TTL_MS ? c : undefined;
    };
    const put = (key: string, seg: Segment) => {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { at: now, seg, gen: ++this.gen });
    };
    const use = (key: string) => {
      const c = this.cache.get(key)!;
      out.push(c.seg);
      used.push(`${key}@${c.gen}`);
    };
    const cachedUntil = Math.min(toMinute, settledBefore);
    // only minutes that hold rollups: a 31-day window over a sparse store must not walk 44k minutes
    const present = cachedUntil > fromMinute ? await this.minutesWithData(fromMinute, cachedUntil, signal) : [];
    const missingMinutes: number[] = [];
    const blocksDone = new Set<number>();
    for (const mm of present) {
      const block = mm - (((mm % BLOCK_MINUTES) + BLOCK_MINUTES) % BLOCK_MINUTES);
      if (block >= fromMinute && block + BLOCK_MINUTES <= cachedUntil) {
        if (blocksDone.has(block)) continue;
        blocksDone.add(block);
        const key = `b:${block}`;
        if (!fresh(key)) put(key, await this.readBlock(block, signal));
        use(key);
      } else {
        if (fresh(`m:${mm}`)) use(`m:${mm}`);
        else if (this.recent?.holds(mm)) {
          // a minute that just settled: the in-memory copy has it
          put(`m:${mm}`, segmentOf(await this.paired(this.recent.peek(mm), mm)));
          use(`m:${mm}`);
        } else missingMinutes.push(mm);
      }
    }
    if (missingMinutes.length) {
      this.sqlReads++;
      const byMinute = await readPerMinute(this.db.api, "minute = ANY($1::int[])", [missingMinutes], signal);
      for (const mm of missingMinutes) {
        put(`m:${mm}`, segmentOf(await this.paired(byMinute.get(mm) ?? [], mm)));
        use(`m:${mm}`);
      }
    }
    this.prefetchHead(fromMinute, cachedUntil, present, fresh, put);
    const tail = Math.max(fromMinute, cachedUntil);
    let tailLists: Entry[][] = [];
    if (tail < toMinute) {
      const held = await this.recent?.rangeByMinute(tail, toMinute);
      tailLists = held ? await Promise.all(held.map(([m, list]) => this.paired(list, m))) : [await this.readPaired(tail, toMinute, signal)];
    }
    return { settled: out, settledKey: `${fromMinute}:${cachedUntil}:${used.join(",")}`, settledUntil: tail, tail: tailLists };
  }

  /**
   * A live window starting on a block boundary uses the whole cached block; a minute later it starts
   * one minute in and needs that block's minutes one by one (~15k rollup rows each at 10M flows/h).
   * Reading them then stalls that refresh for seconds, so with a live feed they are read now, in
   * the background, after this answer.
   */
  private prefetchHead(
    fromMinute: number,
    cachedUntil: number,
    present: number[],
    fresh: (key: string) => Cached | undefined,
    put: (key: string, seg: Segment) => void,
  ): void {
    if (!this.recent || this.prefetching || fromMinute % BLOCK_MINUTES !== 0 || fromMinute + BLOCK_MINUTES > cachedUntil) return;
    const minutes = present.filter((m) => m > fromMinute && m < fromMinute + BLOCK_MINUTES && !fresh(`m:${m}`));
    if (minutes.length === 0) return;
    this.prefetching = (async () => {
      try {
        const byMinute = await readPerMinute(this.db.api, "minute = ANY($1::int[])", [minutes]);
        for (const m of minutes) put(`m:${m}`, segmentOf(await this.paired(byMinute.get(m) ?? [], m)));
      } catch {
        // only an optimisation: the refresh that needs these minutes reads them itself
      } finally {
        this.prefetching = null;
      }
    })();
  }

  /** a settled block: merged from the in-memory minutes when they are all held, else from SQL */
  private async readBlock(block: number, signal?: AbortSignal): Promise<Segment> {
    const recent = this.recent;
    if (recent && recent.holds(block)) {
      const minutes: Entry[][] = [];
      for (let m = block; m < block + BLOCK_MINUTES; m++) minutes.push(await this.paired(recent.peek(m), m));
      return segmentOf(mergeEntries(minutes));
    }
    return segmentOf(await this.readPaired(block, block + BLOCK_MINUTES));
  }

  /**
   * distinct minutes in [from, to) that have rollups, by a loose index scan on the primary key; on
   * Citus (no recursive CTE over a distributed table) each shard groups its own range in parallel
   */
  private async minutesWithData(fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<number[]> {
    if (this.db.distributed) {
      const rows = await this.db.api.query<{ m: number }>(
        "SELECT minute AS m FROM flow_rollups WHERE minute >= $1::int AND minute < $2::int GROUP BY minute ORDER BY minute",
        [fromMinute, toMinute],
        { signal },
      );
      return rows.map((r) => r.m);
    }
    const rows = await this.db.api.query<{ m: number }>(
      `WITH RECURSIVE t(m) AS (
         SELECT min(minute) FROM flow_rollups WHERE minute >= $1::int AND minute < $2::int
         UNION ALL
         SELECT (SELECT min(minute) FROM flow_rollups WHERE minute > t.m AND minute < $2::int) FROM t WHERE t.m IS NOT NULL
       ) SELECT m FROM t WHERE m IS NOT NULL`,
      [fromMinute, toMinute],
      { signal },
    );
    return rows.map((r) => r.m);
  }

  /** the pairing key of a context, decoding contexts stored since the last refresh */
  async pairInfo(ids: Iterable<number>): Promise<(id: number) => PairInfo | undefined> {
    for (const id of ids) {
      if (!this.catalog.get(id)) {
        await this.catalog.refresh();
        break;
      }
    }
    return (id) => this.catalog.graphOf(id)?.pair;
  }

  /**
   * One minute's entries with the drop events of packets whose policy-verdict event is counted
   * marked as `paired` (docs/adr/0005): the map counts a denied packet once, as /drops does. They
   * are taken out when folding, unless the filter leaves out the policy-verdict half.
   */
  private async paired(entries: readonly Entry[], minute: number): Promise<Entry[]> {
    const info = await this.pairInfo(entries.map((e) => e.ctxId));
    if (!entries.some((e) => info(e.ctxId))) return entries as Entry[];
    const sub = pairedDropEvents(
      entries.map((e) => ({ ctxId: e.ctxId, minute, l4: e.counts.l4, port: e.counts.port, count: e.counts.flows })),
      info,
    );
    return entries.map((e, i) => (sub[i] ? { ctxId: e.ctxId, counts: { ...e.counts, paired: sub[i] } } : e));
  }

  /** [from, to) summed, paired per minute: the pairable contexts' minutes are read apart */
  private async readPaired(fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<Entry[]> {
    const entries = await this.read(fromMinute, toMinute, signal);
    const info = await this.pairInfo(entries.map((e) => e.ctxId));
    const pairable = [...new Set(entries.filter((e) => info(e.ctxId)).map((e) => e.ctxId))];
    if (!pairable.length) return entries;
    const perMinute = await readPerMinute(this.db.api, "minute >= $1::int AND minute < $2::int AND ctx_id = ANY($3::int[])", [fromMinute, toMinute, pairable], signal);
    const sub = new Map<string, number>();
    for (const [minute, list] of perMinute) {
      const n = pairedDropEvents(
        list.map((e) => ({ ctxId: e.ctxId, minute, l4: e.counts.l4, port: e.counts.port, count: e.counts.flows })),
        info,
      );
      list.forEach((e, i) => {
        if (n[i]) sub.set(entryKey(e.ctxId, e.counts.l4, e.counts.port), (sub.get(entryKey(e.ctxId, e.counts.l4, e.counts.port)) ?? 0) + n[i]);
      });
    }
    if (!sub.size) return entries;
    return entries.map((e) => {
      const n = sub.get(entryKey(e.ctxId, e.counts.l4, e.counts.port));
      return n ? { ctxId: e.ctxId, counts: { ...e.counts, paired: n } } : e;
    });
  }

  private read(fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<Entry[]> {
    this.sqlReads++;
    return readRange(this.db.api, fromMinute, toMinute, signal);
  }
}

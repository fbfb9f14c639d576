/**
 * The service map for a time window, built from the per-minute rollups (never raw flows): one
 * GROUP BY over the window's rollup rows per (context, L4, port), the L7 counters summed only over
 * rows that have any (most traffic has no L7 visibility), and the context side — nodes, reply
 * orientation, verdict, policies — from contexts decoded once and kept in memory. Context filters
 * (namespace, verdict, cluster, …) use the shared hubble matcher over those contexts, the same way
 * FlowReader does, so /map and /flows agree on what a filter means.
 */
import { pairedDropEvents, type PairInfo } from "@/server/domain/connections/denied-packets";
import { GraphBuilder } from "@/server/domain/graph-build";
import { graphContext, type GraphContext } from "@/server/domain/graph/graph-context";
import { onMapElement } from "@/server/domain/graph-collapse";
import type { FlowFilterSpec } from "@/server/domain/flow-filter-spec";
import { compileMatcher } from "@/server/domain/flow-match";
import type { GraphResponse } from "@/server/domain/graph-types";
import type { Database } from "./connection";
import type { DimensionRepo } from "./dimension-repo";
import { contextCatalogFor, type CatalogEntry, type ContextCatalog } from "./context-catalog";
import { SqlParams, hasConditions } from "./flow-sql";
import { NS_PER_MINUTE, entryKey, mergeEntries, minuteOf, readPerMinute, readRange, type Entry } from "./graph-entries";
import { segmentOf, type Segment } from "./graph-segment";
import { RecentRollups } from "./graph-recent";
import type { RollupFeed } from "./rollup-feed";

export { NS_PER_MINUTE, mergeEntries, minuteOf };

export interface GraphQuery {
  /** context-level conditions only (the rollups keep no per-flow columns) */
  filter: FlowFilterSpec;
  /** L4 kinds (flows.l4 numbers); empty/undefined = all */
  l4?: number[];
  sinceNs: bigint;
  untilNs: bigint;
  live?: boolean;
  hideNoise?: boolean;
  /** a node id or edge id whose flows-per-bucket series to return */
  focus?: string;
  /** series buckets at most (each at least one minute) */
  buckets?: number;
  /** the request's: cancels its reads when the client goes away */
  signal?: AbortSignal;
}

interface GraphEntry extends CatalogEntry {
  graph: GraphContext;
}

/** The shared context catalog plus each context's graph endpoints, derived once per context. */
export class GraphCatalog {
  private readonly byId = new Map<number, GraphEntry>();
  /** graph contexts by id (ids are small serial numbers): the fold's lookup, once per rollup group */
  private readonly dense: (GraphContext | undefined)[] = [];

  constructor(private readonly contexts: ContextCatalog) {}

  refresh(): Promise<void> {
    return this.contexts.refresh();
  }

  get(id: number): GraphEntry | undefined {
    let e = this.byId.get(id);
    if (!e) {
      const c = this.contexts.get(id);
      if (!c) return undefined;
      e = { ...c, graph: graphContext(c.item.flow) };
      this.byId.set(id, e);
      this.dense[id] = e.graph;
    }
    return e;
  }

  graphOf(id: number): GraphContext | undefined {
    return this.dense[id] ?? this.get(id)?.graph;
  }

  get size(): number {
    return this.contexts.all().length;
  }

  /** derives every context's graph endpoints now, in slices (at a start, before anyone asks) */
  async warm(): Promise<void> {
    await this.refresh();
    const all = this.contexts.all();
    for (let i = 0; i < all.length; i++) {
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      this.get(all[i].id);
    }
  }

  /** ids of contexts matching the filter, or null when the filter has no context conditions */
  matching(filter: FlowFilterSpec): number[] | null {
    if (!hasConditions(filter)) return null;
    const match = compileMatcher(filter);
    return this.contexts
      .all()
      .filter((e) => match(e.item))
      .map((e) => e.id);
  }

  matchesOne(filter: FlowFilterSpec, id: number): boolean {
    const e = this.contexts.get(id);
    return !!e && (!hasConditions(filter) || compileMatcher(filter)(e.item));
  }

  /** ids of contexts on a map element (node, edge, namespace or aggregated edge), by its map id */
  onElement(id: string, among: number[] | null): number[] {
    const ids = among ?? this.contexts.all().map((e) => e.id);
    const on = onMapElement(id);
    return ids
      .map((i) => this.get(i))
      .filter((e): e is GraphEntry => !!e && on(e.graph.from, e.graph.to))
      .map((e) => e.id);
  }
}

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
/** folded settled parts kept, one per (filter, span): a few open pages with different views */
const MAX_FOLDED = 16;

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
interface Segments {
  /** settled minutes [fromMinute, settledUntil) as cached blocks and minutes */
  settled: Segment[];
  /** names the exact cached lists in `settled`: a folded result is reused while it is the same */
  settledKey: string;
  settledUntil: number;
  /** the unsettled minutes, one list per minute (or one for the whole tail) */
  tail: Entry[][];
}

export class GraphRepo {
  /** "b:<first minute>" (a block) or "m:<minute>" → its groups; filter-independent */
  private readonly cache = new Map<string, Cached>();
  private readonly useCache: boolean;
  private readonly now: () => number;
  private readonly recent: RecentRollups | null;
  private gen = 0;
  /** the settled part folded into nodes/edges, per query: a refresh adds only the tail to a copy */
  private readonly folded = new Map<string, { source: string; builder: GraphBuilder; flows: number }>();
  private matched: { key: string; size: number; ids: Set<number> | null; verdictKeys?: Set<string> } | undefined;
  private prefetching: Promise<void> | null = null;
  /** segment reads done from SQL (for tests and the bench) */
  sqlReads = 0;

  constructor(
    private readonly db: Database,
    readonly catalog: GraphCatalog,
    opts: GraphRepoOptions = {},
  ) {
    this.useCache = opts.cache ?? true;
    this.now = opts.now ?? Date.now;
    // its load runs while writes wait (RollupFeed.exclusive): on the ingest's connections, so it
    // never waits behind busy API ones with the writer held up
    this.recent = this.useCache && opts.feed ? new RecentRollups(db, opts.feed) : null;
    // retention and repair remove rollups: nothing cached may outlive that
    opts.feed?.subscribe({ rows() {}, reset: () => this.forget() });
  }

  private forget(): void {
    this.cache.clear();
    this.folded.clear();
  }

  /**
   * Run once after a start: decodes the contexts and reads the last hour's rollups, so the first
   * map someone opens does not pay for that (seconds at 20k contexts / 10M flows an hour).
   */
  async warm(nowMs = this.now()): Promise<void> {
    await this.catalog.warm();
    const untilNs = BigInt(nowMs) * 1_000_000n;
    await this.graph({ filter: {}, sinceNs: untilNs - 60n * NS_PER_MINUTE, untilNs, live: true });
    await this.prefetching;
  }

  /** SQL loads of the in-memory newest minutes (for tests) */
  get recentLoads(): number {
    return this.recent?.loads ?? 0;
  }

  /** The focused element's series alone (what a selection on an open map needs). */
  async focusSeries(q: GraphQuery & { focus: string }): Promise<Pick<GraphResponse, "window" | "series">> {
    const { fromMinute, toMinute, window } = windowOf(q);
    await this.catalog.refresh();
    const allowed = this.allowedContexts(q.filter);
    return { window, series: await this.series(q.focus, allowed ? [...allowed] : null, q, fromMinute, toMinute) };
  }

  async graph(q: GraphQuery): Promise<GraphResponse> {
    const { fromMinute, toMinute, window } = windowOf(q);
    // pairing a denied packet's two events while building segments needs their contexts decoded
    await this.catalog.refresh();
    const segs = await this.segments(fromMinute, toMinute, q.signal);
    const allowed = this.allowedContexts(q.filter);
    const l4 = q.l4?.length ? new Set(q.l4) : null;
    const queryKey = JSON.stringify([q.filter, q.l4 ?? [], q.hideNoise ?? true, fromMinute, segs.settledUntil]);
    let refreshed = false;
    /** the graph context of a group, or null to skip it */
    const contextOf = async (ctxId: number, groupL4: number): Promise<GraphContext | null> => {
      if (allowed && !allowed.has(ctxId)) return null;
      if (l4 && !l4.has(groupL4)) return null;
      let g = this.catalog.graphOf(ctxId);
      if (!g && !refreshed) {
        // a context stored after our refresh but before the rollup read
        refreshed = true;
        await this.catalog.refresh();
        g = this.catalog.graphOf(ctxId);
        if (g && allowed && !this.catalog.matchesOne(q.filter, ctxId)) return null;
      }
      return g ?? null;
    };
    // a paired drop event is left out only when its policy-verdict half is on the map too
    const verdictKeys = allowed ? this.verdictKeys(allowed) : null;
    const unpaired = (g: GraphContext, paired: number) => (paired > 0 && (!verdictKeys || (g.pair && verdictKeys.has(g.pair.key))) ? paired : 0);
    const fold = async (b: GraphBuilder, entries: readonly Entry[]): Promise<number> => {
      let flows = 0;
      for (let i = 0; i < entries.length; i++) {
        const { ctxId, counts } = entries[i];
        const g = !allowed && !l4 ? (this.catalog.graphOf(ctxId) ?? (await contextOf(ctxId, counts.l4))) : await contextOf(ctxId, counts.l4);
        if (!g) continue;
        const drop = unpaired(g, counts.paired ?? 0);
        b.add(g, drop ? { ...counts, flows: counts.flows - drop } : counts);
        flows += counts.flows - drop;
      }
      return flows;
    };
    const foldSegment = async (b: GraphBuilder, s: Segment): Promise<number> => {
      let flows = 0;
      const catalog = this.catalog;
      for (let i = 0; i < s.n; i++) {
        const id = s.ctx[i];
        // the usual case without an await: a known context and no filter
        const g = !allowed && !l4 ? (catalog.graphOf(id) ?? (await contextOf(id, s.l4[i]))) : await contextOf(id, s.l4[i]);
        if (!g) continue;
        const n = s.flows[i] - unpaired(g, s.paired[i]);
        b.addColumns(g, s.l4[i], s.port[i], n, s.firstMs[i], s.firstSub[i], s.lastMs[i], s.lastSub[i], s.httpReq[i], s.dnsReq[i], s.l7, s.l7At[i]);
        if (n > 0) flows += n;
      }
      return flows;
    };
    // the settled part is folded once per query and copied; an open page's refresh folds the tail only
    let base = this.useCache ? this.folded.get(queryKey) : undefined;
    if (!base || base.source !== segs.settledKey) {
      // GraphBuilder.add sums, so folding each cached segment equals folding their merge
      const builder = new GraphBuilder({ hideNoise: q.hideNoise ?? true });
      let settledFlows = 0;
      for (const seg of segs.settled) settledFlows += await foldSegment(builder, seg);
      base = { source: segs.settledKey, builder, flows: settledFlows };
      if (this.useCache) {
        this.folded.delete(queryKey);
        if (this.folded.size >= MAX_FOLDED) this.folded.delete(this.folded.keys().next().value!);
        this.folded.set(queryKey, base);
      }
    }
    const b = segs.tail.length ? base.builder.clone() : base.builder;
    let flows = base.flows;
    for (const t of segs.tail) flows += await fold(b, t);
    const g = segs.tail.length || !this.useCache ? b.result() : b.clone().result();
    const out: GraphResponse = { ...g, window, totals: { flows: flows - g.hidden.flows, nodes: g.nodes.length, edges: g.edges.length } };
    if (q.focus) out.series = await this.series(q.focus, allowed ? [...allowed] : null, q, fromMinute, toMinute);
    return out;
  }

  /** pairing keys of the policy-verdict halves among the allowed contexts (cached with them) */
  private verdictKeys(allowed: Set<number>): Set<string> {
    if (this.matched?.ids === allowed && this.matched.verdictKeys) return this.matched.verdictKeys;
    const keys = new Set<string>();
    for (const id of allowed) {
      const pair = this.catalog.graphOf(id)?.pair;
      if (pair?.side === "verdict") keys.add(pair.key);
    }
    if (this.matched?.ids === allowed) this.matched.verdictKeys = keys;
    return keys;
  }

  /** contexts a filter lets through (null: all); contexts are only ever added, so the catalog size keys it */
  private allowedContexts(filter: FlowFilterSpec): Set<number> | null {
    const key = JSON.stringify(filter);
    const size = this.catalog.size;
    if (this.matched?.key === key && this.matched.size === size) return this.matched.ids;
    const ids = this.catalog.matching(filter);
    this.matched = { key, size, ids: ids ? new Set(ids) : null };
    return this.matched.ids;
  }

  /**
   * The window as segments of groups: settled whole blocks and settled single minutes come from
   * the cache (read once), the unsettled tail from the in-memory newest minutes (or SQL without a
   * feed). This keeps a 1 h map over 10M flows from re-aggregating ~1M rollup rows on every
   * refresh of an open page.
   */
  private async segments(fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<Segments> {
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
  private async pairKnown(ids: Iterable<number>): Promise<(id: number) => PairInfo | undefined> {
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
    const info = await this.pairKnown(entries.map((e) => e.ctxId));
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
    const info = await this.pairKnown(entries.map((e) => e.ctxId));
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

  /** flows per bucket (≥ 1 minute each) of the window for one node or edge */
  private async series(focus: string, ids: number[] | null, q: GraphQuery, fromMinute: number, toMinute: number): Promise<GraphResponse["series"]> {
    const minutes = toMinute - fromMinute;
    const per = Math.max(1, Math.ceil(minutes / (q.buckets ?? 60)));
    const n = Math.ceil(minutes / per);
    const counts = new Array<number>(n).fill(0);
    const on = this.catalog.onElement(focus, ids);
    if (on.length) {
      const p = new SqlParams();
      const where = [`minute >= ${p.add(fromMinute, "::int")}`, `minute < ${p.add(toMinute, "::int")}`, `ctx_id = ANY(${p.add(on, "::int[]")})`];
      if (q.l4?.length) where.push(`l4 = ANY(${p.add(q.l4, "::int[]")})`);
      const rows = await this.db.api.query<{ minute: number; n: string }>(
        `SELECT minute, sum(flows)::text AS n FROM flow_rollups WHERE ${where.join(" AND ")} GROUP BY minute`,
        p.values,
        { signal: q.signal },
      );
      for (const r of rows) counts[Math.floor((r.minute - fromMinute) / per)] += Number(r.n);
      // a denied packet counts once here too: take out the paired drop events of each minute
      const info = await this.pairKnown(on);
      const pairable = on.filter((id) => info(id));
      if (pairable.length) {
        const perMinute = await readPerMinute(this.db.api, "minute >= $1::int AND minute < $2::int AND ctx_id = ANY($3::int[])", [fromMinute, toMinute, pairable], q.signal);
        for (const [minute, list] of perMinute) {
          const kept = q.l4?.length ? list.filter((e) => q.l4!.includes(e.counts.l4)) : list;
          const n = pairedDropEvents(
            kept.map((e) => ({ ctxId: e.ctxId, minute, l4: e.counts.l4, port: e.counts.port, count: e.counts.flows })),
            info,
          );
          counts[Math.floor((minute - fromMinute) / per)] -= n.reduce((a, b) => a + b, 0);
        }
      }
    }
    return { startNs: (BigInt(fromMinute) * NS_PER_MINUTE).toString(), bucketNs: (BigInt(per) * NS_PER_MINUTE).toString(), counts };
  }
}

/** Rollups are per minute: a window widens to whole minutes, and the answer says so. */
function windowOf(q: GraphQuery): { fromMinute: number; toMinute: number; window: GraphResponse["window"] } {
  const fromMinute = minuteOf(q.sinceNs);
  const toMinute = Math.max(fromMinute + 1, minuteOf(q.untilNs - 1n) + 1);
  return {
    fromMinute,
    toMinute,
    window: { sinceNs: (BigInt(fromMinute) * NS_PER_MINUTE).toString(), untilNs: (BigInt(toMinute) * NS_PER_MINUTE).toString(), live: q.live ?? false },
  };
}

const KEY = Symbol.for("flowlens.graph-repo");
type Holder = { [KEY]?: WeakMap<object, GraphRepo> };

/** One repo per writer (per runtime): decoded contexts and folded minutes are worth keeping between requests. */
export function graphRepoFor(rt: { db: Database; writer: { dimensions: DimensionRepo; rollupFeed?: RollupFeed } }): GraphRepo {
  const g = globalThis as typeof globalThis & Holder;
  const map = (g[KEY] ??= new WeakMap());
  let repo = map.get(rt.writer);
  if (!repo) {
    repo = new GraphRepo(rt.db, new GraphCatalog(contextCatalogFor(rt.writer.dimensions)), { feed: rt.writer.rollupFeed });
    map.set(rt.writer, repo);
  }
  return repo;
}

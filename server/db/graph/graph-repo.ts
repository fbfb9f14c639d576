/**
 * The service map for a time window, built from the per-minute rollups (never raw flows): one
 * GROUP BY over the window's rollup rows per (context, L4, port), the L7 counters summed only over
 * rows that have any (most traffic has no L7 visibility), and the context side — nodes, reply
 * orientation, verdict, policies — from contexts decoded once and kept in memory. Context filters
 * (namespace, verdict, cluster, …) use the shared hubble matcher over those contexts, the same way
 * FlowReader does, so /map and /flows agree on what a filter means.
 */
import { pairedDropEvents } from "@/server/domain/connections/denied-packets";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { GraphBuilder } from "@/server/domain/graph/graph-build";
import type { GraphContext } from "@/server/domain/graph/graph-context";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import type { Database } from "../connection";
import { SqlParams } from "../flows/flow-sql";
import { GraphCatalog } from "./graph-catalog";
import { minuteOf, readPerMinute, type Entry } from "./graph-entries";
import type { Segment } from "./graph-segment";
import { GraphSegments, type GraphRepoOptions } from "./graph-segments";


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


/** folded settled parts kept, one per (filter, span): a few open pages with different views */
const MAX_FOLDED = 16;

export class GraphRepo {
  private readonly segs: GraphSegments;
  private readonly useCache: boolean;
  private readonly now: () => number;
  /** the settled part folded into nodes/edges, per query: a refresh adds only the tail to a copy */
  private readonly folded = new Map<string, { source: string; builder: GraphBuilder; flows: number }>();
  private matched: { key: string; size: number; ids: Set<number> | null; verdictKeys?: Set<string> } | undefined;

  constructor(
    private readonly db: Database,
    readonly catalog: GraphCatalog,
    opts: GraphRepoOptions = {},
  ) {
    this.useCache = opts.cache ?? true;
    this.now = opts.now ?? Date.now;
    this.segs = new GraphSegments(db, catalog, opts);
    // retention and repair remove rollups: nothing folded from them may outlive that
    opts.feed?.subscribe({ rows() {}, reset: () => this.folded.clear() });
  }

  /** segment reads done from SQL (for tests and the bench) */
  get sqlReads(): number {
    return this.segs.sqlReads;
  }

  /**
   * Run once after a start: decodes the contexts and reads the last hour's rollups, so the first
   * map someone opens does not pay for that (seconds at 20k contexts / 10M flows an hour).
   */
  async warm(nowMs = this.now()): Promise<void> {
    await this.catalog.warm();
    const untilNs = BigInt(nowMs) * 1_000_000n;
    await this.graph({ filter: {}, sinceNs: untilNs - 60n * NS_PER_MINUTE, untilNs, live: true });
    await this.segs.prefetched();
  }

  /** SQL loads of the in-memory newest minutes (for tests) */
  get recentLoads(): number {
    return this.segs.recentLoads;
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
    const segs = await this.segs.window(fromMinute, toMinute, q.signal);
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
      const info = await this.segs.pairInfo(on);
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

/**
 * The service map for a time window, built from the per-minute rollups (never raw flows): one
 * GROUP BY over the window's rollup rows per (context, L4, port), the L7 counters summed only over
 * rows that have any (most traffic has no L7 visibility), and the context side — nodes, reply
 * orientation, verdict, policies — from contexts decoded once and kept in memory. Context filters
 * (namespace, verdict, cluster, …) use the shared hubble matcher over those contexts, the same way
 * FlowReader does, so /map and /flows agree on what a filter means.
 */
import { GraphBuilder, DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS, type GraphCounts } from "@/server/domain/graph-build";
import { edgeId, graphContext, type GraphContext } from "@/server/domain/graph-context";
import type { FlowFilterSpec } from "@/server/domain/flow-filter-spec";
import type { FlowItem, FlowJson } from "@/server/domain/flow-item";
import { compileMatcher } from "@/server/domain/flow-match";
import type { GraphResponse } from "@/server/domain/graph-types";
import type { Database } from "./connection";
import type { DimensionRepo } from "./dimension-repo";
import { contextCatalogFor, type CatalogEntry, type ContextCatalog } from "./context-catalog";
import { SqlParams, hasConditions } from "./flow-sql";

export const NS_PER_MINUTE = 60_000_000_000n;

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
}

interface GraphEntry extends CatalogEntry {
  graph: GraphContext;
}

/** The shared context catalog plus each context's graph endpoints, derived once per context. */
export class GraphCatalog {
  private readonly byId = new Map<number, GraphEntry>();

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
    }
    return e;
  }

  get size(): number {
    return this.contexts.all().length;
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

  /** ids of contexts on a node (either end) or an edge, by their map ids */
  onElement(id: string, among: number[] | null): number[] {
    const ids = among ?? this.contexts.all().map((e) => e.id);
    return ids
      .map((i) => this.get(i))
      .filter((e): e is GraphEntry => !!e)
      .filter((e) => (id.includes("->") ? edgeId(e.graph.from, e.graph.to) === id : e.graph.from.id === id || e.graph.to.id === id))
      .map((e) => e.id);
  }
}

interface AggRow {
  ctx_id: number;
  l4: number;
  port: number;
  minute?: number;
  flows: string;
  first_ts: string;
  last_ts: string;
  http_requests: string;
  dns_requests: string;
}

interface L7Row {
  ctx_id: number;
  l4: number;
  port: number;
  minute?: number;
  hs: string[];
  dr: string[];
  lh: string[];
}

/** one (context, L4, port) group of a time segment */
interface Entry {
  ctxId: number;
  counts: GraphCounts;
}

/** sum(col[i]) for each array position, as one int8[] (PostgreSQL arrays are 1-based) */
function arraySums(col: string, n: number): string {
  return `ARRAY[${Array.from({ length: n }, (_, i) => `sum(${col}[${i + 1}])`).join(", ")}]::int8[]`;
}

const zeros = (n: number) => `'{${new Array(n).fill(0).join(",")}}'::int[]`;
const NONE = {
  hs: Object.freeze(new Array<number>(HTTP_CLASSES).fill(0)),
  dr: Object.freeze(new Array<number>(DNS_RCODES).fill(0)),
  lh: Object.freeze(new Array<number>(LATENCY_BUCKETS).fill(0)),
};
const L7_ROW = `(http_requests > 0 OR dns_requests > 0 OR http_status <> ${zeros(HTTP_CLASSES)} OR dns_rcodes <> ${zeros(DNS_RCODES)})`;
/** counts of every group; the L7 arrays are summed by a second query over L7 rows only */
const MAIN_COLUMNS = `ctx_id, l4, port, sum(flows)::text AS flows, min(first_ts)::text AS first_ts, max(last_ts)::text AS last_ts,
  sum(http_requests)::text AS http_requests, sum(dns_requests)::text AS dns_requests`;
const L7_COLUMNS = `ctx_id, l4, port, ${arraySums("http_status", HTTP_CLASSES)} AS hs, ${arraySums("dns_rcodes", DNS_RCODES)} AS dr,
  ${arraySums("latency_hist", LATENCY_BUCKETS)} AS lh`;

function entryOf(r: AggRow, x: L7Row | undefined): Entry {
  return {
    ctxId: r.ctx_id,
    counts: {
      l4: r.l4,
      port: r.port,
      flows: Number(r.flows),
      firstNs: BigInt(r.first_ts),
      lastNs: BigInt(r.last_ts),
      httpRequests: Number(r.http_requests),
      dnsRequests: Number(r.dns_requests),
      httpStatus: x ? x.hs.map(Number) : NONE.hs,
      dnsRcodes: x ? x.dr.map(Number) : NONE.dr,
      latencyHist: x ? x.lh.map(Number) : NONE.lh,
      l7: x !== undefined || Number(r.http_requests) > 0 || Number(r.dns_requests) > 0,
    },
  };
}

function addArrays(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x + (b[i] ?? 0));
}

/** Sums entries of several segments per (context, L4, port). */
export function mergeEntries(segments: Entry[][]): Entry[] {
  if (segments.length === 1) return segments[0];
  const byCtx = new Map<number, Map<number, Entry>>();
  for (const seg of segments) {
    for (const e of seg) {
      let ports = byCtx.get(e.ctxId);
      if (!ports) byCtx.set(e.ctxId, (ports = new Map()));
      const k = e.counts.l4 * 65_536 + e.counts.port;
      const m = ports.get(k);
      if (!m) {
        ports.set(k, { ctxId: e.ctxId, counts: { ...e.counts } });
        continue;
      }
      const a = m.counts;
      const b = e.counts;
      a.flows += b.flows;
      if (b.firstNs < a.firstNs) a.firstNs = b.firstNs;
      if (b.lastNs > a.lastNs) a.lastNs = b.lastNs;
      if (b.l7 !== false) {
        a.httpRequests += b.httpRequests;
        a.dnsRequests += b.dnsRequests;
        a.httpStatus = addArrays(a.httpStatus, b.httpStatus);
        a.dnsRcodes = addArrays(a.dnsRcodes, b.dnsRcodes);
        a.latencyHist = addArrays(a.latencyHist, b.latencyHist);
        a.l7 = true;
      }
    }
  }
  const out: Entry[] = [];
  for (const ports of byCtx.values()) for (const e of ports.values()) out.push(e);
  return out;
}

export function minuteOf(ns: bigint): number {
  // floor for negative times too (BigInt division truncates)
  const q = ns / NS_PER_MINUTE;
  return Number(ns < 0n && q * NS_PER_MINUTE !== ns ? q - 1n : q);
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

interface Cached {
  at: number;
  entries: Entry[];
}

export interface GraphRepoOptions {
  /** turn the segment cache off (tests compare both ways) */
  cache?: boolean;
  now?: () => number;
}

export class GraphRepo {
  /** "b:<first minute>" (a block) or "m:<minute>" → its groups; filter-independent */
  private readonly cache = new Map<string, Cached>();
  private readonly useCache: boolean;
  private readonly now: () => number;
  private merged: { key: string; at: number; entries: Entry[] } | undefined;
  /** segment reads done from SQL (for tests and the bench) */
  sqlReads = 0;

  constructor(
    private readonly db: Database,
    readonly catalog: GraphCatalog,
    opts: GraphRepoOptions = {},
  ) {
    this.useCache = opts.cache ?? true;
    this.now = opts.now ?? Date.now;
  }

  async graph(q: GraphQuery): Promise<GraphResponse> {
    // rollups are per minute: the window widens to whole minutes, and the answer says so
    const fromMinute = minuteOf(q.sinceNs);
    const toMinute = Math.max(fromMinute + 1, minuteOf(q.untilNs - 1n) + 1);
    const window = {
      sinceNs: (BigInt(fromMinute) * NS_PER_MINUTE).toString(),
      untilNs: (BigInt(toMinute) * NS_PER_MINUTE).toString(),
      live: q.live ?? false,
    };
    const [, segments] = await Promise.all([this.catalog.refresh(), this.segments(fromMinute, toMinute)]);
    const ids = this.catalog.matching(q.filter);
    const b = new GraphBuilder({ hideNoise: q.hideNoise ?? true });
    const allowed = ids ? new Set(ids) : null;
    const l4 = q.l4?.length ? new Set(q.l4) : null;
    let flows = 0;
    let refreshed = false;
    for (const seg of segments) {
      for (const { ctxId, counts } of seg) {
        if (allowed && !allowed.has(ctxId)) continue;
        if (l4 && !l4.has(counts.l4)) continue;
        let e = this.catalog.get(ctxId);
        if (!e && !refreshed) {
          // a context stored after our refresh but before the rollup read
          refreshed = true;
          await this.catalog.refresh();
          e = this.catalog.get(ctxId);
          if (e && allowed && !this.catalog.matchesOne(q.filter, ctxId)) continue;
        }
        if (!e) continue;
        b.add(e.graph, counts);
        flows += counts.flows;
      }
    }
    const g = b.result();
    const out: GraphResponse = { ...g, window, totals: { flows: flows - g.hidden.flows, nodes: g.nodes.length, edges: g.edges.length } };
    if (q.focus) out.series = await this.series(q.focus, ids, q, fromMinute, toMinute);
    return out;
  }

  /**
   * The window as segments of groups: settled whole blocks and settled single minutes come from
   * the cache (read once), the unsettled tail straight from SQL. This keeps a 1 h map over 10M
   * flows from re-aggregating ~1M rollup rows on every refresh of an open page.
   */
  private async segments(fromMinute: number, toMinute: number): Promise<Entry[][]> {
    if (!this.useCache) return [await this.read(fromMinute, toMinute)];
    const newest = await this.db.query<{ m: number | null }>("SELECT max(minute) AS m FROM flow_rollups");
    const settledBefore = newest[0]?.m == null ? fromMinute : Math.min(toMinute, newest[0].m - SETTLE_MINUTES + 1);
    const out: Entry[][] = [];
    const now = this.now();
    const fresh = (key: string) => {
      const c = this.cache.get(key);
      return c && now - c.at < CACHE_TTL_MS ? c : undefined;
    };
    const put = (key: string, entries: Entry[]) => {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { at: now, entries });
    };
    const cachedUntil = Math.min(toMinute, settledBefore);
    // only minutes that hold rollups: a 31-day window over a sparse store must not walk 44k minutes
    const present = cachedUntil > fromMinute ? await this.minutesWithData(fromMinute, cachedUntil) : [];
    const missingMinutes: number[] = [];
    const blocksDone = new Set<number>();
    for (const mm of present) {
      const block = mm - (((mm % BLOCK_MINUTES) + BLOCK_MINUTES) % BLOCK_MINUTES);
      if (block >= fromMinute && block + BLOCK_MINUTES <= cachedUntil) {
        if (blocksDone.has(block)) continue;
        blocksDone.add(block);
        const key = `b:${block}`;
        let c = fresh(key);
        if (!c) {
          put(key, await this.read(block, block + BLOCK_MINUTES));
          c = this.cache.get(key)!;
        }
        out.push(c.entries);
      } else {
        const c = fresh(`m:${mm}`);
        if (c) out.push(c.entries);
        else missingMinutes.push(mm);
      }
    }
    if (missingMinutes.length) {
      const byMinute = await this.readByMinute(missingMinutes);
      for (const mm of missingMinutes) {
        const entries = byMinute.get(mm) ?? [];
        put(`m:${mm}`, entries);
        out.push(entries);
      }
    }
    const tail = Math.max(fromMinute, cachedUntil);
    // an open page polls the same window every second: merge its settled segments once per minute,
    // so each poll folds one entry per (context, L4, port) plus the unsettled tail
    const spanKey = `${fromMinute}:${cachedUntil}`;
    let merged = this.merged?.key === spanKey && now - this.merged.at < CACHE_TTL_MS ? this.merged.entries : undefined;
    if (!merged) {
      merged = mergeEntries(out);
      this.merged = { key: spanKey, at: now, entries: merged };
    }
    const result = [merged];
    if (tail < toMinute) result.push(await this.read(tail, toMinute));
    return result;
  }

  /** distinct minutes in [from, to) that have rollups, by a loose index scan on the primary key */
  private async minutesWithData(fromMinute: number, toMinute: number): Promise<number[]> {
    const rows = await this.db.query<{ m: number }>(
      `WITH RECURSIVE t(m) AS (
         SELECT min(minute) FROM flow_rollups WHERE minute >= $1::int AND minute < $2::int
         UNION ALL
         SELECT (SELECT min(minute) FROM flow_rollups WHERE minute > t.m AND minute < $2::int) FROM t WHERE t.m IS NOT NULL
       ) SELECT m FROM t WHERE m IS NOT NULL`,
      [fromMinute, toMinute],
    );
    return rows.map((r) => r.m);
  }

  private async read(fromMinute: number, toMinute: number): Promise<Entry[]> {
    this.sqlReads++;
    const where = `minute >= $1::int AND minute < $2::int`;
    const [rows, l7] = await Promise.all([
      this.db.query<AggRow>(`SELECT ${MAIN_COLUMNS} FROM flow_rollups WHERE ${where} GROUP BY ctx_id, l4, port`, [fromMinute, toMinute]),
      this.db.query<L7Row>(`SELECT ${L7_COLUMNS} FROM flow_rollups WHERE ${where} AND ${L7_ROW} GROUP BY ctx_id, l4, port`, [fromMinute, toMinute]),
    ]);
    const byKey = new Map(l7.map((x) => [`${x.ctx_id}|${x.l4}|${x.port}`, x]));
    return rows.map((r) => entryOf(r, byKey.get(`${r.ctx_id}|${r.l4}|${r.port}`)));
  }

  private async readByMinute(minutes: number[]): Promise<Map<number, Entry[]>> {
    this.sqlReads++;
    const where = `minute = ANY($1::int[])`;
    const [rows, l7] = await Promise.all([
      this.db.query<AggRow>(`SELECT minute, ${MAIN_COLUMNS} FROM flow_rollups WHERE ${where} GROUP BY minute, ctx_id, l4, port`, [minutes]),
      this.db.query<L7Row>(`SELECT minute, ${L7_COLUMNS} FROM flow_rollups WHERE ${where} AND ${L7_ROW} GROUP BY minute, ctx_id, l4, port`, [minutes]),
    ]);
    const byKey = new Map(l7.map((x) => [`${x.minute}|${x.ctx_id}|${x.l4}|${x.port}`, x]));
    const out = new Map<number, Entry[]>();
    for (const r of rows) {
      let list = out.get(r.minute!);
      if (!list) out.set(r.minute!, (list = []));
      list.push(entryOf(r, byKey.get(`${r.minute}|${r.ctx_id}|${r.l4}|${r.port}`)));
    }
    return out;
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
      const rows = await this.db.query<{ minute: number; n: string }>(
        `SELECT minute, sum(flows)::text AS n FROM flow_rollups WHERE ${where.join(" AND ")} GROUP BY minute`,
        p.values,
      );
      for (const r of rows) counts[Math.floor((r.minute - fromMinute) / per)] += Number(r.n);
    }
    return { startNs: (BigInt(fromMinute) * NS_PER_MINUTE).toString(), bucketNs: (BigInt(per) * NS_PER_MINUTE).toString(), counts };
  }
}

const KEY = Symbol.for("flowlens.graph-repo");
type Holder = { [KEY]?: WeakMap<object, GraphRepo> };

/** One catalog per runtime: decoded contexts are worth keeping between requests. */
export function graphRepoFor(rt: { db: Database; writer: { dimensions: DimensionRepo } }): GraphRepo {
  const g = globalThis as typeof globalThis & Holder;
  const map = (g[KEY] ??= new WeakMap());
  let repo = map.get(rt);
  if (!repo) {
    repo = new GraphRepo(rt.db, new GraphCatalog(contextCatalogFor(rt.writer.dimensions)));
    map.set(rt, repo);
  }
  return repo;
}

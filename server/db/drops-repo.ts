/**
 * Dropped flows grouped for the audit view. Counting happens in SQL per (context, protocol, port,
 * HTTP request) — contexts are shared by many flows, so that GROUP BY is small — and the context
 * part (endpoints, policies, verdict, reason) is joined in memory from the decoded contexts, the
 * same way FlowReader filters: compileMatcher over distinct contexts → context ids.
 */
import { groupDrops, type DropGroup, type DropSlice } from "@/server/domain/drop-group";
import { dropReasonName, dropReasonNumber } from "@/server/domain/drop-reasons";
import type { FlowFilterSpec } from "@/server/domain/flow-filter-spec";
import type { Database } from "./connection";
import type { DimensionRepo } from "./dimension-repo";
import { contextCatalogFor, type CatalogEntry, type ContextCatalog } from "./context-catalog";
import { HTTP_PATH_SQL, SqlParams, flowConditions, hasConditions, splitSpec } from "./flow-sql";

export type { CatalogEntry, ContextCatalog };


export interface RangeQuery {
  filter: FlowFilterSpec;
  sinceNs?: bigint;
  untilNs?: bigint;
  /** the request's: cancels the running query when its client goes away */
  signal?: AbortSignal;
}

/** WHERE for flows of the given contexts, the per-flow filter part and the time range. */
export function flowWhere(ids: number[], flowSpec: FlowFilterSpec, q: RangeQuery, p: SqlParams): string {
  const where = [`f.ctx_id = ANY(${p.add(ids, "::int[]")})`, ...flowConditions(flowSpec, p)];
  if (q.sinceNs !== undefined) where.push(`f.ts >= ${p.add(q.sinceNs.toString(), "::bigint")}`);
  if (q.untilNs !== undefined) where.push(`f.ts < ${p.add(q.untilNs.toString(), "::bigint")}`);
  return where.join(" AND ");
}

const DROPPED = 2;
const AUDIT = 4;
/** What /drops shows when the filter names no verdict. */
export const DROP_VERDICTS = [DROPPED, AUDIT];

interface SliceRow {
  ctx_id: number;
  l4: number;
  icmp_type: number | null;
  dport: number | null;
  http_method: string | null;
  http_path: string | null;
  n: number;
  first: string;
  last: string;
}

export interface DropTimeline {
  startNs: string;
  bucketNs: string;
  buckets: number;
  series: { reason: number; name: string; counts: number[] }[];
}

export interface DropsResult {
  groups: DropGroup[];
  total: number;
  timeline: DropTimeline;
}

export class DropsRepo {
  constructor(
    private readonly db: Database,
    readonly catalog: ContextCatalog,
  ) {}

  /** The filter with /drops' default verdicts (DROPPED and AUDIT) when it names none. */
  static dropFilter(filter: FlowFilterSpec): FlowFilterSpec {
    return filter.verdict?.length ? filter : { ...filter, verdict: DROP_VERDICTS };
  }

  async grouped(q: RangeQuery, buckets = 60): Promise<DropsResult> {
    const { context, flow } = splitSpec(DropsRepo.dropFilter(q.filter));
    const entries = hasConditions(context) ? await this.catalog.matching(context) : [];
    const ids = entries.map((e) => e.id);
    const emptyTimeline = { startNs: String(q.sinceNs ?? 0n), bucketNs: "0", buckets: 0, series: [] };
    if (!ids.length) return { groups: [], total: 0, timeline: emptyTimeline };

    const p = new SqlParams();
    const where = flowWhere(ids, flow, q, p);
    const rows = await this.db.api.query<SliceRow>(
      `SELECT f.ctx_id, f.l4, CASE WHEN f.l4 IN (3, 4) THEN f.sport END AS icmp_type, f.dport,
         CASE WHEN f.l7_kind = 101 THEN upper(f.http_method) END AS http_method,
         CASE WHEN f.l7_kind = 101 THEN ${HTTP_PATH_SQL} END AS http_path,
         count(*)::int AS n, min(f.ts)::text AS first, max(f.ts)::text AS last
       FROM flows f WHERE ${where}
       GROUP BY 1, 2, 3, 4, 5, 6`,
      p.values,
      { signal: q.signal },
    );
    const slices: DropSlice[] = rows.map((r) => {
      const e = this.catalog.get(r.ctx_id)!;
      return {
        flow: e.item.flow,
        nodeName: e.item.node_name,
        l4: r.l4,
        port: r.dport,
        icmpType: r.icmp_type,
        httpMethod: r.http_method,
        httpPath: r.http_path,
        count: r.n,
        firstNs: BigInt(r.first),
        lastNs: BigInt(r.last),
      };
    });
    const groups = groupDrops(slices);
    const total = slices.reduce((s, x) => s + x.count, 0);
    if (!slices.length) return { groups, total, timeline: emptyTimeline };

    // timeline over the asked range, or over what was found when the range is open
    const start = q.sinceNs ?? slices.reduce((m, s) => (s.firstNs < m ? s.firstNs : m), slices[0].firstNs);
    const end = q.untilNs ?? slices.reduce((m, s) => (s.lastNs > m ? s.lastNs : m), slices[0].lastNs) + 1n;
    const span = end > start ? end - start : 1n;
    const bucketNs = (span + BigInt(buckets) - 1n) / BigInt(buckets) || 1n;
    const tp = new SqlParams();
    const twhere = flowWhere(
      [...new Set(rows.map((r) => r.ctx_id))],
      flow,
      { ...q, sinceNs: start, untilNs: end },
      tp,
    );
    const trows = await this.db.api.query<{ b: number; ctx_id: number; n: number }>(
      `SELECT ((f.ts - ${tp.add(start.toString(), "::bigint")}) / ${tp.add(bucketNs.toString(), "::bigint")})::int AS b,
         f.ctx_id, count(*)::int AS n
       FROM flows f WHERE ${twhere} GROUP BY 1, 2`,
      tp.values,
      { signal: q.signal },
    );
    const byReason = new Map<number, number[]>();
    for (const r of trows) {
      const reason = dropReasonNumber(this.catalog.get(r.ctx_id)!.item.flow.drop_reason_desc as string | number);
      let counts = byReason.get(reason);
      if (!counts) byReason.set(reason, (counts = new Array<number>(buckets).fill(0)));
      if (r.b >= 0 && r.b < buckets) counts[r.b] += r.n;
    }
    return {
      groups,
      total,
      timeline: {
        startNs: start.toString(),
        bucketNs: bucketNs.toString(),
        buckets,
        series: [...byReason]
          .map(([reason, counts]) => ({ reason, name: dropReasonName(reason), counts }))
          .sort((a, b) => b.counts.reduce((s, x) => s + x, 0) - a.counts.reduce((s, x) => s + x, 0)),
      },
    };
  }
}

const KEY = Symbol.for("flowlens.drops-repo");
type Holder = { [KEY]?: WeakMap<object, { drops: DropsRepo; catalog: ContextCatalog }> };

/** One catalog per runtime (the decoded contexts are worth keeping between requests). */
export function dropsRepoFor(rt: { db: Database; writer: { dimensions: DimensionRepo } }): DropsRepo {
  const g = globalThis as typeof globalThis & Holder;
  const map = (g[KEY] ??= new WeakMap());
  let hit = map.get(rt);
  if (!hit) {
    const catalog = contextCatalogFor(rt.writer.dimensions);
    hit = { catalog, drops: new DropsRepo(rt.db, catalog) };
    map.set(rt, hit);
  }
  return hit.drops;
}

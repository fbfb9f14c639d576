/**
 * Flows of a window counted per (context, L4 kind, server port), the input of every connection
 * outcome (server/domain/connections): contexts that can be one half of a denied packet are also
 * split per minute, so the drop-event and policy-verdict halves pair exactly as they do on the
 * per-minute rollups (docs/adr/0005). Filters work as everywhere: the context part over the shared
 * catalog, the per-flow part in SQL.
 */
import { countDeniedOnce, type CountRow } from "@/server/domain/connections/denied-packets";
import { connectionOutcomes, type ConnectionOutcome, type ObservedRow } from "@/server/domain/connections/outcome";
import { pairInfoOf } from "@/server/domain/connections/pair-cache";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { Database } from "../connection";
import type { CatalogEntry, ContextCatalog } from "../flows/context-catalog";
import { SqlParams, flowConditions, splitSpec } from "../flows/flow-sql";

export interface RangeQuery {
  filter: FlowFilterSpec;
  sinceNs?: bigint;
  untilNs?: bigint;
  /** the request's: cancels the running query when its client goes away */
  signal?: AbortSignal;
}

/** minute of a flow, as the rollups count it (truncated like the writer's BigInt division) */
export const MINUTE_SQL = "(f.ts / 60000000000)::int";
/** the server's port, as the rollups key it (needs `flow_contexts c`) */
export const SERVER_PORT_SQL = "CASE WHEN f.l4 IN (1, 2, 5) THEN CASE WHEN c.is_reply THEN coalesce(f.sport, 0) ELSE coalesce(f.dport, 0) END ELSE 0 END";

/** WHERE for flows of the given contexts, the per-flow filter part and the time range. */
export function flowWhere(ids: number[], flowSpec: FlowFilterSpec, q: RangeQuery, p: SqlParams): string {
  const where = [`f.ctx_id = ANY(${p.add(ids, "::int[]")})`, ...flowConditions(flowSpec, p)];
  if (q.sinceNs !== undefined) where.push(`f.ts >= ${p.add(q.sinceNs.toString(), "::bigint")}`);
  if (q.untilNs !== undefined) where.push(`f.ts < ${p.add(q.untilNs.toString(), "::bigint")}`);
  return where.join(" AND ");
}

export interface ConnectionRow extends ObservedRow, CountRow {
  ctxId: number;
  /** the server port as the rollups key it (ICMP: 0) */
  port: number;
}

/** the contexts a filter's context part lets through (and `extra`), with the per-flow part left for SQL */
export async function contextsFor(catalog: ContextCatalog, filter: FlowFilterSpec, extra?: (e: CatalogEntry) => boolean) {
  const { context, flow } = splitSpec(filter);
  return { entries: await catalog.matching(context, extra), flow };
}

export class ConnectionsRepo {
  constructor(
    private readonly db: Database,
    private readonly catalog: ContextCatalog,
  ) {}

  /** Rows of the window, denied packets counted once. */
  async rows(q: RangeQuery, extra?: (e: CatalogEntry) => boolean): Promise<ConnectionRow[]> {
    const { entries, flow } = await contextsFor(this.catalog, q.filter, extra);
    if (!entries.length) return [];
    const pairable = entries.filter((e) => pairInfoOf(e.item.flow)).map((e) => e.id);
    const p = new SqlParams();
    const where = flowWhere(
      entries.map((e) => e.id),
      flow,
      q,
      p,
    );
    const rows = await this.db.api.query<{ ctx_id: number; minute: number; l4: number; icmp_type: number | null; port: number; n: number; first: string; last: string }>(
      `SELECT f.ctx_id, CASE WHEN f.ctx_id = ANY(${p.add(pairable, "::int[]")}) THEN ${MINUTE_SQL} ELSE 0 END AS minute,
         f.l4, CASE WHEN f.l4 IN (3, 4) THEN f.sport END AS icmp_type, ${SERVER_PORT_SQL} AS port,
         count(*)::int AS n, min(f.ts)::text AS first, max(f.ts)::text AS last
       FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id
       WHERE ${where} GROUP BY 1, 2, 3, 4, 5`,
      p.values,
      { signal: q.signal },
    );
    const counted = countDeniedOnce(
      rows.map((r) => ({ ctxId: r.ctx_id, minute: r.minute, l4: r.l4, port: r.port, count: r.n, first: r.first, last: r.last, icmpType: r.icmp_type })),
      (id) => pairInfoOf(this.catalog.get(id)?.item.flow),
    );
    return counted.map((r) => ({
      ...r,
      flow: this.catalog.get(r.ctxId)!.item.flow,
      firstNs: BigInt(r.first),
      lastNs: BigInt(r.last),
    }));
  }

  async outcomes(q: RangeQuery): Promise<ConnectionOutcome[]> {
    return connectionOutcomes(await this.rows(q));
  }
}

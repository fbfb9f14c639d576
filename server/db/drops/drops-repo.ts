/**
 * Dropped flows grouped for the audit view. Counting happens in SQL per (context, protocol, port,
 * HTTP request, and the minute for contexts that are one half of a denied packet) — contexts are
 * shared by many flows, so that GROUP BY is small — then the drop-event and policy-verdict halves of
 * each denied packet are paired so it counts once (docs/adr/0005), and the context part (endpoints,
 * policies, verdict, reason) is joined in memory from the decoded contexts, the same way FlowReader
 * filters: compileMatcher over distinct contexts → context ids.
 */
import { countDeniedOnce, PairedStream } from "@/server/domain/connections/denied-packets";
import { observe } from "@/server/domain/connections/outcome";
import { pairInfoOf } from "@/server/domain/connections/pair-cache";
import { groupDrops, policyName, type DropGroup, type DropSlice } from "@/server/domain/drops/drop-group";
import { peerKey } from "@/server/domain/shared/peer";
import { POLICY_REASONS, dropReasonName, dropReasonNumber } from "@/server/domain/shared/drop-reasons";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import type { Database } from "../connection";
import type { CatalogEntry, ContextCatalog } from "../flows/context-catalog";
import { MINUTE_SQL, SERVER_PORT_SQL, flowWhere, type RangeQuery } from "../connections/connections-repo";
import { HTTP_PATH_SQL, SqlParams, hasConditions, splitSpec } from "../flows/flow-sql";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

export type { CatalogEntry, ContextCatalog, RangeQuery };
export { flowWhere };

const DROPPED = 2;
const AUDIT = 4;
/** What /drops shows when the filter names no verdict. */
export const DROP_VERDICTS = [DROPPED, AUDIT];

interface SliceRow {
  ctx_id: number;
  minute: number;
  sport_server: number;
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

  private readonly info = (id: number) => pairInfoOf(this.catalog.get(id)?.item.flow);

  private async matching(filter: FlowFilterSpec): Promise<{ entries: CatalogEntry[]; flow: FlowFilterSpec; pairable: number[] }> {
    const { context, flow } = splitSpec(DropsRepo.dropFilter(filter));
    const entries = hasConditions(context) ? await this.catalog.matching(context) : [];
    return { entries, flow, pairable: entries.filter((e) => pairInfoOf(e.item.flow)).map((e) => e.id) };
  }

  async grouped(q: RangeQuery, buckets = 60): Promise<DropsResult> {
    const { entries, flow, pairable } = await this.matching(q.filter);
    const ids = entries.map((e) => e.id);
    const emptyTimeline = { startNs: String(q.sinceNs ?? 0n), bucketNs: "0", buckets: 0, series: [] };
    if (!ids.length) return { groups: [], total: 0, timeline: emptyTimeline };

    const p = new SqlParams();
    const where = flowWhere(ids, flow, q, p);
    const rows = await this.db.api.query<SliceRow>(
      `SELECT f.ctx_id, CASE WHEN f.ctx_id = ANY(${p.add(pairable, "::int[]")}) THEN ${MINUTE_SQL} ELSE 0 END AS minute,
         ${SERVER_PORT_SQL} AS sport_server,
         f.l4, CASE WHEN f.l4 IN (3, 4) THEN f.sport END AS icmp_type, f.dport,
         CASE WHEN f.l7_kind = 101 THEN upper(f.http_method) END AS http_method,
         CASE WHEN f.l7_kind = 101 THEN ${HTTP_PATH_SQL} END AS http_path,
         count(*)::int AS n, min(f.ts)::text AS first, max(f.ts)::text AS last
       FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id WHERE ${where}
       GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
      p.values,
      { signal: q.signal },
    );
    const counted = countDeniedOnce(
      rows.map((r) => ({ ...r, ctxId: r.ctx_id, port: r.sport_server, count: r.n })),
      this.info,
    );
    const slices: DropSlice[] = counted.map((r) => {
      const e = this.catalog.get(r.ctx_id)!;
      return {
        flow: e.item.flow,
        nodeName: e.item.node_name,
        l4: r.l4,
        port: r.dport,
        icmpType: r.icmp_type,
        httpMethod: r.http_method,
        httpPath: r.http_path,
        count: r.count,
        firstNs: BigInt(r.first),
        lastNs: BigInt(r.last),
      };
    });
    const groups = groupDrops(slices);
    await this.nameSelectingPolicies(groups, q);
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
    const trows = await this.db.api.query<{ b: number; ctx_id: number; minute: number; l4: number; port: number; n: number }>(
      `SELECT ((f.ts - ${tp.add(start.toString(), "::bigint")}) / ${tp.add(bucketNs.toString(), "::bigint")})::int AS b,
         f.ctx_id, CASE WHEN f.ctx_id = ANY(${tp.add(pairable, "::int[]")}) THEN ${MINUTE_SQL} ELSE 0 END AS minute,
         f.l4, ${SERVER_PORT_SQL} AS port, count(*)::int AS n
       FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id WHERE ${twhere} GROUP BY 1, 2, 3, 4, 5`,
      tp.values,
      { signal: q.signal },
    );
    // the same pairing as the groups, paired drop events taken from the earliest buckets first
    const tcounted = countDeniedOnce(
      trows.map((r) => ({ ...r, ctxId: r.ctx_id, count: r.n, order: r.b })),
      this.info,
    );
    const byReason = new Map<number, number[]>();
    for (const r of tcounted) {
      const reason = dropReasonNumber(this.catalog.get(r.ctx_id)!.item.flow.drop_reason_desc as string | number);
      let counts = byReason.get(reason);
      if (!counts) byReason.set(reason, (counts = new Array<number>(buckets).fill(0)));
      if (r.b >= 0 && r.b < buckets) counts[r.b] += r.count;
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

  /**
   * For the raw export: which drop events are the second report of a packet whose policy-verdict
   * event is exported as the packet (read newest first, like the export). Built from the same
   * per-minute counts as grouped(), so the rows marked counted add up to its total.
   */
  async pairing(q: RangeQuery): Promise<PairedStream | null> {
    const { flow, pairable } = await this.matching(q.filter);
    if (!pairable.length) return null;
    const p = new SqlParams();
    const rows = await this.db.api.query<{ ctx_id: number; minute: number; l4: number; port: number; n: number }>(
      `SELECT f.ctx_id, ${MINUTE_SQL} AS minute, f.l4, ${SERVER_PORT_SQL} AS port, count(*)::int AS n
       FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id WHERE ${flowWhere(pairable, flow, q, p)} GROUP BY 1, 2, 3, 4`,
      p.values,
      { signal: q.signal },
    );
    return new PairedStream(
      rows.map((r) => ({ ctxId: r.ctx_id, minute: r.minute, l4: r.l4, port: r.port, count: r.n })),
      this.info,
    );
  }

  /**
   * A drop without denied_by still happened because some policy selects the endpoint: name the
   * policies other flows of the window show deciding that endpoint's ingress (or egress).
   */
  private async nameSelectingPolicies(groups: DropGroup[], q: RangeQuery): Promise<void> {
    const unnamed = groups.filter((g) => !g.deniedBy.length && POLICY_REASONS.has(g.reason) && g.direction !== "UNKNOWN");
    if (!unnamed.length) return;
    const subjectKey = (g: DropGroup) => `${g.direction === "INGRESS" ? "ingress" : "egress"}|${peerKey(g.direction === "INGRESS" ? g.dst : g.src)}`;
    const wanted = new Set(unnamed.map(subjectKey));
    const named = new Map<number, { key: string; names: string[] }>();
    for (const e of this.catalog.all()) {
      const o = observe(e.item.flow);
      if (o.end === "unknown") continue;
      const names = [...o.allowedBy, ...o.deniedBy].map(policyName);
      if (!names.length) continue;
      const key = `${o.end}|${peerKey(o.end === "ingress" ? o.server : o.client)}`;
      if (wanted.has(key)) named.set(e.id, { key, names });
    }
    if (!named.size) return;
    const p = new SqlParams();
    const where = [`ctx_id = ANY(${p.add([...named.keys()], "::int[]")})`];
    if (q.sinceNs !== undefined) where.push(`minute >= ${p.add(Number(q.sinceNs / NS_PER_MINUTE), "::int")}`);
    if (q.untilNs !== undefined) where.push(`minute <= ${p.add(Number((q.untilNs - 1n) / NS_PER_MINUTE), "::int")}`);
    const seen = await this.db.api.query<{ ctx_id: number }>(`SELECT DISTINCT ctx_id FROM flow_rollups WHERE ${where.join(" AND ")}`, p.values, {
      signal: q.signal,
    });
    const bySubject = new Map<string, Set<string>>();
    for (const { ctx_id } of seen) {
      const n = named.get(ctx_id)!;
      let set = bySubject.get(n.key);
      if (!set) bySubject.set(n.key, (set = new Set()));
      for (const x of n.names) set.add(x);
    }
    for (const g of unnamed) g.selectedBy = [...(bySubject.get(subjectKey(g)) ?? [])].sort();
  }
}

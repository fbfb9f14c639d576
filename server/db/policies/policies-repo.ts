/**
 * Policies as Hubble names them in allowed_by / denied_by: which flows each allowed and which
 * packets each denied over time (a denied packet counted once, docs/adr/0005), the revisions seen,
 * and the moments a policy changed — every change of a node's revision in flows, repeats after an
 * agent restart included, plus the agents' own policy events where the Relay serves them.
 */
import { countDeniedOnce } from "@/server/domain/connections/denied-packets";
import { pairInfoOf } from "@/server/domain/connections/pair-cache";
import { allowedBy, deniedBy, policyName, type PolicyRef } from "@/server/domain/drops/drop-group";
import { policyMoments, type AgentPolicyEvent, type RevisionMoment, type RevisionSighting } from "@/server/domain/policies/policy-moments";
import type { Database } from "../connection";
import { MINUTE_SQL, SERVER_PORT_SQL, contextsFor, flowWhere, type RangeQuery } from "../connections/connections-repo";
import type { ContextCatalog } from "../flows/context-catalog";
import { SqlParams } from "../flows/flow-sql";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

export type { RevisionMoment };

export interface PolicySeries {
  key: string;
  name: string;
  namespace?: string;
  kind?: string;
  /** flows it allowed */
  allowed: number;
  /** packets it denied (or audited), each counted once */
  denied: number;
  allowedSeries: number[];
  deniedSeries: number[];
  /** revisions seen in the range, oldest first, with the first and last flow naming each */
  revisions: { revision: string; firstNs: string; lastNs: string }[];
}

export interface PoliciesResult {
  startNs: string;
  bucketNs: string;
  buckets: number;
  policies: PolicySeries[];
  moments: RevisionMoment[];
  /** whether the agents' policy events were available to find moments (a Relay does not serve them) */
  agentEvents: boolean;
}

const policyKey = (p: PolicyRef) => `${p.kind ?? ""}|${p.namespace ?? ""}|${p.name}`;

/** Where the agents' policy events come from (the agent-events store), if anywhere. */
export interface AgentEventSource {
  available(): Promise<boolean>;
  policyEvents(sinceNs?: bigint, untilNs?: bigint, signal?: AbortSignal): Promise<AgentPolicyEvent[]>;
}

export class PoliciesRepo {
  constructor(
    private readonly db: Database,
    private readonly catalog: ContextCatalog,
    private readonly agentEvents?: AgentEventSource,
  ) {}

  async overview(q: RangeQuery, buckets = 48): Promise<PoliciesResult> {
    const { entries, flow } = await contextsFor(this.catalog, q.filter, (e) => allowedBy(e.item.flow).length + deniedBy(e.item.flow).length > 0);
    const [moments, agentEvents] = await Promise.all([this.moments(entries.map((e) => e.id), q), this.agentEvents?.available() ?? false]);
    const empty: PoliciesResult = { startNs: String(q.sinceNs ?? 0n), bucketNs: "0", buckets: 0, policies: [], moments, agentEvents };
    if (!entries.length) return empty;
    const ids = entries.map((e) => e.id);
    const pairable = entries.filter((e) => pairInfoOf(e.item.flow)).map((e) => e.id);

    const p = new SqlParams();
    const spans = await this.db.api.query<{ first: string; last: string }>(
      `SELECT min(f.ts)::text AS first, max(f.ts)::text AS last FROM flows f WHERE ${flowWhere(ids, flow, q, p)} HAVING count(*) > 0`,
      p.values,
      { signal: q.signal },
    );
    if (!spans.length) return empty;
    const start = q.sinceNs ?? BigInt(spans[0].first);
    const end = q.untilNs ?? BigInt(spans[0].last) + 1n;
    const bucketNs = ((end > start ? end - start : 1n) + BigInt(buckets) - 1n) / BigInt(buckets) || 1n;
    const tp = new SqlParams();
    const rows = await this.db.api.query<{ b: number; ctx_id: number; minute: number; l4: number; port: number; n: number; first: string; last: string }>(
      `SELECT ((f.ts - ${tp.add(start.toString(), "::bigint")}) / ${tp.add(bucketNs.toString(), "::bigint")})::int AS b, f.ctx_id,
         CASE WHEN f.ctx_id = ANY(${tp.add(pairable, "::int[]")}) THEN ${MINUTE_SQL} ELSE 0 END AS minute,
         f.l4, ${SERVER_PORT_SQL} AS port, count(*)::int AS n, min(f.ts)::text AS first, max(f.ts)::text AS last
       FROM flows f JOIN flow_contexts c ON c.id = f.ctx_id
       WHERE ${flowWhere(ids, flow, { ...q, sinceNs: start, untilNs: end }, tp)} GROUP BY 1, 2, 3, 4, 5`,
      tp.values,
      { signal: q.signal },
    );
    const counted = countDeniedOnce(
      rows.map((r) => ({ ...r, ctxId: r.ctx_id, count: r.n, order: r.b })),
      (id) => pairInfoOf(this.catalog.get(id)?.item.flow),
    );

    const series = new Map<string, PolicySeries & { revs: Map<string, { first: bigint; last: bigint }> }>();
    const entry = (ref: PolicyRef) => {
      const key = policyKey(ref);
      let s = series.get(key);
      if (!s) {
        s = {
          key,
          name: ref.name,
          namespace: ref.namespace,
          kind: ref.kind,
          allowed: 0,
          denied: 0,
          allowedSeries: new Array<number>(buckets).fill(0),
          deniedSeries: new Array<number>(buckets).fill(0),
          revisions: [],
          revs: new Map(),
        };
        series.set(key, s);
      }
      return s;
    };
    const span = (s: ReturnType<typeof entry>, rev: string, first: bigint, last: bigint) => {
      const sp = s.revs.get(rev);
      if (!sp) s.revs.set(rev, { first, last });
      else {
        if (first < sp.first) sp.first = first;
        if (last > sp.last) sp.last = last;
      }
    };
    for (const r of counted) {
      if (r.b < 0 || r.b >= buckets) continue;
      const f = this.catalog.get(r.ctx_id)!.item.flow;
      const first = BigInt(r.first);
      const last = BigInt(r.last);
      for (const ref of allowedBy(f)) {
        const s = entry(ref);
        s.allowed += r.count;
        s.allowedSeries[r.b] += r.count;
        span(s, ref.revision ?? "0", first, last);
      }
      for (const ref of deniedBy(f)) {
        const s = entry(ref);
        s.denied += r.count;
        s.deniedSeries[r.b] += r.count;
        span(s, ref.revision ?? "0", first, last);
      }
    }
    const policies = [...series.values()].map(({ revs, ...s }) => ({
      ...s,
      revisions: [...revs]
        .sort((a, b) => (a[1].first < b[1].first ? -1 : a[1].first > b[1].first ? 1 : 0))
        .map(([revision, v]) => ({ revision, firstNs: v.first.toString(), lastNs: v.last.toString() })),
    }));
    policies.sort((a, b) => b.denied + b.allowed - (a.denied + a.allowed) || a.key.localeCompare(b.key));
    return { startNs: start.toString(), bucketNs: bucketNs.toString(), buckets, policies, moments, agentEvents };
  }

  /**
   * Revision changes per node from the per-minute rollups of the contexts that name policies
   * (first/last flow of each context per minute), merged with the agents' policy events.
   */
  private async moments(ids: number[], q: RangeQuery): Promise<RevisionMoment[]> {
    const events = (await this.agentEvents?.policyEvents(q.sinceNs, q.untilNs, q.signal)) ?? [];
    const ns = q.filter.namespace;
    // a namespace filter keeps the events of that namespace's policies (and agent restarts)
    const kept = ns?.length ? events.filter((e) => !e.policy || ns.some((n) => e.policy!.startsWith(`${n}/`))) : events;
    if (!ids.length) return policyMoments([], kept);
    const p = new SqlParams();
    const where = [`ctx_id = ANY(${p.add(ids, "::int[]")})`];
    if (q.sinceNs !== undefined) where.push(`minute >= ${p.add(Number(q.sinceNs / NS_PER_MINUTE), "::int")}`);
    if (q.untilNs !== undefined) where.push(`minute <= ${p.add(Number((q.untilNs - 1n) / NS_PER_MINUTE), "::int")}`);
    const rows = await this.db.api.query<{ ctx_id: number; first: string; last: string }>(
      `SELECT ctx_id, min(first_ts)::text AS first, max(last_ts)::text AS last FROM flow_rollups WHERE ${where.join(" AND ")} GROUP BY minute, ctx_id`,
      p.values,
      { signal: q.signal },
    );
    const sightings = new Map<string, RevisionSighting & { set: Set<string> }>();
    for (const r of rows) {
      const e = this.catalog.get(r.ctx_id);
      if (!e) continue;
      const first = BigInt(r.first);
      const last = BigInt(r.last);
      if ((q.sinceNs !== undefined && last < q.sinceNs) || (q.untilNs !== undefined && first >= q.untilNs)) continue;
      const f = e.item.flow;
      const node = (typeof f.node_name === "string" && f.node_name) || e.item.node_name || "";
      for (const ref of [...allowedBy(f), ...deniedBy(f)]) {
        if (ref.revision === undefined || !/^\d+$/.test(ref.revision)) continue;
        const key = `${node}|${ref.revision}|${Number(first / NS_PER_MINUTE)}`;
        let s = sightings.get(key);
        if (!s) sightings.set(key, (s = { node, revision: BigInt(ref.revision), firstNs: first, lastNs: last, names: [], set: new Set() }));
        if (first < s.firstNs) s.firstNs = first;
        if (last > s.lastNs) s.lastNs = last;
        s.set.add(policyName(ref));
      }
    }
    return policyMoments(
      [...sightings.values()].map(({ set, ...s }) => ({ ...s, names: [...set] })),
      kept,
    );
  }
}

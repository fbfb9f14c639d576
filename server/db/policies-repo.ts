/**
 * Policies as Hubble names them in allowed_by / denied_by: which flows each allowed and denied over
 * time, the moments a new policy revision first appeared (what /policies offers for before/after),
 * and the connections of a window (for before/after and the namespace suggestion).
 */
import { allowedBy, deniedBy, policyName, type PolicyRef } from "@/server/domain/drop-group";
import { flowPeers } from "@/server/domain/drop-peer";
import { dropReasonName, dropReasonNumber } from "@/server/domain/drop-reasons";
import type { EdgeObservation } from "@/server/domain/policy-diff";
import type { ObservedConnection } from "@/server/domain/policy-suggest";
import type { Database } from "./connection";
import { flowWhere, type CatalogEntry, type ContextCatalog, type RangeQuery } from "./drops-repo";
import { SqlParams, splitSpec } from "./flow-sql";

export interface PolicySeries {
  key: string;
  name: string;
  namespace?: string;
  kind?: string;
  allowed: number;
  denied: number;
  allowedSeries: number[];
  deniedSeries: number[];
  /** revisions seen in the range, oldest first, with the first and last flow naming each */
  revisions: { revision: string; firstNs: string; lastNs: string }[];
}

export interface RevisionMoment {
  /** ns of the first flow carrying the new revision */
  atNs: string;
  revision: string;
  previous: string;
  /** named by flows at the previous revision shortly before the moment, and by none since */
  gone: string[];
  /** named by flows at this revision but not at the previous one */
  appeared: string[];
  /** named at both (their revision moved with the repository) */
  carried: string[];
}

export interface PoliciesResult {
  startNs: string;
  bucketNs: string;
  buckets: number;
  policies: PolicySeries[];
  moments: RevisionMoment[];
}

const VERDICT_NAMES: Record<number, string> = { 1: "FORWARDED", 2: "DROPPED", 4: "AUDIT", 5: "REDIRECTED" };
const EDGE_VERDICTS = [1, 2, 4, 5];

/** How recently before a moment a policy must have been named to count as gone by it. */
const GONE_WINDOW_NS = 5n * 60_000_000_000n;

const policyKey = (p: PolicyRef) => `${p.kind ?? ""}|${p.namespace ?? ""}|${p.name}`;
const L4_NAMES = ["", "TCP", "UDP", "ICMPv4", "ICMPv6", "SCTP"];

export class PoliciesRepo {
  constructor(
    private readonly db: Database,
    private readonly catalog: ContextCatalog,
  ) {}

  private async contexts(q: RangeQuery, extra: (e: CatalogEntry) => boolean): Promise<{ entries: CatalogEntry[]; flow: RangeQuery["filter"] }> {
    const { context, flow } = splitSpec(q.filter);
    return { entries: await this.catalog.matching(context, extra), flow };
  }

  async overview(q: RangeQuery, buckets = 48): Promise<PoliciesResult> {
    const { entries, flow } = await this.contexts(q, (e) => allowedBy(e.item.flow).length + deniedBy(e.item.flow).length > 0);
    const empty: PoliciesResult = { startNs: String(q.sinceNs ?? 0n), bucketNs: "0", buckets: 0, policies: [], moments: [] };
    if (!entries.length) return empty;
    const ids = entries.map((e) => e.id);

    const p = new SqlParams();
    const spans = await this.db.api.query<{ ctx_id: number; first: string; last: string; n: number }>(
      `SELECT f.ctx_id, min(f.ts)::text AS first, max(f.ts)::text AS last, count(*)::int AS n
       FROM flows f WHERE ${flowWhere(ids, flow, q, p)} GROUP BY 1`,
      p.values,
      { signal: q.signal },
    );
    if (!spans.length) return empty;
    const start = q.sinceNs ?? spans.reduce((m, s) => (BigInt(s.first) < m ? BigInt(s.first) : m), BigInt(spans[0].first));
    const end = q.untilNs ?? spans.reduce((m, s) => (BigInt(s.last) > m ? BigInt(s.last) : m), BigInt(spans[0].last)) + 1n;
    const bucketNs = ((end > start ? end - start : 1n) + BigInt(buckets) - 1n) / BigInt(buckets) || 1n;
    const tp = new SqlParams();
    const seen = spans.map((s) => s.ctx_id);
    const rows = await this.db.api.query<{ b: number; ctx_id: number; n: number }>(
      `SELECT ((f.ts - ${tp.add(start.toString(), "::bigint")}) / ${tp.add(bucketNs.toString(), "::bigint")})::int AS b, f.ctx_id, count(*)::int AS n
       FROM flows f WHERE ${flowWhere(seen, flow, { ...q, sinceNs: start, untilNs: end }, tp)} GROUP BY 1, 2`,
      tp.values,
      { signal: q.signal },
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
    for (const r of rows) {
      const f = this.catalog.get(r.ctx_id)!.item.flow;
      if (r.b < 0 || r.b >= buckets) continue;
      for (const ref of allowedBy(f)) {
        const s = entry(ref);
        s.allowed += r.n;
        s.allowedSeries[r.b] += r.n;
      }
      for (const ref of deniedBy(f)) {
        const s = entry(ref);
        s.denied += r.n;
        s.deniedSeries[r.b] += r.n;
      }
    }
    // revision spans: the first and last flow naming each (policy, revision)
    const byRevision = new Map<string, { first: bigint; names: Set<string>; lastByName: Map<string, bigint> }>();
    for (const sp of spans) {
      const f = this.catalog.get(sp.ctx_id)!.item.flow;
      const first = BigInt(sp.first);
      const last = BigInt(sp.last);
      for (const ref of [...allowedBy(f), ...deniedBy(f)]) {
        const rev = ref.revision ?? "0";
        const s = entry(ref);
        const span = s.revs.get(rev);
        if (!span) s.revs.set(rev, { first, last });
        else {
          if (first < span.first) span.first = first;
          if (last > span.last) span.last = last;
        }
        let r = byRevision.get(rev);
        if (!r) byRevision.set(rev, (r = { first, names: new Set(), lastByName: new Map() }));
        if (first < r.first) r.first = first;
        const n = policyName(ref);
        r.names.add(n);
        if ((r.lastByName.get(n) ?? -1n) < last) r.lastByName.set(n, last);
      }
    }
    const policies = [...series.values()].map(({ revs, ...s }) => ({
      ...s,
      revisions: [...revs]
        .sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1))
        .map(([revision, v]) => ({ revision, firstNs: v.first.toString(), lastNs: v.last.toString() })),
    }));
    policies.sort((a, b) => b.denied + b.allowed - (a.denied + a.allowed) || a.key.localeCompare(b.key));

    // a moment = the first flow of a newer revision; compared with the revision before it
    const revs = [...byRevision].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const moments: RevisionMoment[] = [];
    for (let i = 1; i < revs.length; i++) {
      const [prevRev, prev] = revs[i - 1];
      const [rev, cur] = revs[i];
      moments.push({
        atNs: cur.first.toString(),
        revision: rev,
        previous: prevRev,
        // a policy without traffic for a while is not "gone" because of this change
        gone: [...prev.names].filter((n) => !cur.names.has(n) && cur.first - prev.lastByName.get(n)! <= GONE_WINDOW_NS).sort(),
        appeared: [...cur.names].filter((n) => !prev.names.has(n)).sort(),
        carried: [...cur.names].filter((n) => prev.names.has(n)).sort(),
      });
    }
    return { startNs: start.toString(), bucketNs: bucketNs.toString(), buckets, policies, moments };
  }

  /** Connections (not replies) of a window, with their verdict and deciding policies. */
  async connections(q: RangeQuery): Promise<(EdgeObservation & ObservedConnection)[]> {
    const { entries, flow } = await this.contexts({ ...q, filter: { ...q.filter, verdict: q.filter.verdict ?? EDGE_VERDICTS } }, (e) => e.item.flow.is_reply !== true);
    if (!entries.length) return [];
    const p = new SqlParams();
    const rows = await this.db.api.query<{ ctx_id: number; l4: number; icmp_type: number | null; dport: number | null; n: number }>(
      `SELECT f.ctx_id, f.l4, CASE WHEN f.l4 IN (3, 4) THEN f.sport END AS icmp_type, f.dport, count(*)::int AS n
       FROM flows f WHERE ${flowWhere(entries.map((e) => e.id), flow, q, p)} GROUP BY 1, 2, 3, 4`,
      p.values,
      { signal: q.signal },
    );
    return rows.map((r) => {
      const f = this.catalog.get(r.ctx_id)!.item.flow;
      const { src, dst } = flowPeers(f);
      const v = f.verdict;
      const verdict = typeof v === "number" ? (VERDICT_NAMES[v] ?? String(v)) : (v ?? "VERDICT_UNKNOWN");
      const dropped = verdict === "DROPPED" || verdict === "AUDIT";
      const ported = r.l4 === 1 || r.l4 === 2 || r.l4 === 5;
      const o: EdgeObservation & ObservedConnection = {
        src,
        dst,
        protocol: L4_NAMES[r.l4] ?? String(r.l4),
        verdict,
        count: r.n,
        policies: dropped ? deniedBy(f) : allowedBy(f),
      };
      if (ported && r.dport !== null) o.port = r.dport;
      if (!ported && r.l4 !== 0) o.icmpType = r.icmp_type ?? 0;
      if (dropped) o.reason = dropReasonName(dropReasonNumber(f.drop_reason_desc as string | number));
      return o;
    });
  }
}

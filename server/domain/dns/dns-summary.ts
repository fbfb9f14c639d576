/**
 * The numbers beside the DNS timeline: totals by status, status counts over time, latency
 * percentiles per DNS server, the names that fail most, and the client workloads. Pure.
 */
import { DNS_STATUSES, isFailure, type DnsLookup, type DnsPeer, type DnsQuery, type DnsStatus } from "./dns-types";
import { normalize } from "./dns-names";

export type StatusCounts = Record<DnsStatus, number>;

export function emptyCounts(): StatusCounts {
  return Object.fromEntries(DNS_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

export interface SeriesBucket {
  /** bucket start, ms since epoch */
  t: number;
  counts: StatusCounts;
}

export interface ServerLatency {
  server: string;
  ip: string;
  queries: number;
  answered: number;
  failures: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface FailingName {
  name: string;
  count: number;
  byStatus: Partial<StatusCounts>;
  workloads: string[];
  lastMs: number;
  /** set when this name was a search-path expansion of another name */
  expansionOf: string | null;
}

export interface WorkloadRow {
  workload: string;
  queries: number;
  failures: number;
}

/** Nearest-rank percentile of a sorted list. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function countByStatus(queries: readonly DnsQuery[]): StatusCounts {
  const c = emptyCounts();
  for (const q of queries) c[q.status]++;
  return c;
}

/** Status counts in `buckets` equal slices of [startMs, endMs). */
export function statusSeries(queries: readonly DnsQuery[], startMs: number, endMs: number, buckets: number): { bucketMs: number; buckets: SeriesBucket[] } {
  const n = Math.max(1, Math.floor(buckets));
  const bucketMs = Math.max(1, (endMs - startMs) / n);
  const out: SeriesBucket[] = Array.from({ length: n }, (_, i) => ({ t: startMs + i * bucketMs, counts: emptyCounts() }));
  for (const q of queries) {
    const i = Math.floor((q.tMs - startMs) / bucketMs);
    if (i >= 0 && i < n) out[i].counts[q.status]++;
  }
  return { bucketMs, buckets: out };
}

/** A server by its pod (one slow CoreDNS replica shows up), else its IP. */
export function serverLabel(q: DnsQuery): string {
  const s = q.server;
  if (s.pod) return s.namespace ? `${s.namespace}/${s.pod}` : s.pod;
  return s.workload || s.ip;
}

export function latencyByServer(queries: readonly DnsQuery[]): ServerLatency[] {
  const labels = new Map<DnsPeer, string>();
  const by = new Map<string, { ip: string; queries: number; failures: number; lat: number[] }>();
  for (const q of queries) {
    let k = labels.get(q.server);
    if (k === undefined) labels.set(q.server, (k = serverLabel(q)));
    let s = by.get(k);
    if (!s) by.set(k, (s = { ip: q.server.ip, queries: 0, failures: 0, lat: [] }));
    s.queries++;
    if (isFailure(q.status)) s.failures++;
    if (q.latencyMs !== null) s.lat.push(q.latencyMs);
  }
  return [...by]
    .map(([server, s]) => {
      // a typed array sorts numerically without a comparator call per comparison
      const lat = Float64Array.from(s.lat).sort();
      return {
        server,
        ip: s.ip,
        queries: s.queries,
        answered: lat.length,
        failures: s.failures,
        p50: percentile(lat, 50),
        p95: percentile(lat, 95),
        p99: percentile(lat, 99),
        max: lat.length ? lat[lat.length - 1] : null,
      };
    })
    .sort((a, b) => b.queries - a.queries || a.server.localeCompare(b.server));
}

/** Names whose queries failed most; search-path expansions are marked with the name they expand. */
export function topFailingNames(queries: readonly DnsQuery[], lookups: readonly DnsLookup[], limit = 10): FailingName[] {
  const expansion = new Map<string, string>();
  for (const l of lookups) {
    for (const t of l.tries) if (t.step !== "absolute" && t.status !== "NOERROR") expansion.set(normalize(t.query), l.name);
  }
  const by = new Map<string, { name: string; count: number; byStatus: Partial<StatusCounts>; workloads: Set<string>; lastMs: number }>();
  for (const q of queries) {
    if (!isFailure(q.status)) continue;
    const k = normalize(q.query);
    let f = by.get(k);
    if (!f) by.set(k, (f = { name: q.query, count: 0, byStatus: {}, workloads: new Set(), lastMs: 0 }));
    f.count++;
    f.byStatus[q.status] = (f.byStatus[q.status] ?? 0) + 1;
    f.workloads.add(q.client.workload);
    f.lastMs = Math.max(f.lastMs, q.tMs);
  }
  return [...by]
    .map(([k, f]) => ({
      name: f.name,
      count: f.count,
      byStatus: f.byStatus,
      workloads: [...f.workloads].sort().slice(0, 5),
      lastMs: f.lastMs,
      expansionOf: expansion.get(k) ?? null,
    }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, limit);
}

export function workloadRows(queries: readonly DnsQuery[]): WorkloadRow[] {
  const by = new Map<string, WorkloadRow>();
  for (const q of queries) {
    let w = by.get(q.client.workload);
    if (!w) by.set(q.client.workload, (w = { workload: q.client.workload, queries: 0, failures: 0 }));
    w.queries++;
    if (isFailure(q.status)) w.failures++;
  }
  return [...by.values()].sort((a, b) => b.queries - a.queries || a.workload.localeCompare(b.workload));
}

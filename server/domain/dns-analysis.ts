/**
 * One pass over the DNS messages of a range: pair, group into search-path lookups, then narrow to
 * what the request asked for. Both /api/dns and /api/dns/summary start from this. Pure.
 *
 * Pairing and grouping see every message read (the range padded by the timeout, all clients), so a
 * filter never cuts a request from its response or a lookup in half; the filter then keeps a query
 * when its request or its response matched the hubble-style filter, and the DNS parameters.
 */
import { pairDnsMessages } from "./dns-pairing";
import { groupLookups } from "./dns-search-path";
import type { DnsLookup, DnsMessage, DnsQuery, DnsStatus } from "./dns-types";

export interface AnalysisOptions {
  sinceMs: number;
  untilMs: number;
  /** end of the data read (min of now and the padded range end) */
  horizonMs: number;
  timeoutMs: number;
  workloads: readonly string[];
  /** lower-case substring of the query name */
  search: string | null;
  statuses: readonly DnsStatus[];
}

export interface DnsAnalysis {
  /** queries in range that pass every filter, oldest first */
  queries: DnsQuery[];
  /** lookups with at least one of those queries */
  lookups: DnsLookup[];
  /** lookup id of each query (of `queries`) */
  lookupOf: Map<string, DnsLookup>;
}

export function analyzeDns(messages: readonly DnsMessage[], o: AnalysisOptions): DnsAnalysis {
  const all = pairDnsMessages(messages, { horizonMs: o.horizonMs, timeoutMs: o.timeoutMs });
  const lookupsAll = groupLookups(all, { gapMs: o.timeoutMs + 1000 });
  const workloads = new Set(o.workloads);
  const statuses = new Set(o.statuses);
  const queries = all.filter(
    (q) =>
      q.matched &&
      q.tMs >= o.sinceMs &&
      q.tMs < o.untilMs &&
      (workloads.size === 0 || workloads.has(q.client.workload)) &&
      (statuses.size === 0 || statuses.has(q.status)) &&
      (o.search === null || q.query.toLowerCase().includes(o.search)),
  );
  const kept = new Set(queries.map((q) => q.id));
  const lookupOf = new Map<string, DnsLookup>();
  const lookups: DnsLookup[] = [];
  for (const l of lookupsAll) {
    let any = false;
    for (const id of l.queryIds) {
      if (kept.has(id)) {
        lookupOf.set(id, l);
        any = true;
      }
    }
    if (any) lookups.push(l);
  }
  return { queries, lookups, lookupOf };
}

/**
 * The analysis of the DNS messages of a range, in two steps. Both /api/dns and /api/dns/summary
 * start from it. Pure.
 *
 * 1. base: pair every message read (the range padded by the timeout, all clients) and group the
 *    queries into search-path lookups. This is the expensive part and it depends only on the
 *    messages, the timeout and the horizon, so the repository keeps it while the data is unchanged
 *    and every filter, search, zoom or width of the same data reuses it.
 * 2. view: narrow to what the request asked for. A filter never cuts a request from its response
 *    or a lookup in half, because it runs after pairing and grouping: a query is kept when its
 *    request or its response matched the hubble-style filter, and the DNS parameters.
 */
import { pairWithMessages } from "./dns-pairing";
import { groupQueries } from "./dns-search-path";
import type { DnsLookup, DnsMessage, DnsQuery, DnsStatus } from "./dns-types";

export interface BaseOptions {
  /** end of the data read (min of now and the end of the read) */
  horizonMs: number;
  timeoutMs: number;
}

export interface ViewOptions {
  sinceMs: number;
  untilMs: number;
  workloads: readonly string[];
  /** lower-case substring of the query name */
  search: string | null;
  statuses: readonly DnsStatus[];
}

export type AnalysisOptions = BaseOptions & ViewOptions;

/** Every query of the messages read, paired and grouped; index i of each array is query i. */
export interface DnsBase {
  /** oldest first */
  queries: DnsQuery[];
  /** the request and the response each query was built from (null when not seen) */
  requests: (DnsMessage | null)[];
  responses: (DnsMessage | null)[];
  lookups: DnsLookup[];
  lookupOf: DnsLookup[];
  /** index in `lookups` of each query's lookup */
  lookupIndex: Int32Array;
  /** 1 for a query spent on a failed search-path candidate */
  wasted: Uint8Array;
  /** the horizon it was built for */
  horizonMs: number;
  /**
   * The base describes the data as of any horizon from horizonMs up to this time: after it, a PENDING request
   * has waited longer than the timeout and would be UNANSWERED (Infinity when none is pending).
   */
  validUntilMs: number;
}

export interface DnsAnalysis {
  /** queries in range that pass every filter, oldest first */
  queries: DnsQuery[];
  /** lookups with at least one of those queries, oldest first */
  lookups: DnsLookup[];
  /** the lookup of each query (same index as `queries`) */
  lookupOf: DnsLookup[];
  /** 1 for a query spent on a failed search-path candidate (same index as `queries`) */
  wasted: Uint8Array;
}

export function baseAnalysis(messages: readonly DnsMessage[], o: BaseOptions): DnsBase {
  const paired = pairWithMessages(messages, { horizonMs: o.horizonMs, timeoutMs: o.timeoutMs });
  const grouped = groupQueries(paired.queries, { gapMs: o.timeoutMs + 1000 });
  let validUntilMs = Infinity;
  for (const q of paired.queries) if (q.status === "PENDING") validUntilMs = Math.min(validUntilMs, q.tMs + o.timeoutMs);
  return { ...paired, ...grouped, horizonMs: o.horizonMs, validUntilMs };
}

/**
 * The part of a base a request asks for. `matched` says whether query i satisfied the hubble-style
 * filter; by default the `matched` flag pairing derived from the messages.
 */
export function selectView(base: DnsBase, o: ViewOptions, matched?: (i: number) => boolean): DnsAnalysis {
  const all = base.queries;
  const workloads = o.workloads.length ? new Set(o.workloads) : null;
  const statuses = o.statuses.length ? new Set<DnsStatus>(o.statuses) : null;
  const found = o.search === null ? null : new Map<string, boolean>();
  const queries: DnsQuery[] = [];
  const lookupOf: DnsLookup[] = [];
  const kept: number[] = [];
  for (let i = firstAtOrAfter(all, o.sinceMs); i < all.length; i++) {
    const q = all[i];
    if (q.tMs >= o.untilMs) break;
    if (matched ? !matched(i) : !q.matched) continue;
    if (workloads && !workloads.has(q.client.workload)) continue;
    if (statuses && !statuses.has(q.status)) continue;
    if (found) {
      let hit = found.get(q.query);
      if (hit === undefined) found.set(q.query, (hit = q.query.toLowerCase().includes(o.search!)));
      if (!hit) continue;
    }
    queries.push(q);
    lookupOf.push(base.lookupOf[i]);
    kept.push(i);
  }
  const wasted = new Uint8Array(kept.length);
  const used = new Uint8Array(base.lookups.length);
  let usedCount = 0;
  for (let k = 0; k < kept.length; k++) {
    const i = kept[k];
    wasted[k] = base.wasted[i];
    const l = base.lookupIndex[i];
    if (used[l] === 0) {
      used[l] = 1;
      usedCount++;
    }
  }
  const lookups = usedCount === base.lookups.length ? base.lookups : base.lookups.filter((_, l) => used[l] === 1);
  return { queries, lookups, lookupOf, wasted };
}

export function analyzeDns(messages: readonly DnsMessage[], o: AnalysisOptions): DnsAnalysis {
  return selectView(baseAnalysis(messages, o), o);
}

/** First index whose query is at or after `ms` (queries are sorted by time). */
function firstAtOrAfter(queries: readonly DnsQuery[], ms: number): number {
  let lo = 0;
  let hi = queries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (queries[mid].tMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

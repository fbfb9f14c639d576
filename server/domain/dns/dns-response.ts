/**
 * The JSON bodies of GET /api/dns and /api/dns/summary (docs/api.md, "DNS"), from an analysis.
 * Pure: details of answers (ips, ttl, cnames) come from a lookup function the route supplies.
 */
import type { DnsAnalysis } from "./dns-analysis";
import { ndotsFindings, type NdotsFinding } from "./dns-findings";
import type { DnsApiQuery } from "./dns-params";
import { countByStatus, latencyByServer, statusSeries, topFailingNames, workloadRows, type FailingName, type SeriesBucket, type ServerLatency, type StatusCounts, type WorkloadRow } from "./dns-summary";
import { buildTimeline, type Timeline } from "./dns-timeline";
import type { DnsLookup, DnsQuery } from "./dns-types";
import { formatRfc3339Ns } from "../shared/time";

export interface AnswerDetails {
  ips: string[];
  ttl: number | null;
  cnames: string[];
  rrtypes: string[];
}

export interface DnsQueryJson extends DnsQuery {
  /** RFC 3339 of tMs */
  time: string;
  answer: AnswerDetails | null;
  /** the search-path lookup this query was part of, when it took more than one query */
  lookup: { id: string; name: string; wasted: number; outcome: string } | null;
  /** a query on a failed search-path candidate */
  wasted: boolean;
}

export interface DnsRange {
  since: string;
  until: string;
  sinceMs: number;
  untilMs: number;
}

export interface DnsListBody {
  range: DnsRange;
  total: number;
  truncated: boolean;
  /** newest first; in timeline marks mode, every query of the range */
  queries: DnsQueryJson[];
  lookups: DnsLookup[];
  timeline: Timeline;
}

export interface DnsSummaryBody {
  range: DnsRange;
  totals: { queries: number; answered: number; failures: number; wasted: number; lookups: number; byStatus: StatusCounts };
  series: { bucketMs: number; buckets: SeriesBucket[] };
  servers: ServerLatency[];
  topFailing: FailingName[];
  findings: NdotsFinding[];
  workloads: WorkloadRow[];
}

export function msToRfc3339(ms: number): string {
  return formatRfc3339Ns(BigInt(Math.round(ms * 1000)) * 1000n);
}

export function rangeOf(q: DnsApiQuery): DnsRange {
  return {
    since: formatRfc3339Ns(q.sinceNs),
    until: formatRfc3339Ns(q.untilNs),
    sinceMs: Number(q.sinceNs / 1000n) / 1000,
    untilMs: Number(q.untilNs / 1000n) / 1000,
  };
}

export function dnsListBody(a: DnsAnalysis, q: DnsApiQuery, answer: (responseKey: string) => AnswerDetails | null): DnsListBody {
  const range = rangeOf(q);
  const timeline = buildTimeline(a.queries, a, { startMs: range.sinceMs, endMs: range.untilMs, width: q.width, laneBy: q.lane });
  const n = a.queries.length;
  const shown = timeline.mode === "marks" ? n : Math.min(n, q.limit);
  const lookups = new Map<string, DnsLookup>();
  const queries: DnsQueryJson[] = [];
  // newest first
  for (let i = n - 1; i >= n - shown; i--) {
    const x = a.queries[i];
    const l = a.lookupOf[i];
    const multi = l && l.queryIds.length > 1 ? l : undefined;
    if (multi) lookups.set(multi.id, multi);
    queries.push({
      ...x,
      time: msToRfc3339(x.tMs),
      answer: x.responseKey ? answer(x.responseKey) : null,
      lookup: multi ? { id: multi.id, name: multi.name, wasted: multi.wasted, outcome: multi.outcome } : null,
      wasted: a.wasted[i] === 1,
    });
  }
  return { range, total: n, truncated: shown < n, queries, lookups: [...lookups.values()], timeline };
}

export function dnsSummaryBody(a: DnsAnalysis, q: DnsApiQuery): DnsSummaryBody {
  const range = rangeOf(q);
  const byStatus = countByStatus(a.queries);
  const perWorkload = new Map<string, number>();
  for (const x of a.queries) perWorkload.set(x.client.workload, (perWorkload.get(x.client.workload) ?? 0) + 1);
  const findings = ndotsFindings(a.lookups, perWorkload);
  let wasted = 0;
  for (let i = 0; i < a.wasted.length; i++) wasted += a.wasted[i];
  let answered = 0;
  for (const x of a.queries) if (x.endMs !== null) answered++;
  return {
    range,
    totals: {
      queries: a.queries.length,
      answered,
      failures: a.queries.length - byStatus.NOERROR - byStatus.PENDING,
      wasted,
      lookups: a.lookups.length,
      byStatus,
    },
    series: statusSeries(a.queries, range.sinceMs, range.untilMs, q.buckets),
    servers: latencyByServer(a.queries),
    topFailing: topFailingNames(a.queries, a.lookups),
    findings,
    workloads: workloadRows(a.queries),
  };
}

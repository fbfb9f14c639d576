/**
 * What the /dns timeline draws, decided on the server so the browser never receives more marks
 * than it has pixels for.
 *
 * - marks: when the range holds at most `width × MARKS_PER_PIXEL` queries (and at most MAX_MARKS),
 *   every query is a mark: lane, start time, latency, status, and the lookup it belongs to; the
 *   search-path lookups that wasted queries come along as bursts to draw around their marks.
 * - buckets: otherwise the range is cut into `width / CELL_PX` columns and each lane gets one cell
 *   per non-empty column with its status counts, the number of wasted search-path queries and the
 *   slowest latency. The browser draws a heat strip; brushing a narrower range asks again and
 *   gets marks once few enough queries remain.
 *
 * Lanes are client workloads, or — when one workload is selected — the names it looked up, so a
 * search-path burst sits in the lane of the name the application asked for. At most `maxLanes`
 * lanes; the rest share one "other" lane.
 */
import { bareName } from "./dns-names";
import { isFailure, type DnsLookup, type DnsQuery, type DnsStatus } from "./dns-types";
import type { StatusCounts } from "./dns-summary";

export const MARKS_PER_PIXEL = 2;
export const MAX_MARKS = 4000;
export const CELL_PX = 4;
export const OTHER_LANE = "(other)";

export type LaneBy = "workload" | "name";

export interface TimelineLane {
  name: string;
  queries: number;
  failures: number;
}

export interface TimelineMark {
  id: string;
  lane: number;
  t: number;
  ms: number | null;
  status: DnsStatus;
  query: string;
  lookup: string | null;
}

export interface TimelineBurst {
  lookupId: string;
  lane: number;
  t0: number;
  t1: number;
  name: string;
  wasted: number;
  outcome: DnsStatus;
  queries: number;
}

export interface TimelineCell {
  lane: number;
  /** column index: [start + i × bucketMs, start + (i + 1) × bucketMs) */
  i: number;
  n: number;
  counts: Partial<StatusCounts>;
  /** wasted search-path queries in this cell */
  wasted: number;
  maxMs: number | null;
}

interface TimelineBase {
  start: number;
  end: number;
  width: number;
  laneBy: LaneBy;
  lanes: TimelineLane[];
  total: number;
}

export type Timeline =
  | (TimelineBase & { mode: "marks"; marks: TimelineMark[]; bursts: TimelineBurst[] })
  | (TimelineBase & { mode: "buckets"; bucketMs: number; cells: TimelineCell[] });

export interface TimelineOptions {
  startMs: number;
  endMs: number;
  width: number;
  laneBy: LaneBy;
  maxLanes?: number;
}

export function markBudget(width: number): number {
  return Math.min(MAX_MARKS, Math.floor(width * MARKS_PER_PIXEL));
}

/** Per query (same index as the queries): its lookup and whether it was wasted (groupQueries, selectView). */
export interface QueryLookups {
  lookupOf: readonly (DnsLookup | undefined)[];
  wasted: Uint8Array;
}

export function buildTimeline(queries: readonly DnsQuery[], { lookupOf, wasted }: QueryLookups, opts: TimelineOptions): Timeline {
  const maxLanes = opts.maxLanes ?? 24;

  // lane of each query, by name first (interned: lanes are few, queries many)
  const laneNames: string[] = new Array(queries.length);
  const stats = new Map<string, TimelineLane>();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i];
    const n = opts.laneBy === "workload" ? q.client.workload : (lookupOf[i]?.name ?? bareName(q.query));
    laneNames[i] = n;
    let s = stats.get(n);
    if (!s) stats.set(n, (s = { name: n, queries: 0, failures: 0 }));
    s.queries++;
    if (isFailure(q.status)) s.failures++;
  }
  // busiest lanes first, failing ones before quiet ones of the same size
  const ordered = [...stats.values()].sort((a, b) => b.failures - a.failures || b.queries - a.queries || a.name.localeCompare(b.name));
  const lanes = ordered.slice(0, maxLanes);
  if (ordered.length > maxLanes) {
    const rest = ordered.slice(maxLanes);
    lanes.push({ name: OTHER_LANE, queries: rest.reduce((s, l) => s + l.queries, 0), failures: rest.reduce((s, l) => s + l.failures, 0) });
  }
  const laneIndex = new Map(lanes.map((l, i) => [l.name, i]));
  const laneAt = (i: number) => laneIndex.get(laneNames[i]) ?? lanes.length - 1;
  const base: TimelineBase = { start: opts.startMs, end: opts.endMs, width: opts.width, laneBy: opts.laneBy, lanes, total: queries.length };

  if (queries.length <= markBudget(opts.width)) {
    const marks = queries.map((q, i) => ({
      id: q.id,
      lane: laneAt(i),
      t: q.tMs,
      ms: q.latencyMs,
      status: q.status,
      query: q.query,
      lookup: lookupOf[i]?.id ?? null,
    }));
    // each wasteful lookup drawn once, in the lane of its first query shown
    const bursts: TimelineBurst[] = [];
    const drawn = new Set<DnsLookup>();
    for (let i = 0; i < queries.length; i++) {
      const l = lookupOf[i];
      if (!l || drawn.has(l)) continue;
      drawn.add(l);
      if (l.wasted === 0 || l.queryIds.length < 2) continue;
      bursts.push({ lookupId: l.id, lane: laneAt(i), t0: l.startMs, t1: l.endMs, name: l.name, wasted: l.wasted, outcome: l.outcome, queries: l.queryIds.length });
    }
    bursts.sort((a, b) => a.t0 - b.t0 || (a.lookupId < b.lookupId ? -1 : a.lookupId > b.lookupId ? 1 : 0));
    return { ...base, mode: "marks", marks, bursts };
  }

  const columns = Math.max(1, Math.floor(opts.width / CELL_PX));
  const bucketMs = Math.max(1e-3, (opts.endMs - opts.startMs) / columns);
  const cells = new Map<number, TimelineCell>();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i];
    const col = Math.min(columns - 1, Math.max(0, Math.floor((q.tMs - opts.startMs) / bucketMs)));
    const lane = laneAt(i);
    const k = lane * columns + col;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { lane, i: col, n: 0, counts: {}, wasted: 0, maxMs: null }));
    c.n++;
    c.counts[q.status] = (c.counts[q.status] ?? 0) + 1;
    if (wasted[i]) c.wasted++;
    if (q.latencyMs !== null && (c.maxMs === null || q.latencyMs > c.maxMs)) c.maxMs = q.latencyMs;
  }
  return { ...base, mode: "buckets", bucketMs, cells: [...cells.values()].sort((a, b) => a.lane - b.lane || a.i - b.i) };
}

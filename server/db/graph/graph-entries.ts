/**
 * The map's unit of aggregation: the counters of one (context, L4 kind, service port) over some
 * minutes, read from flow_rollups (summed in SQL) or taken from the writer's committed rows.
 */
import { DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS, type GraphCounts } from "@/server/domain/graph/graph-build";
import type { Rollup } from "@/server/domain/flows/flow-rollup";
import type { Queryable } from "../connection";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";



export interface Entry {
  ctxId: number;
  counts: GraphCounts;
}

interface AggRow {
  ctx_id: number;
  l4: number;
  port: number;
  minute?: number;
  flows: string;
  first_ts: string;
  last_ts: string;
  http_requests: string;
  dns_requests: string;
}

interface L7Row {
  ctx_id: number;
  l4: number;
  port: number;
  minute?: number;
  hs: string[];
  dr: string[];
  lh: string[];
}

/** sum(col[i]) for each array position, as one int8[] (PostgreSQL arrays are 1-based) */
function arraySums(col: string, n: number): string {
  return `ARRAY[${Array.from({ length: n }, (_, i) => `sum(${col}[${i + 1}])`).join(", ")}]::int8[]`;
}

const zeros = (n: number) => `'{${new Array(n).fill(0).join(",")}}'::int[]`;
const NONE = {
  hs: Object.freeze(new Array<number>(HTTP_CLASSES).fill(0)),
  dr: Object.freeze(new Array<number>(DNS_RCODES).fill(0)),
  lh: Object.freeze(new Array<number>(LATENCY_BUCKETS).fill(0)),
};
const L7_ROW = `(http_requests > 0 OR dns_requests > 0 OR http_status <> ${zeros(HTTP_CLASSES)} OR dns_rcodes <> ${zeros(DNS_RCODES)})`;
/** counts of every group; the L7 arrays are summed by a second query over L7 rows only (most traffic has none) */
const MAIN_COLUMNS = `ctx_id, l4, port, sum(flows)::text AS flows, min(first_ts)::text AS first_ts, max(last_ts)::text AS last_ts,
  sum(http_requests)::text AS http_requests, sum(dns_requests)::text AS dns_requests`;
const L7_COLUMNS = `ctx_id, l4, port, ${arraySums("http_status", HTTP_CLASSES)} AS hs, ${arraySums("dns_rcodes", DNS_RCODES)} AS dr,
  ${arraySums("latency_hist", LATENCY_BUCKETS)} AS lh`;

function entryOf(r: AggRow, x: L7Row | undefined): Entry {
  return {
    ctxId: r.ctx_id,
    counts: {
      l4: r.l4,
      port: r.port,
      flows: Number(r.flows),
      firstNs: BigInt(r.first_ts),
      lastNs: BigInt(r.last_ts),
      httpRequests: Number(r.http_requests),
      dnsRequests: Number(r.dns_requests),
      httpStatus: x ? x.hs.map(Number) : NONE.hs,
      dnsRcodes: x ? x.dr.map(Number) : NONE.dr,
      latencyHist: x ? x.lh.map(Number) : NONE.lh,
      l7: x !== undefined || Number(r.http_requests) > 0 || Number(r.dns_requests) > 0,
    },
  };
}

/** a committed rollup row as an entry, by the same rule as the SQL read (L7 arrays only on L7 rows) */
export function entryFromRollup(r: Rollup): Entry {
  const l7 = r.httpRequests > 0 || r.dnsRequests > 0 || r.httpStatus.some((x) => x > 0) || r.dnsRcodes.some((x) => x > 0);
  return {
    ctxId: r.ctxId,
    counts: {
      l4: r.l4,
      port: r.port,
      flows: r.flows,
      firstNs: r.firstTs,
      lastNs: r.lastTs,
      httpRequests: r.httpRequests,
      dnsRequests: r.dnsRequests,
      httpStatus: l7 ? [...r.httpStatus] : NONE.hs,
      dnsRcodes: l7 ? [...r.dnsRcodes] : NONE.dr,
      latencyHist: l7 ? [...r.latencyHist] : NONE.lh,
      l7,
    },
  };
}

export function copyEntry(e: Entry): Entry {
  return { ctxId: e.ctxId, counts: { ...e.counts } };
}

function addArrays(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x + (b[i] ?? 0));
}

/** adds b's counters into a's (the writer's upsert: sums, earliest first, latest last) */
export function addCounts(a: GraphCounts, b: GraphCounts): void {
  a.flows += b.flows;
  if (b.paired) a.paired = (a.paired ?? 0) + b.paired;
  if (b.firstNs < a.firstNs) a.firstNs = b.firstNs;
  if (b.lastNs > a.lastNs) a.lastNs = b.lastNs;
  if (b.l7 !== false) {
    a.httpRequests += b.httpRequests;
    a.dnsRequests += b.dnsRequests;
    a.httpStatus = addArrays(a.httpStatus, b.httpStatus);
    a.dnsRcodes = addArrays(a.dnsRcodes, b.dnsRcodes);
    a.latencyHist = addArrays(a.latencyHist, b.latencyHist);
    a.l7 = true;
  }
}

export const entryKey = (ctxId: number, l4: number, port: number) => `${ctxId}|${l4}|${port}`;

/** Sums entries of several segments per (context, L4, port); never changes its inputs. */
export function mergeEntries(segments: readonly (readonly Entry[])[]): Entry[] {
  if (segments.length === 1) return [...segments[0]];
  const byCtx = new Map<number, Map<number, Entry>>();
  for (const seg of segments) {
    for (const e of seg) {
      let ports = byCtx.get(e.ctxId);
      if (!ports) byCtx.set(e.ctxId, (ports = new Map()));
      const k = e.counts.l4 * 65_536 + e.counts.port;
      const m = ports.get(k);
      if (m) addCounts(m.counts, e.counts);
      else ports.set(k, copyEntry(e));
    }
  }
  const out: Entry[] = [];
  for (const ports of byCtx.values()) for (const e of ports.values()) out.push(e);
  return out;
}

export function minuteOf(ns: bigint): number {
  // floor for negative times too (BigInt division truncates)
  const q = ns / NS_PER_MINUTE;
  return Number(ns < 0n && q * NS_PER_MINUTE !== ns ? q - 1n : q);
}

/** the groups of [fromMinute, toMinute), summed over those minutes */
export async function readRange(db: Queryable, fromMinute: number, toMinute: number, signal?: AbortSignal): Promise<Entry[]> {
  const where = `minute >= $1::int AND minute < $2::int`;
  const [rows, l7] = await Promise.all([
    db.query<AggRow>(`SELECT ${MAIN_COLUMNS} FROM flow_rollups WHERE ${where} GROUP BY ctx_id, l4, port`, [fromMinute, toMinute], { signal }),
    db.query<L7Row>(`SELECT ${L7_COLUMNS} FROM flow_rollups WHERE ${where} AND ${L7_ROW} GROUP BY ctx_id, l4, port`, [fromMinute, toMinute], { signal }),
  ]);
  const byKey = new Map(l7.map((x) => [entryKey(x.ctx_id, x.l4, x.port), x]));
  return rows.map((r) => entryOf(r, byKey.get(entryKey(r.ctx_id, r.l4, r.port))));
}

/** the groups of each minute matching `where` (on the minute column), per minute */
export async function readPerMinute(db: Queryable, where: string, params: unknown[], signal?: AbortSignal): Promise<Map<number, Entry[]>> {
  const [rows, l7] = await Promise.all([
    db.query<AggRow>(`SELECT minute, ${MAIN_COLUMNS} FROM flow_rollups WHERE ${where} GROUP BY minute, ctx_id, l4, port`, params, { signal }),
    db.query<L7Row>(`SELECT minute, ${L7_COLUMNS} FROM flow_rollups WHERE ${where} AND ${L7_ROW} GROUP BY minute, ctx_id, l4, port`, params, { signal }),
  ]);
  const byKey = new Map(l7.map((x) => [`${x.minute}|${entryKey(x.ctx_id, x.l4, x.port)}`, x]));
  const out = new Map<number, Entry[]>();
  for (const r of rows) {
    let list = out.get(r.minute!);
    if (!list) out.set(r.minute!, (list = []));
    list.push(entryOf(r, byKey.get(`${r.minute}|${entryKey(r.ctx_id, r.l4, r.port)}`)));
  }
  return out;
}

/**
 * Per-minute rollups of a batch of flows, keyed by (minute, context, L4 kind, service port). The
 * same rules are in SQL in prisma/migrations/*_flow_rollups (backfill); a test recounts raw flows.
 */
import { L7FlowType } from "@/proto/gen/flow/flow_pb";
import type { FlowRow } from "@/server/flow-codec/split-flow";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

export const HTTP_CLASSES = 6; // 1xx 2xx 3xx 4xx 5xx other
export const DNS_RCODES = 7; // NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED other
export const LATENCY_BUCKETS = 26; // [2^i, 2^(i+1)) µs
const L7_REQUEST = L7FlowType.REQUEST;
const L7_RESPONSE = L7FlowType.RESPONSE;

export interface Rollup {
  minute: number;
  ctxId: number;
  l4: number;
  port: number;
  flows: number;
  firstTs: bigint;
  lastTs: bigint;
  httpRequests: number;
  httpStatus: number[];
  dnsRequests: number;
  dnsRcodes: number[];
  latencyHist: number[];
}

/** the server side's port: the destination port, or the source port of a reply */
export function servicePort(row: Pick<FlowRow, "l4" | "sport" | "dport">, isReply: boolean | null): number {
  if (row.l4 !== 1 && row.l4 !== 2 && row.l4 !== 5) return 0;
  return (isReply ? row.sport : row.dport) ?? 0;
}

export function latencyBucket(latencyNs: bigint): number {
  const us = Number(latencyNs) / 1000;
  if (us < 2) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(us)));
}

/** ctx, l4 and port as one number when they fit in 53 bits (ports of real flows do), else null */
function packed(ctxId: number, l4: number, port: number): number | null {
  if (!(ctxId >= 0 && ctxId < 2 ** 31 && l4 >= 0 && l4 < 8 && port >= 0 && port < 65536)) return null;
  if (!Number.isInteger(ctxId) || !Number.isInteger(l4) || !Number.isInteger(port)) return null;
  return (ctxId * 8 + l4) * 65536 + port;
}

const rollupKey = (minute: number, ctxId: number, l4: number, port: number) => `${minute}|${ctxId}|${l4}|${port}`;

/** ctxIds[i] is the context id of rows[i]; adds into `into` (keyed by minute|ctx|l4|port) when given */
export function rollUp(
  rows: readonly FlowRow[],
  ctxIds: ArrayLike<number>,
  isReplyOf: (ctxId: number) => boolean | null,
  into = new Map<string, Rollup>(),
): Rollup[] {
  const out = into;
  // A text key per flow cost as much as the rest of the rollup: a flow finds its group by numbers
  // (its minute's map, then ctx/l4/port packed); the text key is made once per group.
  const byMinute = new Map<number, Map<number, Rollup>>();
  const groupsOf = (minute: number) => {
    let m = byMinute.get(minute);
    if (!m) byMinute.set(minute, (m = new Map()));
    return m;
  };
  for (const g of out.values()) {
    const k = packed(g.ctxId, g.l4, g.port);
    if (k !== null) groupsOf(g.minute).set(k, g);
  }
  // the minute of the previous flow and the ns range it covers (flows of a batch share a few)
  let minute = 0;
  let minuteStart = 1n;
  let minuteEnd = 0n;
  let groups = groupsOf(0);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const ctxId = ctxIds[i];
    if (!(r.ts >= minuteStart && r.ts < minuteEnd)) {
      minute = Number(r.ts / NS_PER_MINUTE);
      // BigInt division truncates toward zero: the range holds for times from 0 on only
      if (r.ts >= 0n) (minuteStart = BigInt(minute) * NS_PER_MINUTE), (minuteEnd = minuteStart + NS_PER_MINUTE);
      else (minuteStart = 1n), (minuteEnd = 0n);
      groups = groupsOf(minute);
    }
    const port = servicePort(r, isReplyOf(ctxId));
    const k = packed(ctxId, r.l4, port);
    let g = k === null ? out.get(rollupKey(minute, ctxId, r.l4, port)) : groups.get(k);
    if (!g) {
      g = {
        minute,
        ctxId,
        l4: r.l4,
        port,
        flows: 0,
        firstTs: r.ts,
        lastTs: r.ts,
        httpRequests: 0,
        httpStatus: new Array(HTTP_CLASSES).fill(0),
        dnsRequests: 0,
        dnsRcodes: new Array(DNS_RCODES).fill(0),
        latencyHist: new Array(LATENCY_BUCKETS).fill(0),
      };
      out.set(rollupKey(minute, ctxId, r.l4, port), g);
      if (k !== null) groups.set(k, g);
    }
    g.flows++;
    if (r.ts < g.firstTs) g.firstTs = r.ts;
    if (r.ts > g.lastTs) g.lastTs = r.ts;
    if (r.l7Kind === 101) {
      if (r.l7Type === L7_REQUEST) g.httpRequests++;
      else if (r.l7Type === L7_RESPONSE) {
        const c = r.httpCode ?? 0;
        g.httpStatus[c >= 100 && c <= 599 ? Math.floor(c / 100) - 1 : HTTP_CLASSES - 1]++;
      }
    } else if (r.l7Kind === 100) {
      if (r.l7Type === L7_REQUEST) g.dnsRequests++;
      else if (r.l7Type === L7_RESPONSE) {
        const rc = r.dnsRcode ?? -1;
        g.dnsRcodes[rc >= 0 && rc <= 5 ? rc : DNS_RCODES - 1]++;
      }
    }
    if (r.l7Type === L7_RESPONSE && r.latencyNs !== null && r.latencyNs > 0n) g.latencyHist[latencyBucket(r.latencyNs)]++;
  }
  return [...out.values()];
}

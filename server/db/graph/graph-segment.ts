/**
 * A cached run of rollup groups in columns (typed arrays) instead of one object per group: the map
 * folds every cached group of its window whenever the window moves, ~400k groups for an hour at
 * 1,000 workloads, and walking objects scattered over the heap cost several times more than the
 * additions themselves. Columns are also a fraction of the memory.
 */
import { DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS, L7_LEN, splitNs } from "@/server/domain/graph/graph-build";
import type { Entry } from "./graph-entries";

export interface Segment {
  n: number;
  ctx: Int32Array;
  l4: Int32Array;
  port: Int32Array;
  flows: Float64Array;
  /** of flows, paired drop events (GraphCounts.paired) */
  paired: Float64Array;
  /** first/last seen split into ms and ns within the ms (no BigInt per row when folding) */
  firstMs: Float64Array;
  firstSub: Int32Array;
  lastMs: Float64Array;
  lastSub: Int32Array;
  httpReq: Float64Array;
  dnsReq: Float64Array;
  /** where row i's L7 counters start in `l7` (HTTP classes, DNS rcodes, latency buckets), -1 for none */
  l7At: Int32Array;
  l7: Float64Array;
}

function put(target: Float64Array, at: number, len: number, src: readonly number[]): void {
  // arrays from a newer schema may be longer: extra buckets fold into the last ("other") one
  for (let i = 0; i < src.length; i++) target[at + Math.min(i, len - 1)] += Number(src[i]) || 0;
}

export function segmentOf(entries: readonly Entry[]): Segment {
  const n = entries.length;
  let l7Rows = 0;
  for (const e of entries) if (e.counts.l7 !== false) l7Rows++;
  const s: Segment = {
    n,
    ctx: new Int32Array(n),
    l4: new Int32Array(n),
    port: new Int32Array(n),
    flows: new Float64Array(n),
    paired: new Float64Array(n),
    firstMs: new Float64Array(n),
    firstSub: new Int32Array(n),
    lastMs: new Float64Array(n),
    lastSub: new Int32Array(n),
    httpReq: new Float64Array(n),
    dnsReq: new Float64Array(n),
    l7At: new Int32Array(n).fill(-1),
    l7: new Float64Array(l7Rows * L7_LEN),
  };
  let at = 0;
  for (let i = 0; i < n; i++) {
    const { ctxId, counts: c } = entries[i];
    s.ctx[i] = ctxId;
    s.l4[i] = c.l4;
    s.port[i] = c.port;
    s.flows[i] = c.flows;
    s.paired[i] = c.paired ?? 0;
    [s.firstMs[i], s.firstSub[i]] = splitNs(c.firstNs);
    [s.lastMs[i], s.lastSub[i]] = splitNs(c.lastNs);
    s.httpReq[i] = c.httpRequests;
    s.dnsReq[i] = c.dnsRequests;
    if (c.l7 !== false) {
      s.l7At[i] = at;
      put(s.l7, at, HTTP_CLASSES, c.httpStatus);
      put(s.l7, at + HTTP_CLASSES, DNS_RCODES, c.dnsRcodes);
      put(s.l7, at + HTTP_CLASSES + DNS_RCODES, LATENCY_BUCKETS, c.latencyHist);
      at += L7_LEN;
    }
  }
  return s;
}

export const EMPTY_SEGMENT = segmentOf([]);

/**
 * One flow (hubble JSON, e.g. a live item) as map counters, by the same rules as the ingest's
 * per-minute rollups (server/domain/flows/flow-rollup.ts): server-side port = destination port, or the
 * source port of a reply; HTTP/DNS responses by class/rcode; latency of L7 responses. That keeps a
 * map folded from live flows equal to one read back from the rollups.
 */
import { GraphBuilder, DNS_RCODES, HTTP_CLASSES, LATENCY_BUCKETS, type BuildOptions, type GraphCounts } from "./graph-build";
import { pairedDropEvents } from "../connections/denied-packets";
import { graphContext } from "./graph-context";
import type { GraphResult } from "./graph-types";
import { record } from "@/server/domain/shared/json";
import { l4AndServerPort } from "../flows/flow-l4";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

type J = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) || 0 : 0);

const DNS_RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** RFC 3339 with up to nine fraction digits → ns; 0n when absent or unreadable */
export function timeNs(t: unknown): bigint {
  if (typeof t !== "string") return 0n;
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return 0n;
  const ms = Date.parse(m[1] + m[3]);
  if (Number.isNaN(ms)) return 0n;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

export function flowCounts(flow: J, reply: boolean): GraphCounts {
  const { l4, port } = l4AndServerPort(flow, reply);
  const ts = timeNs(flow.time);
  const c = {
    l4,
    port,
    flows: 1,
    firstNs: ts,
    lastNs: ts,
    httpRequests: 0,
    httpStatus: new Array<number>(HTTP_CLASSES).fill(0),
    dnsRequests: 0,
    dnsRcodes: new Array<number>(DNS_RCODES).fill(0),
    latencyHist: new Array<number>(LATENCY_BUCKETS).fill(0),
  };
  const l7 = record(flow.l7);
  const type = l7.type;
  const request = type === "REQUEST" || type === 1;
  const response = type === "RESPONSE" || type === 2;
  if ("http" in l7) {
    if (request) c.httpRequests = 1;
    else if (response) {
      const code = num(record(l7.http).code);
      c.httpStatus[code >= 100 && code <= 599 ? Math.floor(code / 100) - 1 : HTTP_CLASSES - 1] = 1;
    }
  } else if ("dns" in l7) {
    if (request) c.dnsRequests = 1;
    else if (response) {
      const rc = record(l7.dns).rcode;
      const i = typeof rc === "string" ? DNS_RCODE_NAMES.indexOf(rc) : rc === undefined ? 0 : num(rc);
      c.dnsRcodes[i >= 0 && i <= 5 ? i : DNS_RCODES - 1] = 1;
    }
  }
  const latencyNs = num(l7.latency_ns);
  if (response && latencyNs > 0) {
    const us = latencyNs / 1000;
    c.latencyHist[us < 2 ? 0 : Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(us)))] = 1;
  }
  return c;
}

/** Adds one flow to a builder. */
export function addFlow(b: GraphBuilder, flow: J): void {
  const ctx = graphContext(flow);
  b.add(ctx, flowCounts(flow, ctx.reply));
}

/**
 * A whole graph from flows (tests; a client folding live items uses addFlow), a denied packet's
 * drop event and policy-verdict event counted once as the rollups count them: per packet key,
 * minute, L4 kind and port, the oldest paired drop events are left out.
 */
export function graphFromFlows(flows: J[], opts?: BuildOptions): GraphResult {
  const items = flows.map((flow) => {
    const ctx = graphContext(flow);
    return { flow, ctx, counts: flowCounts(flow, ctx.reply) };
  });
  const byTime = items.map((_, i) => i).sort((a, b) => (items[a].counts.firstNs < items[b].counts.firstNs ? -1 : items[a].counts.firstNs > items[b].counts.firstNs ? 1 : a - b));
  const rows = byTime.map((i) => ({ ctxId: i, minute: Number(items[i].counts.firstNs / NS_PER_MINUTE), l4: items[i].counts.l4, port: items[i].counts.port, count: 1 }));
  const paired = pairedDropEvents(rows, (i) => items[i].ctx.pair);
  const b = new GraphBuilder(opts);
  byTime.forEach((i, k) => {
    if (!paired[k]) b.add(items[i].ctx, items[i].counts);
  });
  return b.result();
}

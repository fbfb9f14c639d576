/**
 * Folds per-context counters (a rollup row, or one live flow) into map nodes and edges. Each context
 * is decoded once by the caller (graphContext); this class only adds numbers, so building a graph
 * costs one pass over the counters whatever the window length.
 */
import { edgeId, type GraphContext } from "./graph-context";
import { histogramPercentileMs } from "./graph-latency";
import { isNoise } from "./graph-node";
import type { EdgeState, GraphEdge, GraphNode, GraphResult, PortCount } from "./graph-types";
import { NS_PER_MS } from "@/server/domain/shared/time";

export const HTTP_CLASSES = 6;
export const DNS_RCODES = 7;
export const LATENCY_BUCKETS = 26;

/** The counters of one rollup row (or of a single live flow), without its keys. */
export interface GraphCounts {
  l4: number;
  port: number;
  flows: number;
  firstNs: bigint;
  lastNs: bigint;
  httpRequests: number;
  httpStatus: readonly number[];
  dnsRequests: number;
  dnsRcodes: readonly number[];
  latencyHist: readonly number[];
  /** false when every L7 counter is zero: lets the fold skip 39 array additions (most traffic) */
  l7?: boolean;
  /**
   * of `flows`, drop events whose packet is counted by its policy-verdict event (docs/adr/0005);
   * the reader leaves them out, the builder counts `flows` as given
   */
  paired?: number;
}

const L4_NAMES: Record<number, string> = { 0: "none", 1: "TCP", 2: "UDP", 3: "ICMPv4", 4: "ICMPv6", 5: "SCTP" };
export function l4Name(l4: number): string {
  return L4_NAMES[l4] ?? `L4 ${l4}`;
}

/**
 * Every edge id ever seen gets a small number, shared by all builders (an edge's id depends only on
 * its context, so the numbering is the same for every query). Builders then keep their counters in
 * flat arrays indexed by it: folding ~20k rollup entries per refresh was dominated by string-keyed
 * Map lookups and scattered objects, and copying a builder is now a few array copies.
 */
const EDGE_INDEX = new Map<string, number>();
function edgeIndex(ctx: GraphContext): number {
  if (ctx.slot !== undefined) return ctx.slot;
  const id = ctx.edge ?? edgeId(ctx.from, ctx.to);
  let i = EDGE_INDEX.get(id);
  if (i === undefined) EDGE_INDEX.set(id, (i = EDGE_INDEX.size));
  ctx.slot = i;
  return i;
}

/** numeric counters per edge, in this order */
const FLOWS = 0;
const REPLIES = 1;
const VERDICT = { forwarded: 2, dropped: 3, audit: 4, error: 5, other: 6 } as const;
const DELIVERED = 7;
const HTTP_REQ = 8;
const DNS_REQ = 9;
/** first/last seen as ms + ns within the ms: exact, and no BigInt per counter */
const FIRST_MS = 10;
const FIRST_SUB = 11;
const LAST_MS = 12;
const LAST_SUB = 13;
const FIELDS = 14;

/** ns → [ms, ns within that ms (0…999,999)], flooring for times before 1970 too */
export function splitNs(ns: bigint): [number, number] {
  let ms = ns / NS_PER_MS;
  if (ns < 0n && ms * NS_PER_MS !== ns) ms -= 1n;
  return [Number(ms), Number(ns - ms * NS_PER_MS)];
}
/** L7 arrays per edge: HTTP classes, DNS rcodes, latency buckets */
export const L7_LEN = HTTP_CLASSES + DNS_RCODES + LATENCY_BUCKETS;

function addInto(target: Float64Array, at: number, len: number, src: readonly number[] | null | undefined): void {
  if (!src) return;
  // arrays from a newer schema may be longer: extra buckets fold into the last ("other") one
  for (let i = 0; i < src.length; i++) target[at + Math.min(i, len - 1)] += Number(src[i]) || 0;
}

export interface BuildOptions {
  /** hide host/health/unmanaged peers and kube-system (default true) */
  hideNoise?: boolean;
}

export class GraphBuilder {
  private nodes = new Map<string, GraphNode>();
  private hiddenNodes = new Set<string>();
  private hiddenFlows = 0;
  private readonly hideNoise: boolean;
  /** edge indexes in the order first seen, and what each one is */
  private touched: number[] = [];
  private ends: (GraphContext | undefined)[] = [];
  private nums = new Float64Array(0);
  private ports: (Map<number, number> | undefined)[] = [];
  private l7: (Float64Array | undefined)[] = [];
  private dropReasons: (Map<string, number> | undefined)[] = [];
  private allowed: (Set<string> | undefined)[] = [];
  private denied: (Set<string> | undefined)[] = [];

  constructor(opts: BuildOptions = {}) {
    this.hideNoise = opts.hideNoise ?? true;
  }

  /**
   * An independent copy: a map's settled minutes are folded once and kept, and each refresh adds
   * only the newest minutes to a copy. Nodes and contexts are shared: they never change.
   */
  clone(): GraphBuilder {
    const c = new GraphBuilder({ hideNoise: this.hideNoise });
    c.nodes = new Map(this.nodes);
    c.hiddenNodes = new Set(this.hiddenNodes);
    c.hiddenFlows = this.hiddenFlows;
    c.touched = [...this.touched];
    c.ends = [...this.ends];
    c.nums = this.nums.slice();
    c.ports = this.ports.map((m) => m && new Map(m));
    c.l7 = this.l7.map((a) => a?.slice());
    c.dropReasons = this.dropReasons.map((m) => m && new Map(m));
    c.allowed = this.allowed.map((x) => x && new Set(x));
    c.denied = this.denied.map((x) => x && new Set(x));
    return c;
  }

  /** Would this context be left out as noise? */
  hides(ctx: GraphContext): boolean {
    return this.hideNoise && (ctx.noise ?? (isNoise(ctx.from) || isNoise(ctx.to)));
  }

  add(ctx: GraphContext, c: GraphCounts): void {
    const [fMs, fSub] = splitNs(c.firstNs);
    const [lMs, lSub] = splitNs(c.lastNs);
    const i = this.count(ctx, c.l4, c.port, c.flows, fMs, fSub, lMs, lSub);
    if (i < 0 || c.l7 === false) return;
    this.nums[i * FIELDS + HTTP_REQ] += c.httpRequests;
    this.nums[i * FIELDS + DNS_REQ] += c.dnsRequests;
    const l7 = (this.l7[i] ??= new Float64Array(L7_LEN));
    addInto(l7, 0, HTTP_CLASSES, c.httpStatus);
    addInto(l7, HTTP_CLASSES, DNS_RCODES, c.dnsRcodes);
    addInto(l7, HTTP_CLASSES + DNS_RCODES, LATENCY_BUCKETS, c.latencyHist);
  }

  /**
   * The same as add() for counters kept in columns: `l7` holds L7_LEN numbers from `l7At` (HTTP
   * classes, DNS rcodes, latency buckets), or l7At is negative for a group without L7; first and
   * last seen come split as splitNs() splits them.
   */
  addColumns(
    ctx: GraphContext,
    l4: number,
    port: number,
    flows: number,
    firstMs: number,
    firstSub: number,
    lastMs: number,
    lastSub: number,
    httpReq: number,
    dnsReq: number,
    l7: Float64Array,
    l7At: number,
  ): void {
    const i = this.count(ctx, l4, port, flows, firstMs, firstSub, lastMs, lastSub);
    if (i < 0 || l7At < 0) return;
    this.nums[i * FIELDS + HTTP_REQ] += httpReq;
    this.nums[i * FIELDS + DNS_REQ] += dnsReq;
    const into = (this.l7[i] ??= new Float64Array(L7_LEN));
    for (let k = 0; k < L7_LEN; k++) into[k] += l7[l7At + k];
  }

  /** the L4 part of a counter; the edge's index, or -1 when nothing is counted on an edge */
  private count(ctx: GraphContext, l4: number, port: number, flows: number, fMs: number, fSub: number, lMs: number, lSub: number): number {
    if (flows <= 0) return -1;
    if (this.hides(ctx)) {
      this.hiddenFlows += flows;
      for (const n of [ctx.from, ctx.to]) if (isNoise(n)) this.hiddenNodes.add(n.id);
      return -1;
    }
    const i = edgeIndex(ctx);
    const fresh = this.ends[i] === undefined;
    if (fresh) this.touch(i, ctx);
    const n = this.nums;
    const at = i * FIELDS;
    if (fresh || fMs < n[at + FIRST_MS] || (fMs === n[at + FIRST_MS] && fSub < n[at + FIRST_SUB])) {
      n[at + FIRST_MS] = fMs;
      n[at + FIRST_SUB] = fSub;
    }
    if (fresh || lMs > n[at + LAST_MS] || (lMs === n[at + LAST_MS] && lSub > n[at + LAST_SUB])) {
      n[at + LAST_MS] = lMs;
      n[at + LAST_SUB] = lSub;
    }
    n[at + FLOWS] += flows;
    if (ctx.reply) n[at + REPLIES] += flows;
    n[at + VERDICT[ctx.verdict]] += flows;
    if (ctx.delivered) n[at + DELIVERED] += flows;
    if (ctx.dropReason) {
      const m = (this.dropReasons[i] ??= new Map());
      m.set(ctx.dropReason, (m.get(ctx.dropReason) ?? 0) + flows);
    }
    const ports = this.ports[i]!;
    const pk = l4 * 65_536 + port;
    ports.set(pk, (ports.get(pk) ?? 0) + flows);
    if (ctx.allowedBy.length) {
      const set = (this.allowed[i] ??= new Set());
      for (const p of ctx.allowedBy) set.add(p);
    }
    if (ctx.deniedBy.length) {
      const set = (this.denied[i] ??= new Set());
      for (const p of ctx.deniedBy) set.add(p);
    }
    return i;
  }

  /** the first counter of an edge in this builder: room for it, its nodes, its time span */
  private touch(i: number, ctx: GraphContext): void {
    if ((i + 1) * FIELDS > this.nums.length) {
      const grown = new Float64Array(Math.max((i + 1) * FIELDS, this.nums.length * 2, 256 * FIELDS));
      grown.set(this.nums);
      this.nums = grown;
    }
    this.ends[i] = ctx;
    this.touched.push(i);
    this.ports[i] = new Map();
    if (!this.nodes.has(ctx.from.id)) this.nodes.set(ctx.from.id, ctx.from);
    if (!this.nodes.has(ctx.to.id)) this.nodes.set(ctx.to.id, ctx.to);
  }

  result(): GraphResult {
    const edges: GraphEdge[] = [];
    for (const i of this.touched) {
      const ctx = this.ends[i]!;
      const n = this.nums;
      const at = i * FIELDS;
      const l7 = this.l7[i];
      const latency = l7 ? Array.from(l7.subarray(HTTP_CLASSES + DNS_RCODES)) : new Array<number>(LATENCY_BUCKETS).fill(0);
      const verdicts = {
        forwarded: n[at + VERDICT.forwarded],
        dropped: n[at + VERDICT.dropped],
        audit: n[at + VERDICT.audit],
        error: n[at + VERDICT.error],
        other: n[at + VERDICT.other],
      };
      const ports: PortCount[] = [...this.ports[i]!].map(([pk, flows]) => ({ protocol: l4Name(Math.floor(pk / 65_536)), port: pk % 65_536, flows }));
      edges.push({
        id: ctx.edge ?? edgeId(ctx.from, ctx.to),
        source: ctx.from.id,
        target: ctx.to.id,
        flows: n[at + FLOWS],
        replies: n[at + REPLIES],
        verdicts,
        delivered: n[at + DELIVERED],
        state: edgeState(verdicts, n[at + DELIVERED]),
        ports: ports.sort((a, b) => b.flows - a.flows || a.port - b.port),
        l7: {
          httpRequests: n[at + HTTP_REQ],
          httpStatus: l7 ? Array.from(l7.subarray(0, HTTP_CLASSES)) : new Array<number>(HTTP_CLASSES).fill(0),
          dnsRequests: n[at + DNS_REQ],
          dnsRcodes: l7 ? Array.from(l7.subarray(HTTP_CLASSES, HTTP_CLASSES + DNS_RCODES)) : new Array<number>(DNS_RCODES).fill(0),
          p50Ms: histogramPercentileMs(latency, 50),
          p95Ms: histogramPercentileMs(latency, 95),
          latencySamples: latency.reduce((s, x) => s + x, 0),
        },
        dropReasons: Object.fromEntries(this.dropReasons[i] ?? []),
        allowedBy: [...(this.allowed[i] ?? [])].sort(),
        deniedBy: [...(this.denied[i] ?? [])].sort(),
        firstSeen: (BigInt(n[at + FIRST_MS]) * NS_PER_MS + BigInt(n[at + FIRST_SUB])).toString(),
        lastSeen: (BigInt(n[at + LAST_MS]) * NS_PER_MS + BigInt(n[at + LAST_SUB])).toString(),
      });
    }
    edges.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const nodes = [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodes, edges, hidden: { flows: this.hiddenFlows, nodes: this.hiddenNodes.size } };
  }
}

export function edgeState(v: GraphEdge["verdicts"], delivered: number): EdgeState {
  if (v.dropped + v.error === 0) return "forwarded";
  return delivered === 0 ? "dropped" : "mixed";
}

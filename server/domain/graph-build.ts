/**
 * Folds per-context counters (a rollup row, or one live flow) into map nodes and edges. Each context
 * is decoded once by the caller (graphContext); this class only adds numbers, so building a graph
 * costs one pass over the counters whatever the window length.
 */
import { edgeId, type GraphContext } from "./graph-context";
import { histogramPercentileMs } from "./graph-latency";
import { isNoise } from "./graph-node";
import type { EdgeState, GraphEdge, GraphNode, GraphResult, PortCount } from "./graph-types";

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
}

const L4_NAMES: Record<number, string> = { 0: "none", 1: "TCP", 2: "UDP", 3: "ICMPv4", 4: "ICMPv6", 5: "SCTP" };
export function l4Name(l4: number): string {
  return L4_NAMES[l4] ?? `L4 ${l4}`;
}

interface EdgeAcc {
  edge: GraphEdge;
  ports: Map<number, PortCount>;
  latency: number[];
  allowed: Set<string>;
  denied: Set<string>;
  first: bigint;
  last: bigint;
}

function addInto(target: number[], src: readonly number[] | null | undefined): void {
  if (!src) return;
  // arrays from a newer schema may be longer: extra buckets fold into the last ("other") one
  for (let i = 0; i < src.length; i++) target[Math.min(i, target.length - 1)] += Number(src[i]) || 0;
}

export interface BuildOptions {
  /** hide host/health/unmanaged peers and kube-system (default true) */
  hideNoise?: boolean;
}

export class GraphBuilder {
  private nodes = new Map<string, GraphNode>();
  private edges = new Map<string, EdgeAcc>();
  private hiddenNodes = new Set<string>();
  private hiddenFlows = 0;
  private readonly hideNoise: boolean;

  constructor(opts: BuildOptions = {}) {
    this.hideNoise = opts.hideNoise ?? true;
  }

  /**
   * An independent copy: a map's settled minutes are folded once and kept, and each refresh adds
   * only the newest minutes to a copy (copying 5,000 edges costs far less than re-adding 20,000
   * counters). Nodes are shared: they are never changed after creation.
   */
  clone(): GraphBuilder {
    const c = new GraphBuilder({ hideNoise: this.hideNoise });
    c.nodes = new Map(this.nodes);
    c.hiddenNodes = new Set(this.hiddenNodes);
    c.hiddenFlows = this.hiddenFlows;
    for (const [id, a] of this.edges) {
      const e = a.edge;
      c.edges.set(id, {
        edge: {
          ...e,
          verdicts: { ...e.verdicts },
          ports: [],
          l7: { ...e.l7, httpStatus: [...e.l7.httpStatus], dnsRcodes: [...e.l7.dnsRcodes] },
          dropReasons: { ...e.dropReasons },
          allowedBy: [],
          deniedBy: [],
        },
        ports: new Map([...a.ports].map(([k, p]) => [k, { ...p }])),
        latency: [...a.latency],
        allowed: new Set(a.allowed),
        denied: new Set(a.denied),
        first: a.first,
        last: a.last,
      });
    }
    return c;
  }

  /** Would this context be left out as noise? */
  hides(ctx: GraphContext): boolean {
    return this.hideNoise && (ctx.noise ?? (isNoise(ctx.from) || isNoise(ctx.to)));
  }

  add(ctx: GraphContext, c: GraphCounts): void {
    if (c.flows <= 0) return;
    if (this.hides(ctx)) {
      this.hiddenFlows += c.flows;
      for (const n of [ctx.from, ctx.to]) if (isNoise(n)) this.hiddenNodes.add(n.id);
      return;
    }
    if (!this.nodes.has(ctx.from.id)) this.nodes.set(ctx.from.id, ctx.from);
    if (!this.nodes.has(ctx.to.id)) this.nodes.set(ctx.to.id, ctx.to);
    const id = ctx.edge ?? edgeId(ctx.from, ctx.to);
    let acc = this.edges.get(id);
    if (!acc) {
      acc = {
        edge: {
          id,
          source: ctx.from.id,
          target: ctx.to.id,
          flows: 0,
          replies: 0,
          verdicts: { forwarded: 0, dropped: 0, audit: 0, error: 0, other: 0 },
          delivered: 0,
          state: "forwarded",
          ports: [],
          l7: {
            httpRequests: 0,
            httpStatus: new Array<number>(HTTP_CLASSES).fill(0),
            dnsRequests: 0,
            dnsRcodes: new Array<number>(DNS_RCODES).fill(0),
            p50Ms: null,
            p95Ms: null,
            latencySamples: 0,
          },
          dropReasons: {},
          allowedBy: [],
          deniedBy: [],
          firstSeen: "",
          lastSeen: "",
        },
        ports: new Map(),
        latency: new Array<number>(LATENCY_BUCKETS).fill(0),
        allowed: new Set(),
        denied: new Set(),
        first: c.firstNs,
        last: c.lastNs,
      };
      this.edges.set(id, acc);
    }
    const e = acc.edge;
    e.flows += c.flows;
    if (ctx.reply) e.replies += c.flows;
    e.verdicts[ctx.verdict] += c.flows;
    if (ctx.delivered) e.delivered += c.flows;
    if (ctx.dropReason) e.dropReasons[ctx.dropReason] = (e.dropReasons[ctx.dropReason] ?? 0) + c.flows;
    const pk = c.l4 * 65_536 + c.port;
    const pc = acc.ports.get(pk);
    if (pc) pc.flows += c.flows;
    else acc.ports.set(pk, { protocol: l4Name(c.l4), port: c.port, flows: c.flows });
    if (c.l7 !== false) {
      e.l7.httpRequests += c.httpRequests;
      e.l7.dnsRequests += c.dnsRequests;
      addInto(e.l7.httpStatus, c.httpStatus);
      addInto(e.l7.dnsRcodes, c.dnsRcodes);
      addInto(acc.latency, c.latencyHist);
    }
    if (ctx.allowedBy.length) for (const p of ctx.allowedBy) acc.allowed.add(p);
    if (ctx.deniedBy.length) for (const p of ctx.deniedBy) acc.denied.add(p);
    if (c.firstNs < acc.first) acc.first = c.firstNs;
    if (c.lastNs > acc.last) acc.last = c.lastNs;
  }

  result(): GraphResult {
    const edges: GraphEdge[] = [];
    for (const acc of this.edges.values()) {
      const e = acc.edge;
      e.ports = [...acc.ports.values()].sort((a, b) => b.flows - a.flows || a.port - b.port);
      e.allowedBy = [...acc.allowed].sort();
      e.deniedBy = [...acc.denied].sort();
      e.firstSeen = acc.first.toString();
      e.lastSeen = acc.last.toString();
      e.l7.latencySamples = acc.latency.reduce((s, x) => s + x, 0);
      e.l7.p50Ms = histogramPercentileMs(acc.latency, 50);
      e.l7.p95Ms = histogramPercentileMs(acc.latency, 95);
      e.state = edgeState(e.verdicts, e.delivered);
      edges.push(e);
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

/**
 * Groups dropped (and AUDIT) flows the way a reviewer reads them: source workload → destination
 * workload / DNS name / CIDR, protocol and port, direction, drop reason and denying policy.
 *
 * The store hands over "slices" (one per flow context × protocol × port, already counted in SQL);
 * contexts differ by pod, IP and node, so slices of the same group are merged here.
 */
import type { FlowItem, FlowJson } from "../flows/flow-item";
import { httpUrlPath } from "../flows/flow-match";
import { dropReasonName, dropReasonNumber } from "../shared/drop-reasons";
import { flowPeers, peerKey, type Peer } from "../shared/peer";

export interface PolicyRef {
  name: string;
  namespace?: string;
  kind?: string;
  revision?: string;
}

export type Direction = "INGRESS" | "EGRESS" | "UNKNOWN";
export type L4Name = "TCP" | "UDP" | "ICMPv4" | "ICMPv6" | "SCTP" | "";

export interface DropSlice {
  /** the flow context as hubble JSON (everything but the per-flow fields) */
  flow: FlowJson;
  /** node of the response, when the flow itself names none */
  nodeName?: string;
  /** 0 none, 1 TCP, 2 UDP, 3 ICMPv4, 4 ICMPv6, 5 SCTP (flows.l4) */
  l4: number;
  /** destination port, or ICMP code */
  port: number | null;
  /** ICMP type */
  icmpType?: number | null;
  httpMethod?: string | null;
  httpPath?: string | null;
  count: number;
  firstNs: bigint;
  lastNs: bigint;
}

export interface DropGroup {
  key: string;
  verdict: string;
  reason: number;
  reasonName: string;
  direction: Direction;
  src: Peer;
  dst: Peer;
  protocol: L4Name;
  /** destination port (TCP/UDP/SCTP) */
  port?: number;
  /** ICMP type and code */
  icmp?: { type: number; code: number };
  /** HTTP requests seen in the group (L7 drops), at most 10 distinct */
  http: { method: string; path: string }[];
  deniedBy: PolicyRef[];
  /**
   * Set when no flow of the group names a policy: the policies other flows of the window show
   * deciding the dropping endpoint's ingress/egress (so selecting it); empty when none is known.
   */
  selectedBy?: string[];
  /** denied packets (a drop event and the policy-verdict event of the same packet count once) */
  count: number;
  /** ns since the epoch, as text (bigint does not survive JSON) */
  firstNs: string;
  lastNs: string;
  nodes: string[];
  clusters: string[];
  /** pod names seen on each side, at most 10 */
  srcPods: string[];
  dstPods: string[];
  /** every IP the destination was seen at (a DNS name resolves to several), at most 64 */
  dstIps: string[];
}

type J = Record<string, unknown>;
const L4_NAMES: L4Name[] = ["", "TCP", "UDP", "ICMPv4", "ICMPv6", "SCTP"];
const PORTED = new Set([1, 2, 5]);
const MAX_LIST = 10;
const MAX_IPS = 64;

export function directionOf(v: unknown): Direction {
  if (v === "INGRESS" || v === 1) return "INGRESS";
  if (v === "EGRESS" || v === 2) return "EGRESS";
  return "UNKNOWN";
}

export function policyList(v: unknown): PolicyRef[] {
  if (!Array.isArray(v)) return [];
  return (v as J[]).map((p) => {
    const r: PolicyRef = { name: String(p.name ?? "") };
    if (p.namespace) r.namespace = String(p.namespace);
    if (p.kind) r.kind = String(p.kind);
    if (p.revision !== undefined) r.revision = String(p.revision);
    return r;
  });
}

/** The policies that denied the flow, on the side where it was dropped (both lists when unknown). */
export function deniedBy(flow: J): PolicyRef[] {
  return [...policyList(flow.ingress_denied_by), ...policyList(flow.egress_denied_by)];
}

export function allowedBy(flow: J): PolicyRef[] {
  return [...policyList(flow.ingress_allowed_by), ...policyList(flow.egress_allowed_by)];
}

/** `ns/name` (or `name` for cluster-wide policies): how policies are named in keys and texts. */
export function policyName(p: PolicyRef): string {
  return p.namespace ? `${p.namespace}/${p.name}` : p.name;
}

function verdictName(v: unknown): string {
  return v === undefined ? "VERDICT_UNKNOWN" : String(v);
}

function pushLimited<T>(list: T[], v: T | undefined, same: (a: T) => boolean): void {
  if (v === undefined || list.length >= MAX_LIST || list.some(same)) return;
  list.push(v);
}

export function groupKeyOf(s: DropSlice): string {
  const f = s.flow as J;
  const { src, dst } = flowPeers(f);
  const pols = deniedBy(f)
    .map((p) => `${p.kind ?? ""}:${policyName(p)}`)
    .sort()
    .join("+");
  const port = PORTED.has(s.l4) ? String(s.port ?? 0) : s.l4 === 3 || s.l4 === 4 ? `${s.icmpType ?? 0}/${s.port ?? 0}` : "";
  return [verdictName(f.verdict), dropReasonNumber(f.drop_reason_desc as string | number), directionOf(f.traffic_direction), peerKey(src), peerKey(dst), L4_NAMES[s.l4] ?? String(s.l4), port, pols].join("|");
}

/** Merges slices into groups; order of the result is by count, largest first. */
export function groupDrops(slices: Iterable<DropSlice>): DropGroup[] {
  const groups = new Map<string, DropGroup & { first: bigint; last: bigint }>();
  for (const s of slices) {
    const key = groupKeyOf(s);
    const f = s.flow as J;
    let g = groups.get(key);
    if (!g) {
      const { src, dst } = flowPeers(f);
      const reason = dropReasonNumber(f.drop_reason_desc as string | number);
      g = {
        key,
        verdict: verdictName(f.verdict),
        reason,
        reasonName: dropReasonName(reason),
        direction: directionOf(f.traffic_direction),
        src,
        dst,
        protocol: L4_NAMES[s.l4] ?? "",
        http: [],
        deniedBy: deniedBy(f),
        count: 0,
        firstNs: "",
        lastNs: "",
        nodes: [],
        clusters: [],
        srcPods: [],
        dstPods: [],
        dstIps: [],
        first: s.firstNs,
        last: s.lastNs,
      };
      if (PORTED.has(s.l4) && s.port !== null) g.port = s.port;
      if ((s.l4 === 3 || s.l4 === 4) && s.port !== null) g.icmp = { type: s.icmpType ?? 0, code: s.port };
      groups.set(key, g);
    }
    g.count += s.count;
    if (s.firstNs < g.first) g.first = s.firstNs;
    if (s.lastNs > g.last) {
      g.last = s.lastNs;
      // keep the newest revision of each denying policy: that is the one in force now
      g.deniedBy = deniedBy(f);
    }
    const node = (f.node_name as string | undefined) || s.nodeName;
    pushLimited(g.nodes, node, (n) => n === node);
    const { src, dst } = flowPeers(f);
    for (const c of [src.cluster, dst.cluster]) pushLimited(g.clusters, c, (x) => x === c);
    pushLimited(g.srcPods, src.pod, (x) => x === src.pod);
    pushLimited(g.dstPods, dst.pod, (x) => x === dst.pod);
    if (dst.ip && g.dstIps.length < MAX_IPS && !g.dstIps.includes(dst.ip)) g.dstIps.push(dst.ip);
    if (s.httpMethod || s.httpPath) {
      const h = { method: (s.httpMethod ?? "").toUpperCase(), path: s.httpPath ?? "" };
      pushLimited(g.http, h, (x) => x.method === h.method && x.path === h.path);
    }
  }
  return [...groups.values()]
    .map(({ first, last, ...g }) => ({ ...g, dstIps: g.dstIps.sort(), firstNs: first.toString(), lastNs: last.toString() }))
    .sort((a, b) => b.count - a.count || (BigInt(b.lastNs) > BigInt(a.lastNs) ? 1 : -1));
}

/** One stored flow as a slice (for the raw export and for tests). */
export function sliceOfFlow(item: FlowItem, tsNs: bigint): DropSlice {
  const f = item.flow as J;
  const l4 = (f.l4 ?? {}) as J;
  const kind = Object.keys(l4)[0] ?? "";
  const n = Math.max(0, L4_NAMES.indexOf(kind as L4Name));
  const v = (l4[kind] ?? {}) as J;
  const http = ((f.l7 as J | undefined)?.http ?? undefined) as J | undefined;
  return {
    flow: item.flow,
    nodeName: item.node_name,
    l4: n,
    port: n === 3 || n === 4 ? Number(v.code ?? 0) : n ? Number(v.destination_port ?? 0) : null,
    icmpType: n === 3 || n === 4 ? Number(v.type ?? 0) : null,
    httpMethod: http ? String(http.method ?? "") : null,
    httpPath: http ? httpUrlPath(http.url as string | undefined) : null,
    count: 1,
    firstNs: tsNs,
    lastNs: tsNs,
  };
}

export type DropSort = "count" | "last" | "first" | "source" | "destination" | "port" | "reason" | "policy";
export const DROP_SORTS: DropSort[] = ["count", "last", "first", "source", "destination", "port", "reason", "policy"];

const cmpText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts a copy; ties fall back to count (largest first) so the order is stable for a reviewer. */
export function sortGroups(groups: DropGroup[], by: DropSort, dir: "asc" | "desc"): DropGroup[] {
  const sign = dir === "asc" ? 1 : -1;
  const val = (g: DropGroup): number | bigint | string => {
    switch (by) {
      case "count":
        return g.count;
      case "last":
        return BigInt(g.lastNs);
      case "first":
        return BigInt(g.firstNs);
      case "source":
        return peerKey(g.src);
      case "destination":
        return peerKey(g.dst);
      case "port":
        return g.port ?? -1;
      case "reason":
        return g.reasonName;
      case "policy":
        return g.deniedBy.map(policyName).join(",");
    }
  };
  return [...groups].sort((a, b) => {
    const x = val(a);
    const y = val(b);
    const c = typeof x === "string" ? cmpText(x, String(y)) : (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0;
    return c * sign || b.count - a.count;
  });
}

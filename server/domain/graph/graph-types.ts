/**
 * The service map's data model, shared by the server (GET /api/graph) and the /map page. Nodes are
 * workloads (not pods), reserved Cilium identities, external names (FQDN) and CIDR identities; an
 * edge is one client → server pair with everything the map shows about it.
 */

export type GraphNodeKind =
  | "workload"
  | "world"
  | "fqdn"
  | "cidr"
  | "host"
  | "remote-node"
  | "kube-apiserver"
  | "health"
  | "unmanaged"
  | "ingress"
  | "init"
  | "unknown";

export interface GraphNode {
  /** stable across requests (positions on the page are cached by it) */
  id: string;
  kind: GraphNodeKind;
  /** short display name: workload name, FQDN, CIDR, or the reserved identity */
  label: string;
  namespace?: string;
  cluster?: string;
  /** "Deployment/frontend" when the endpoint named its workload */
  workload?: string;
  /** the app-ish label used for grouping when there was no workload */
  app?: string;
}

/** Verdict groups the map colours by; REDIRECTED/TRACED/TRANSLATED and unknown numbers are "other". */
export interface VerdictCounts {
  forwarded: number;
  dropped: number;
  audit: number;
  error: number;
  other: number;
}

/** all dropped (dropped or error only) / mixed / forwarded (nothing dropped) */
export type EdgeState = "dropped" | "mixed" | "forwarded";

export interface PortCount {
  /** TCP, UDP, ICMPv4, ICMPv6, SCTP, or "L4 <n>" for a kind we do not know */
  protocol: string;
  /** server-side port; 0 for ICMP and flows without ports */
  port: number;
  flows: number;
}

export interface L7Summary {
  httpRequests: number;
  /** responses by class: 1xx 2xx 3xx 4xx 5xx other */
  httpStatus: number[];
  dnsRequests: number;
  /** responses by rcode: NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED other */
  dnsRcodes: number[];
  /** L7 response latency in ms, from the log-2 histogram (bucket midpoint); null without samples */
  p50Ms: number | null;
  p95Ms: number | null;
  latencySamples: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** every flow of the pair, requests and replies */
  flows: number;
  /** flows that were replies (oriented back onto this request edge) */
  replies: number;
  verdicts: VerdictCounts;
  /** forwarded flows seen arriving (replies, or at the destination's ingress) */
  delivered: number;
  /** dropped: drops and nothing seen arriving; mixed: drops and deliveries; forwarded: no drops */
  state: EdgeState;
  ports: PortCount[];
  l7: L7Summary;
  /** drop reason name → flows */
  dropReasons: Record<string, number>;
  /** "namespace/name" (or name) of policies that allowed / denied flows of this edge */
  allowedBy: string[];
  deniedBy: string[];
  /** ns since the epoch, as decimal strings (JSON has no 64-bit integers) */
  firstSeen: string;
  lastSeen: string;
}

export interface GraphResult {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** flows on edges to or from noise nodes that were left out */
  hidden: { flows: number; nodes: number };
}

export interface GraphResponse extends GraphResult {
  /** the window actually counted, widened to whole minutes (rollups are per minute) */
  window: { sinceNs: string; untilNs: string; live: boolean };
  /** flows per bucket of the window for the `focus` node or edge, when asked */
  series?: { startNs: string; bucketNs: string; counts: number[] };
  totals: { flows: number; nodes: number; edges: number };
}

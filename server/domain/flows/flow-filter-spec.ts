/**
 * A parsed flow filter: what the `hubble observe`-style parameters of /api/flows and /api/live mean.
 * Different fields AND together; the values inside one field OR together. Non-directional fields
 * (namespace, pod, label, ip, port, fqdn) match the source OR the destination.
 * Produced by parseFlowQuery (flow-query.ts); consumed by the in-memory matcher (flow-match.ts, live)
 * and by the SQL compiler in server/db.
 */
export interface PodSelector {
  /** undefined = any namespace */
  namespace?: string;
  /** pod name prefix; "" = every pod of the namespace */
  prefix: string;
}

/** One label requirement; a label selector value is a list of these, all of which must hold. */
export type LabelRequirement =
  | { op: "exists"; key: string }
  | { op: "notExists"; key: string }
  | { op: "in"; key: string; values: string[] }
  | { op: "notIn"; key: string; values: string[] };

/** A label selector (AND of requirements). Keys match with or without a source prefix (`k8s:`). */
export type LabelSelector = LabelRequirement[];

export interface CidrMatch {
  /** canonical text of the address ("10.0.0.0") */
  address: string;
  /** prefix length; 32/128 for a single IP */
  bits: number;
  version: 4 | 6;
}

export interface HttpStatusMatch {
  /** e.g. 404 → {min: 404, max: 404}; "4+" → {min: 400, max: 499} */
  min: number;
  max: number;
}

/** hubble --type: event_type.type number plus an optional sub_type number. */
export interface EventTypeMatch {
  type: number;
  subType?: number;
}

/** hubble's Workload filter: an empty side is any. */
export interface WorkloadMatch {
  name?: string;
  kind?: string;
}

export interface FlowFilterSpec {
  verdict?: number[];
  namespace?: string[];
  fromNamespace?: string[];
  toNamespace?: string[];
  pod?: PodSelector[];
  fromPod?: PodSelector[];
  toPod?: PodSelector[];
  label?: LabelSelector[];
  fromLabel?: LabelSelector[];
  toLabel?: LabelSelector[];
  ip?: CidrMatch[];
  fromIp?: CidrMatch[];
  toIp?: CidrMatch[];
  port?: number[];
  fromPort?: number[];
  toPort?: number[];
  /** lower-case: tcp, udp, icmpv4, icmpv6, sctp, http, dns, kafka ("icmp" expands to both icmp) */
  protocol?: string[];
  type?: EventTypeMatch[];
  /** DropReason numbers */
  dropReasonDesc?: number[];
  httpStatus?: HttpStatusMatch[];
  /** upper-case */
  httpMethod?: string[];
  /** regular expression sources, matched against the URL path */
  httpPath?: string[];
  /** patterns with `*` wildcards, matched case-insensitively against source/destination names */
  fqdn?: string[];
  fromFqdn?: string[];
  toFqdn?: string[];
  /** patterns with `*` wildcards */
  nodeName?: string[];
  /** TrafficDirection numbers (1 ingress, 2 egress) */
  trafficDirection?: number[];
  cluster?: string[];
  uuid?: string[];
  // The fields below come from hubble's FlowFilter (the gRPC API); /api/flows has no parameter for them.
  /** is_reply ∈ values; a DROPPED flow without is_reply counts as not a reply (hubble's rule) */
  reply?: boolean[];
  /** source_service / destination_service: same selectors as pods, over Service {namespace, name} */
  fromService?: PodSelector[];
  toService?: PodSelector[];
  /** security identity numbers */
  fromIdentity?: number[];
  toIdentity?: number[];
  /** IPVersion numbers (1 IPv4, 2 IPv6); a flow without IP never matches */
  ipVersion?: number[];
  fromWorkload?: WorkloadMatch[];
  toWorkload?: WorkloadMatch[];
  /** regular expression sources (portable subset), searched in the DNS query name */
  dnsQuery?: string[];
  /** TCP flag bit masks (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128 NS=256): a flow matches when it has every bit of one mask */
  tcpFlags?: number[];
  /** trace_context.parent.trace_id, exact */
  traceId?: string[];
  /**
   * The caller's namespace scope (never from a URL parameter: set by the server from who asks):
   * patterns; the flow's source or destination namespace must match one. Absent = no restriction;
   * an empty list = nothing is visible. See auth/namespace-scope.ts.
   */
  scope?: string[];
}

/**
 * The conditions on a flow's own fields (ports, protocol, L7, uuid); every other condition depends
 * only on its context (endpoints, verdict, IPs, names, node…), so it can be evaluated once per
 * distinct context — for stored flows (server/db) and live ones (server/live) alike.
 */
export const FLOW_LEVEL_KEYS = [
  "port",
  "fromPort",
  "toPort",
  "protocol",
  "httpStatus",
  "httpMethod",
  "httpPath",
  "uuid",
  "dnsQuery",
  "tcpFlags",
  "traceId",
] as const;

export function splitSpec(spec: FlowFilterSpec): { context: FlowFilterSpec; flow: FlowFilterSpec } {
  const context: FlowFilterSpec = { ...spec };
  const flow: FlowFilterSpec = {};
  for (const k of FLOW_LEVEL_KEYS) {
    if (spec[k] !== undefined) (flow as Record<string, unknown>)[k] = spec[k];
    delete context[k];
  }
  return { context, flow };
}

export function hasConditions(spec: FlowFilterSpec): boolean {
  // an empty scope is a condition (nothing visible), unlike an empty value list
  return spec.scope !== undefined || Object.values(spec).some((v) => Array.isArray(v) && v.length > 0);
}

/**
 * Several filters, as hubble's GetFlowsRequest has them: a flow is kept when it matches ANY
 * whitelist filter (or there is none) and NO blacklist filter. /api/flows is the case of one
 * whitelist filter.
 */
export interface FlowFilterSet {
  whitelist: FlowFilterSpec[];
  blacklist: FlowFilterSpec[];
}

export interface FlowQuery {
  filter: FlowFilterSpec;
  /** nanoseconds since the epoch, inclusive */
  sinceNs?: bigint;
  /** nanoseconds since the epoch, exclusive */
  untilNs?: bigint;
  /** only the N newest */
  last?: number;
  limit: number;
  cursor?: string;
  format: "json" | "jsonl" | "csv";
}

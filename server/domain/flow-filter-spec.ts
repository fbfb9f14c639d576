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
export const FLOW_LEVEL_KEYS = ["port", "fromPort", "toPort", "protocol", "httpStatus", "httpMethod", "httpPath", "uuid"] as const;

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

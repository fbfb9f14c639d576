/**
 * Names for the hubble enums the UI shows. The API already sends enums as names, but an enum value
 * newer than the backend's protos arrives as a number (docs/api.md), and a few fields (DNS rcode,
 * event_type numbers) are plain integers. Numbers we don't know are shown as numbers, never dropped.
 */
import { RCODE_NAMES } from "@/server/domain/dns/dns-types";

export const VERDICTS = [
  "FORWARDED",
  "DROPPED",
  "ERROR",
  "AUDIT",
  "REDIRECTED",
  "TRACED",
  "TRANSLATED",
] as const;
export type VerdictName = (typeof VERDICTS)[number];

const VERDICT_BY_NUMBER: Record<number, string> = {
  0: "VERDICT_UNKNOWN",
  1: "FORWARDED",
  2: "DROPPED",
  3: "ERROR",
  4: "AUDIT",
  5: "REDIRECTED",
  6: "TRACED",
  7: "TRANSLATED",
};

/** Verdict as a name; numbers map to names when known, otherwise stay as their digits. */
export function verdictName(v: unknown): string {
  if (typeof v === "number") return VERDICT_BY_NUMBER[v] ?? String(v);
  if (typeof v === "string" && v !== "") {
    if (/^\d+$/.test(v)) return VERDICT_BY_NUMBER[Number(v)] ?? v;
    return v.toUpperCase();
  }
  // proto3 JSON leaves out zero values: no verdict means VERDICT_UNKNOWN.
  return "VERDICT_UNKNOWN";
}

/** flow.DropReason (proto/flow/flow.proto). */
export const DROP_REASONS: Readonly<Record<number, string>> = {
  0: "DROP_REASON_UNKNOWN",
  130: "INVALID_SOURCE_MAC",
  131: "INVALID_DESTINATION_MAC",
  132: "INVALID_SOURCE_IP",
  133: "POLICY_DENIED",
  134: "INVALID_PACKET_DROPPED",
  135: "CT_TRUNCATED_OR_INVALID_HEADER",
  136: "CT_MISSING_TCP_ACK_FLAG",
  137: "CT_UNKNOWN_L4_PROTOCOL",
  138: "CT_CANNOT_CREATE_ENTRY_FROM_PACKET",
  139: "UNSUPPORTED_L3_PROTOCOL",
  140: "MISSED_TAIL_CALL",
  141: "ERROR_WRITING_TO_PACKET",
  142: "UNKNOWN_L4_PROTOCOL",
  143: "UNKNOWN_ICMPV4_CODE",
  144: "UNKNOWN_ICMPV4_TYPE",
  145: "UNKNOWN_ICMPV6_CODE",
  146: "UNKNOWN_ICMPV6_TYPE",
  150: "UNKNOWN_L3_TARGET_ADDRESS",
  151: "STALE_OR_UNROUTABLE_IP",
  152: "NO_MATCHING_LOCAL_CONTAINER_FOUND",
  155: "CT_MAP_INSERTION_FAILED",
  157: "IP_FRAGMENTATION_NOT_SUPPORTED",
  158: "SERVICE_BACKEND_NOT_FOUND",
  160: "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT",
  161: "FAILED_TO_INSERT_INTO_PROXYMAP",
  162: "REACHED_EDT_RATE_LIMITING_DROP_HORIZON",
  163: "UNKNOWN_CONNECTION_TRACKING_STATE",
  164: "LOCAL_HOST_IS_UNREACHABLE",
  165: "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION",
  166: "UNSUPPORTED_L2_PROTOCOL",
  167: "NO_MAPPING_FOR_NAT_MASQUERADE",
  169: "FIB_LOOKUP_FAILED",
  170: "ENCAPSULATION_TRAFFIC_IS_PROHIBITED",
  171: "INVALID_IDENTITY",
  172: "UNKNOWN_SENDER",
  173: "NAT_NOT_NEEDED",
  174: "IS_A_CLUSTERIP",
  175: "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND",
  176: "FORBIDDEN_ICMPV6_MESSAGE",
  177: "DENIED_BY_LB_SRC_RANGE_CHECK",
  178: "SOCKET_LOOKUP_FAILED",
  179: "SOCKET_ASSIGN_FAILED",
  180: "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL",
  181: "POLICY_DENY",
  182: "VLAN_FILTERED",
  183: "INVALID_VNI",
  184: "INVALID_TC_BUFFER",
  185: "NO_SID",
  186: "MISSING_SRV6_STATE",
  187: "NAT46",
  188: "NAT64",
  189: "AUTH_REQUIRED",
  190: "CT_NO_MAP_FOUND",
  191: "SNAT_NO_MAP_FOUND",
  192: "INVALID_CLUSTER_ID",
  193: "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP",
  194: "NO_EGRESS_GATEWAY",
  195: "UNENCRYPTED_TRAFFIC",
  196: "TTL_EXCEEDED",
  197: "NO_NODE_ID",
  198: "DROP_RATE_LIMITED",
  202: "DROP_HOST_NOT_READY",
  203: "DROP_EP_NOT_READY",
  204: "DROP_NO_EGRESS_IP",
  205: "DROP_PUNT_PROXY",
};

/** Known DropReason names, for the filter's suggestions. */
export const DROP_REASON_NAMES: readonly string[] = Object.entries(DROP_REASONS)
  .filter(([n]) => n !== "0")
  .map(([, name]) => name);

export interface DropReasonLabel {
  /** the name, or `drop reason <n>` for a number we don't know */
  text: string;
  /** the number when the API sent one (unknown to its protos) */
  number?: number;
  known: boolean;
}

/** A drop reason as sent (name or number) → something readable that still carries the number. */
export function dropReasonLabel(v: unknown): DropReasonLabel | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined;
  if (n !== undefined) {
    const name = DROP_REASONS[n];
    return name ? { text: name, number: n, known: true } : { text: `drop reason ${n}`, number: n, known: false };
  }
  return { text: String(v), known: true };
}

export function dnsRcodeName(rcode: unknown): string {
  const n = typeof rcode === "number" ? rcode : typeof rcode === "string" ? Number(rcode) : 0;
  if (!Number.isFinite(n)) return String(rcode);
  return RCODE_NAMES[n] ?? `RCODE ${n}`;
}

/** Monitor message types (event_type.type) in `hubble observe --type` spelling. */
const EVENT_TYPES: Record<number, string> = {
  1: "drop",
  2: "debug",
  3: "capture",
  4: "trace",
  5: "policy-verdict",
  7: "sock",
  129: "l7",
  130: "agent",
};

/** Trace sub-types (event_type.sub_type for type 4), as hubble prints them. */
const TRACE_SUB_TYPES: Record<number, string> = {
  0: "to-endpoint",
  1: "to-proxy",
  2: "to-host",
  3: "to-stack",
  4: "to-overlay",
  5: "from-endpoint",
  6: "from-proxy",
  7: "from-host",
  8: "from-stack",
  9: "from-overlay",
  10: "from-network",
  11: "to-network",
  12: "from-crypto",
  13: "to-crypto",
};

/** `trace:to-stack`, `drop`, `l7`, or `type 42` for an unknown number. */
export function eventTypeLabel(type: unknown, subType: unknown): string | undefined {
  if (typeof type !== "number") return undefined;
  const name = EVENT_TYPES[type];
  if (!name) return `type ${type}`;
  if (type === 4) {
    const sub = typeof subType === "number" ? subType : 0;
    return `trace:${TRACE_SUB_TYPES[sub] ?? sub}`;
  }
  return name;
}

/** Suggestions for the `type` filter. */
export const EVENT_TYPE_SUGGESTIONS = [
  "trace",
  "drop",
  "l7",
  "policy-verdict",
  "capture",
  "sock",
  "debug",
  ...Object.values(TRACE_SUB_TYPES).map((s) => `trace:${s}`),
];

export const PROTOCOL_SUGGESTIONS = ["tcp", "udp", "icmp", "icmpv4", "icmpv6", "sctp", "http", "dns", "kafka"];
export const HTTP_METHOD_SUGGESTIONS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

export type Tone = "ok" | "bad" | "warn" | "info" | "muted" | "accent";

/** Colour family of a verdict badge. */
export function verdictTone(verdict: unknown): Tone {
  switch (verdictName(verdict)) {
    case "FORWARDED":
      return "ok";
    case "DROPPED":
    case "ERROR":
      return "bad";
    case "AUDIT":
      return "warn";
    case "REDIRECTED":
      return "info";
    case "TRANSLATED":
      return "accent";
    default:
      return "muted";
  }
}

/** relay.NodeState as sent in /api/status nodes. */
export function nodeStateTone(state: string): Tone {
  switch (state) {
    case "NODE_CONNECTED":
      return "ok";
    case "NODE_UNAVAILABLE":
      return "warn";
    case "NODE_ERROR":
    case "NODE_GONE":
      return "bad";
    default:
      return "muted";
  }
}

/** `NODE_CONNECTED` → `connected`. */
export function nodeStateLabel(state: string): string {
  return state.replace(/^NODE_/, "").replace(/_NODE_STATE$/, "").toLowerCase().replace(/_/g, " ");
}

export function relayStateTone(state: string | undefined): Tone {
  switch (state) {
    case "connected":
      return "ok";
    case "connecting":
      return "warn";
    case "disconnected":
      return "bad";
    case "demo":
      return "accent";
    default:
      return "muted";
  }
}

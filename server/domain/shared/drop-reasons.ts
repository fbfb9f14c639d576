/**
 * What each Cilium DropReason means, in words a reviewer can put in an audit report. Names come from
 * the generated enum (so a renamed or added value shows up here); numbers this build does not know
 * stay numbers with a plain "unknown" explanation — newer agents send reasons we have never seen.
 */
import { DropReasonSchema } from "@/proto/gen/flow/flow_pb";

export const POLICY_DENIED = 133;
export const POLICY_DENY = 181;
export const AUTH_REQUIRED = 189;

/** The reasons that a policy change can cause or cure (the /policies and rule views care only about these). */
export const POLICY_REASONS: ReadonlySet<number> = new Set([POLICY_DENIED, POLICY_DENY, AUTH_REQUIRED]);

export type DropCategory = "policy" | "auth" | "connection-tracking" | "routing" | "packet" | "resource" | "other" | "unknown";

const NAMES = new Map(DropReasonSchema.values.map((v) => [v.number, v.name]));

/** Enum name for a number, or the number as text when this build does not know it. */
export function dropReasonName(n: number): string {
  return NAMES.get(n) ?? String(n);
}

/** Accepts what hubble JSON holds in drop_reason_desc: a name, a number, or nothing (0). */
export function dropReasonNumber(v: string | number | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  const hit = DropReasonSchema.values.find((x) => x.name === v);
  return hit ? hit.number : /^\d+$/.test(v) ? Number(v) : 0;
}

const MEANINGS: Record<number, [DropCategory, string]> = {
  0: ["unknown", "The datapath gave no reason for the drop."],
  130: ["packet", "The packet's source MAC address is not the endpoint's own (spoofing protection)."],
  131: ["packet", "The packet's destination MAC address does not belong to the receiving interface."],
  132: ["packet", "The source IP is not an address of the sending endpoint (anti-spoofing)."],
  [POLICY_DENIED]: ["policy", "No policy rule allows this connection."],
  134: ["packet", "The packet was malformed and could not be parsed."],
  135: ["connection-tracking", "Connection tracking could not read the headers (truncated or invalid)."],
  136: ["connection-tracking", "A TCP packet without ACK arrived for a connection connection tracking does not know."],
  137: ["connection-tracking", "Connection tracking does not handle this L4 protocol."],
  138: ["connection-tracking", "Connection tracking could not create an entry for this packet."],
  139: ["packet", "The L3 protocol is not supported by the datapath."],
  140: ["resource", "A BPF tail call was missed (program not loaded); usually transient during agent restarts."],
  141: ["resource", "The datapath failed to rewrite the packet."],
  142: ["packet", "The L4 protocol is unknown to the datapath."],
  143: ["packet", "Unknown ICMPv4 code."],
  144: ["packet", "Unknown ICMPv4 type."],
  145: ["packet", "Unknown ICMPv6 code."],
  146: ["packet", "Unknown ICMPv6 type."],
  150: ["routing", "The L3 target address is unknown."],
  151: ["routing", "The IP address is stale or not routable (e.g. a pod that no longer exists)."],
  152: ["routing", "No local endpoint (container) owns the destination address."],
  155: ["resource", "The connection tracking map is full: new connections cannot be tracked."],
  157: ["packet", "IP fragments are not supported by this configuration."],
  158: ["routing", "The service has no backend to send this connection to."],
  160: ["routing", "No tunnel or encapsulation endpoint is known for the destination node."],
  161: ["resource", "The proxy map could not take a new entry."],
  162: ["resource", "The EDT rate limiter dropped the packet (bandwidth manager horizon reached)."],
  163: ["connection-tracking", "The connection tracking state of this packet is unknown."],
  164: ["routing", "The local host is unreachable."],
  165: ["policy", "The agent had no configuration yet to take a policy decision (endpoint not ready)."],
  166: ["packet", "The L2 protocol is not supported."],
  167: ["routing", "No NAT/masquerade mapping exists for this packet."],
  169: ["routing", "The FIB lookup for the destination failed."],
  170: ["routing", "Encapsulated traffic is not allowed here."],
  171: ["policy", "The security identity of the packet is invalid."],
  172: ["policy", "The sender is unknown to the datapath."],
  173: ["routing", "NAT was not needed for this packet."],
  174: ["routing", "The destination is a ClusterIP that cannot be reached this way."],
  175: ["packet", "The first fragment of this datagram was not found."],
  176: ["packet", "This ICMPv6 message type is forbidden."],
  177: ["policy", "Denied by the load balancer's source range check (loadBalancerSourceRanges)."],
  178: ["resource", "Socket lookup failed."],
  179: ["resource", "Socket assignment failed."],
  180: ["routing", "Proxy redirection is not supported for this protocol."],
  [POLICY_DENY]: ["policy", "An explicit deny rule matched this connection; deny rules win over every allow rule."],
  182: ["packet", "Filtered by the VLAN filter."],
  183: ["packet", "The VNI in the encapsulation header is invalid."],
  184: ["resource", "The TC buffer is invalid."],
  185: ["routing", "No SRv6 SID was found."],
  186: ["routing", "The SRv6 state is missing."],
  187: ["routing", "NAT46 translation failed."],
  188: ["routing", "NAT64 translation failed."],
  [AUTH_REQUIRED]: ["auth", "A policy requires mutual authentication for this peer, and the handshake had not completed."],
  190: ["connection-tracking", "No connection tracking map was found."],
  191: ["routing", "No SNAT map was found."],
  192: ["routing", "The cluster ID is invalid (cluster mesh)."],
  193: ["routing", "The protocol is not supported for DSR encapsulation."],
  194: ["routing", "No egress gateway is available for this traffic."],
  195: ["policy", "Unencrypted traffic was dropped because encryption is enforced."],
  196: ["routing", "The packet's TTL was exceeded."],
  197: ["routing", "No node ID is known for the destination node."],
  198: ["resource", "Rate limited (e.g. the agent's rate limit on ICMP or API traffic)."],
  202: ["resource", "The host was not ready to handle traffic yet."],
  203: ["resource", "The endpoint was not ready to handle traffic yet (regenerating)."],
  204: ["routing", "No egress IP is configured for this egress gateway policy."],
  205: ["routing", "The packet was punted to the proxy and dropped there."],
};

export interface DropReasonInfo {
  number: number;
  /** enum name, or the number as text */
  name: string;
  category: DropCategory;
  meaning: string;
  known: boolean;
}

export function dropReasonInfo(n: number): DropReasonInfo {
  const m = MEANINGS[n];
  const name = dropReasonName(n);
  if (m) return { number: n, name, category: m[0], meaning: m[1], known: true };
  if (NAMES.has(n)) {
    // a value of our enum without a sentence here: say what the name says rather than nothing
    return { number: n, name, category: "other", meaning: `Dropped by the datapath: ${name.toLowerCase().replaceAll("_", " ")}.`, known: true };
  }
  return {
    number: n,
    name,
    category: "unknown",
    meaning: `Drop reason ${n} is not known to this Flowlens version (a newer Cilium agent?); look it up in Cilium's pkg/monitor/api drop reasons.`,
    known: false,
  };
}

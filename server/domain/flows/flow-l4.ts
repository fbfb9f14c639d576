/** A flow's L4 as the rollups key it (flows.l4 numbers), from hubble's Flow JSON. */
import { record } from "@/server/domain/shared/json";

/** hubble's l4 oneof names → flows.l4 (0: none) */
const L4_KINDS: readonly (readonly [string, number])[] = [
  ["TCP", 1],
  ["UDP", 2],
  ["ICMPv4", 3],
  ["ICMPv6", 4],
  ["SCTP", 5],
];

/**
 * The L4 kind and the server's port, by the rollups' rule: the destination port, the source port
 * of a reply; 0 for ICMP and flows without L4.
 */
export function l4AndServerPort(flow: Record<string, unknown>, reply: boolean): { l4: number; port: number } {
  const l4j = record(flow.l4);
  const kind = L4_KINDS.find(([k]) => k in l4j);
  if (!kind) return { l4: 0, port: 0 };
  if (kind[1] > 2 && kind[1] < 5) return { l4: kind[1], port: 0 };
  const ports = record(l4j[kind[0]]);
  return { l4: kind[1], port: Number((reply ? ports.source_port : ports.destination_port) ?? 0) || 0 };
}

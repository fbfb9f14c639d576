/** A connection's requests in a time window as an /api/flows (and /flows) query: the evidence link. */
import { peerParams } from "../drops/drop-links";
import { formatRfc3339Ns } from "../shared/time";
import type { ConnectionOutcome } from "./outcome";

export function connectionFlowsQuery(c: Pick<ConnectionOutcome, "client" | "server" | "protocol" | "port">, sinceNs: bigint, untilNs: bigint): string {
  const out = new URLSearchParams();
  out.append("since", formatRfc3339Ns(sinceNs));
  out.append("until", formatRfc3339Ns(untilNs));
  peerParams(c.client, "from", out);
  peerParams(c.server, "to", out);
  if (c.protocol) out.append("protocol", c.protocol.toLowerCase());
  if (c.port !== undefined) out.append("to-port", String(c.port));
  return out.toString();
}

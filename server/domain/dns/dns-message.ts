/**
 * A decoded Hubble Flow as a DnsMessage, for flows that are already decoded (the recorded samples,
 * the live stream). Stored flows take the cheaper column path in server/db/dns/dns-messages.ts; both must
 * give the same message, which the integration test checks through the API.
 */
import type { Flow } from "@/proto/gen/flow/flow_pb";
import { peer } from "./dns-peer";
import type { DnsMessage } from "./dns-types";

const L7_REQUEST = 1;
const L7_RESPONSE = 2;

export function dnsMessageOfFlow(flow: Flow, key: string, matched = true): DnsMessage | null {
  const l7 = flow.l7;
  if (!l7 || l7.record.case !== "dns" || (l7.type !== L7_REQUEST && l7.type !== L7_RESPONSE)) return null;
  const d = l7.record.value;
  const request = l7.type === L7_REQUEST;
  const src = peer(flow.source, flow.IP?.source ?? "");
  const dst = peer(flow.destination, flow.IP?.destination ?? "");
  const ports = flow.l4?.protocol.case === "TCP" || flow.l4?.protocol.case === "UDP" ? flow.l4.protocol.value : undefined;
  const t = flow.time ? Number(flow.time.seconds) * 1000 + flow.time.nanos / 1e6 : 0;
  return {
    key,
    tMs: t,
    kind: request ? "request" : "response",
    query: d.query,
    qtypes: [...d.qtypes],
    rcode: request ? null : d.rcode,
    latencyNs: l7.latencyNs > 0n ? Number(l7.latencyNs) : null,
    client: request ? src : dst,
    server: request ? dst : src,
    clientPort: ports ? (request ? ports.sourcePort : ports.destinationPort) : null,
    node: flow.nodeName,
    matched,
  };
}

/**
 * Decodes a flow context's bytes (see flow-fields.ts) into the columns of flow_contexts, endpoints
 * and policies. Runs once per distinct context, so a full protobuf-es decode is fine here.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EndpointSchema, FlowSchema, PolicySchema, type Endpoint, type Policy } from "@/proto/gen/flow/flow_pb";
import { BoundedMap } from "@/server/domain/shared/bounded-map";
import { FLOW_DESTINATION, FLOW_SOURCE } from "./flow-fields";
import { WIRE_LEN, WireCursor } from "./wire";

export interface EndpointColumns {
  hash: string; // hex
  epId: string | null;
  identity: string | null;
  namespace: string | null;
  podName: string | null;
  labels: string[];
  workloads: string[];
  cluster: string | null;
}

export interface PolicyColumns {
  hash: string; // hex
  name: string;
  namespace: string | null;
  kind: string | null;
  revision: string | null;
  labels: string[];
}

export interface ContextColumns {
  nodeName: string | null;
  verdict: number;
  dropReason: number;
  flowType: number;
  eventType: number | null;
  eventSubType: number | null;
  direction: number;
  isReply: boolean | null;
  tracePoint: number;
  ipVersion: number;
  srcIp: string | null;
  dstIp: string | null;
  src: EndpointColumns | null;
  dst: EndpointColumns | null;
  srcNames: string[];
  dstNames: string[];
  srcService: string | null;
  dstService: string | null;
  ingressAllowedBy: PolicyColumns[];
  egressAllowedBy: PolicyColumns[];
  ingressDeniedBy: PolicyColumns[];
  egressDeniedBy: PolicyColumns[];
}

/** Postgres text cannot hold NUL; columns are for searching, the original bytes stay intact. */
export function pgText(s: string): string;
export function pgText(s: string | null | undefined): string | null;
export function pgText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s;
}

const md5hex = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const orNull = (s: string) => (s === "" ? null : pgText(s));

/**
 * Endpoint columns by the endpoint's own bytes. An endpoint recurs in many contexts (each of its
 * conversations, each verdict), and its hash needs a re-encode (toBinary): most of the cost of a
 * new context. The columns are a function of those bytes, so a repeat gives the same columns.
 */
const endpointMemo = new BoundedMap<string, EndpointColumns>(20_000);

/** the payload of field `no` as a latin1 string when it occurs exactly once (length-delimited), else null */
function onlyOccurrence(raw: Uint8Array, no: number): string | null {
  let found: string | null = null;
  const c = new WireCursor(raw);
  while (!c.done()) {
    c.field();
    if (c.fieldNo !== no) continue;
    // a second occurrence merges into the first: the decoded message is not one payload's
    if (found !== null || c.wireType !== WIRE_LEN) return null;
    found = Buffer.from(raw.buffer, raw.byteOffset + c.valueStart, c.valueEnd - c.valueStart).toString("latin1");
  }
  return found;
}

function memoEndpoint(raw: Uint8Array, no: number, ep: Endpoint | undefined): EndpointColumns | null {
  if (!ep) return null;
  const bytes = onlyOccurrence(raw, no);
  if (bytes === null) return endpointColumns(ep);
  let cols = endpointMemo.get(bytes);
  if (!cols) {
    cols = endpointColumns(ep);
    endpointMemo.set(bytes, cols);
  }
  return cols;
}

function endpointColumns(ep: Endpoint): EndpointColumns {
  return {
    hash: md5hex(toBinary(EndpointSchema, ep)),
    epId: ep.ID ? String(ep.ID) : null,
    identity: ep.identity ? String(ep.identity) : null,
    namespace: orNull(ep.namespace),
    podName: orNull(ep.podName),
    labels: ep.labels.map((l) => pgText(l)),
    workloads: ep.workloads.map((w) => pgText(`${w.kind}/${w.name}`)),
    cluster: orNull(ep.clusterName),
  };
}

function policyColumns(p: Policy): PolicyColumns {
  return {
    hash: md5hex(toBinary(PolicySchema, p)),
    name: pgText(p.name),
    namespace: orNull(p.namespace),
    kind: orNull(p.kind),
    revision: p.revision ? String(p.revision) : null,
    labels: p.labels.map((l) => pgText(l)),
  };
}

/** the address part only: PostgreSQL's inet has no IPv6 zone (fe80::1%eth0) */
const ip = (s: string | undefined) => {
  const addr = s?.split("%")[0];
  return addr && isIP(addr) ? addr : null;
};
const service = (s: { name: string; namespace: string } | undefined) =>
  s && (s.name || s.namespace) ? pgText(s.namespace ? `${s.namespace}/${s.name}` : s.name) : null;

export function contextColumns(raw: Uint8Array): ContextColumns {
  const f = fromBinary(FlowSchema, raw);
  return {
    nodeName: orNull(f.nodeName),
    verdict: f.verdict,
    dropReason: f.dropReasonDesc || f.dropReason,
    flowType: f.Type,
    eventType: f.eventType ? f.eventType.type : null,
    eventSubType: f.eventType ? f.eventType.subType : null,
    direction: f.trafficDirection,
    // older agents set only the deprecated `reply`
    isReply: f.isReply ?? (f.reply ? true : null),
    tracePoint: f.traceObservationPoint,
    ipVersion: f.IP?.ipVersion ?? 0,
    srcIp: ip(f.IP?.source),
    dstIp: ip(f.IP?.destination),
    src: memoEndpoint(raw, FLOW_SOURCE, f.source),
    dst: memoEndpoint(raw, FLOW_DESTINATION, f.destination),
    srcNames: f.sourceNames.map((n) => pgText(n)),
    dstNames: f.destinationNames.map((n) => pgText(n)),
    srcService: service(f.sourceService),
    dstService: service(f.destinationService),
    ingressAllowedBy: f.ingressAllowedBy.map(policyColumns),
    egressAllowedBy: f.egressAllowedBy.map(policyColumns),
    ingressDeniedBy: f.ingressDeniedBy.map(policyColumns),
    egressDeniedBy: f.egressDeniedBy.map(policyColumns),
  };
}

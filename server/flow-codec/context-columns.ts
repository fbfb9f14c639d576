/**
 * Decodes a flow context's bytes (see flow-fields.ts) into the columns of flow_contexts, endpoints
 * and policies. Runs once per distinct context, so a full protobuf-es decode is fine here.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EndpointSchema, FlowSchema, PolicySchema, type Endpoint, type Policy } from "@/proto/gen/flow/flow_pb";

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

function endpointColumns(ep: Endpoint | undefined): EndpointColumns | null {
  if (!ep) return null;
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
    src: endpointColumns(f.source),
    dst: endpointColumns(f.destination),
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

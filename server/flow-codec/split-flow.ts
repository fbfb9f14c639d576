/**
 * Splits one raw GetFlowsResponse into what the store keeps: a per-flow row and the bytes of its
 * shared context. Only the fields stored in columns are decoded; everything else is carried as the
 * original bytes, so rebuild-flow.ts gives back a Flow equal to the one the Relay sent.
 */
import { createHash } from "node:crypto";
import {
  CONTEXT_FIELDS,
  FLOW_L4,
  FLOW_L7,
  FLOW_SUMMARY,
  FLOW_TIME,
  FLOW_UUID,
  FLOW_NODE_NAME,
  L4_SCTP,
  L4_TCP,
  L4_UDP,
  L7_DNS,
  L7_HTTP,
  L7_KAFKA,
  RESP_FLOW,
  RESP_LOST_EVENTS,
  RESP_NODE_NAME,
  RESP_NODE_STATUS,
  RESP_TIME,
} from "./flow-fields";
import { WIRE_LEN, WIRE_VARINT, WireCursor } from "./wire";

const NS_PER_S = 1_000_000_000n;
const MAX_INT64 = 0x7fffffffffffffffn;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface L7Parts {
  l7Type: number | null;
  /** the Layer7 record's field number: 100 DNS, 101 HTTP, 102 Kafka */
  l7Kind: number | null;
  latencyNs: bigint | null;
  dnsQuery: string | null;
  dnsRcode: number | null;
  httpCode: number | null;
  httpMethod: string | null;
  httpUrl: string | null;
}

export interface FlowRow extends L7Parts {
  /** ns since the epoch */
  ts: bigint;
  /** 16 bytes: the uuid, or md5(node + flow bytes) when keyDerived */
  key: Buffer;
  keyDerived: boolean;
  /** the context fields' original bytes, in wire order */
  ctxRaw: Buffer;
  /** md5 of ctxRaw and the response-level node name marker */
  ctxHash: Buffer;
  /** GetFlowsResponse.node_name when it differs from the flow's node_name ("" = absent) */
  responseNodeName: string | null;
  nodeName: string;
  l4: number;
  sport: number | null;
  dport: number | null;
  tcpFlags: number | null;
  /** Summary text bytes of a non-L7 flow, to be interned */
  summary: Buffer | null;
  /** the Layer7 message bytes; its search columns come from L7Parts */
  l7: Buffer | null;
  /** other per-flow fields as their original bytes */
  rest: Buffer | null;
  /** GetFlowsResponse.time when it differs from the flow's time; -1n = absent */
  respTs: bigint | null;
  /** the raw Flow bytes (a view into the response), for live fan-out */
  flowBytes: Buffer;
}

export type SplitResponse =
  | { kind: "flow"; row: FlowRow }
  | { kind: "node_status"; bytes: Buffer; nodeName: string; timeNs: bigint | null }
  | { kind: "lost_events"; bytes: Buffer; nodeName: string; timeNs: bigint | null }
  | { kind: "empty" };

function readTimestamp(buf: Uint8Array, start: number, end: number): bigint {
  const c = new WireCursor(buf, start, end);
  let seconds = 0n;
  let nanos = 0n;
  while (!c.done()) {
    c.field();
    if (c.wireType !== WIRE_VARINT) continue;
    if (c.fieldNo === 1) seconds = BigInt.asIntN(64, c.varintValueBig());
    else if (c.fieldNo === 2) nanos = BigInt(Number(BigInt.asIntN(32, c.varintValueBig())));
  }
  return seconds * NS_PER_S + nanos;
}

interface L4Parts {
  l4: number;
  sport: number | null;
  dport: number | null;
  tcpFlags: number | null;
  /** false when the message holds anything our columns cannot rebuild exactly */
  exact: boolean;
}

function readTcpFlags(c: WireCursor): number | null {
  const f = new WireCursor(c.buf, c.valueStart, c.valueEnd);
  let bits = 0;
  while (!f.done()) {
    f.field();
    if (f.wireType !== WIRE_VARINT || f.fieldNo < 1 || f.fieldNo > 9) return null;
    if (f.varintValue() === 1) bits |= 1 << (f.fieldNo - 1);
    else if (f.varintValue() !== 0) return null;
  }
  return bits;
}

function readL4(buf: Uint8Array, start: number, end: number): L4Parts {
  const outer = new WireCursor(buf, start, end);
  const parts: L4Parts = { l4: 0, sport: null, dport: null, tcpFlags: null, exact: true };
  let members = 0;
  while (!outer.done()) {
    outer.field();
    members++;
    if (outer.wireType !== WIRE_LEN) {
      parts.exact = false;
      continue;
    }
    parts.l4 = outer.fieldNo;
    if (outer.fieldNo < L4_TCP || outer.fieldNo > L4_SCTP) {
      parts.exact = false;
      continue;
    }
    const inner = new WireCursor(buf, outer.valueStart, outer.valueEnd);
    while (!inner.done()) {
      inner.field();
      if (inner.fieldNo === 1 && inner.wireType === WIRE_VARINT) parts.sport = inner.varintValue();
      else if (inner.fieldNo === 2 && inner.wireType === WIRE_VARINT) parts.dport = inner.varintValue();
      else if (inner.fieldNo === 3 && inner.wireType === WIRE_LEN && outer.fieldNo === L4_TCP) {
        parts.tcpFlags = readTcpFlags(inner);
        if (parts.tcpFlags === null) parts.exact = false;
      } else parts.exact = false;
    }
    // a value that does not fit the int columns must travel as bytes
    if ((parts.sport ?? 0) > 0x7fffffff || (parts.dport ?? 0) > 0x7fffffff) parts.exact = false;
  }
  if (members > 1) parts.exact = false;
  return parts;
}


function noL7(): L7Parts {
  return { l7Type: null, l7Kind: null, latencyNs: null, dnsQuery: null, dnsRcode: null, httpCode: null, httpMethod: null, httpUrl: null };
}

function readL7(buf: Uint8Array, start: number, end: number): L7Parts {
  const p = noL7();
  const c = new WireCursor(buf, start, end);
  while (!c.done()) {
    c.field();
    if (c.fieldNo === 1 && c.wireType === WIRE_VARINT) p.l7Type = c.varintValue();
    else if (c.fieldNo === 2 && c.wireType === WIRE_VARINT) {
      const v = c.varintValueBig();
      p.latencyNs = v > MAX_INT64 ? null : v;
    } else if (c.fieldNo === L7_DNS && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_DNS;
      p.dnsRcode = 0;
      const d = new WireCursor(buf, c.valueStart, c.valueEnd);
      while (!d.done()) {
        d.field();
        if (d.fieldNo === 1 && d.wireType === WIRE_LEN) p.dnsQuery = d.stringValue();
        else if (d.fieldNo === 6 && d.wireType === WIRE_VARINT) p.dnsRcode = d.varintValue();
      }
    } else if (c.fieldNo === L7_KAFKA && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_KAFKA;
    } else if (c.fieldNo === L7_HTTP && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_HTTP;
      const h = new WireCursor(buf, c.valueStart, c.valueEnd);
      while (!h.done()) {
        h.field();
        if (h.fieldNo === 1 && h.wireType === WIRE_VARINT) p.httpCode = h.varintValue();
        else if (h.fieldNo === 2 && h.wireType === WIRE_LEN) p.httpMethod = h.stringValue();
        else if (h.fieldNo === 3 && h.wireType === WIRE_LEN) p.httpUrl = h.stringValue();
      }
    }
  }
  if (p.dnsRcode !== null && p.dnsRcode > 0x7fffffff) p.dnsRcode = null;
  if (p.httpCode !== null && p.httpCode > 0x7fffffff) p.httpCode = null;
  return p;
}

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}

const SEP = Buffer.from([0xff]);

export function splitFlow(flowBytes: Buffer, respNodeName: string | null, respTimeNs: bigint | null): FlowRow {
  const c = new WireCursor(flowBytes);
  const ctxParts: Buffer[] = [];
  const restParts: Buffer[] = [];
  let ts: bigint | null = null;
  let l4: L4Parts = { l4: 0, sport: null, dport: null, tcpFlags: null, exact: true };
  let l7: Buffer | null = null;
  let l7p: L7Parts | null = null;
  let uuid: string | null = null;
  let summary: Buffer | null = null;
  let summaryField: Buffer | null = null;
  let nodeName = "";

  while (!c.done()) {
    c.field();
    const no = c.fieldNo;
    if (no === FLOW_TIME && c.wireType === WIRE_LEN && ts === null) {
      ts = readTimestamp(flowBytes, c.valueStart, c.valueEnd);
    } else if (no === FLOW_L4 && c.wireType === WIRE_LEN && l4.l4 === 0 && l4.exact) {
      l4 = readL4(flowBytes, c.valueStart, c.valueEnd);
      if (!l4.exact) restParts.push(c.fieldView());
    } else if (no === FLOW_L7 && c.wireType === WIRE_LEN && l7 === null) {
      l7 = c.valueView();
      l7p = readL7(flowBytes, c.valueStart, c.valueEnd);
    } else if (no === FLOW_UUID && c.wireType === WIRE_LEN && uuid === null) {
      const s = c.stringValue();
      if (CANONICAL_UUID.test(s)) uuid = s;
      else restParts.push(c.fieldView());
    } else if (no === FLOW_SUMMARY && c.wireType === WIRE_LEN && summaryField === null) {
      summaryField = c.fieldView();
      summary = c.valueView();
    } else if (CONTEXT_FIELDS.has(no)) {
      ctxParts.push(c.fieldView());
      if (no === FLOW_NODE_NAME && c.wireType === WIRE_LEN) nodeName = c.stringValue();
    } else {
      restParts.push(c.fieldView());
    }
  }
  // L7 summaries are nearly unique (query, URL): kept inline rather than interned; so is a summary
  // with a NUL byte, which a Postgres text column cannot hold
  if (summaryField && (l7 || summary!.includes(0))) {
    restParts.push(summaryField);
    summary = null;
  }

  const ctxRaw = ctxParts.length === 1 ? ctxParts[0] : Buffer.concat(ctxParts);
  const responseNodeName = respNodeName === nodeName ? null : (respNodeName ?? "");
  const ctxHash = md5(ctxRaw, SEP, Buffer.from(responseNodeName ?? "\u0000same", "utf8"));

  let key: Buffer;
  let keyDerived = false;
  if (uuid) key = Buffer.from(uuid.replaceAll("-", ""), "hex");
  else {
    key = md5(Buffer.from(respNodeName ?? nodeName, "utf8"), SEP, flowBytes);
    keyDerived = true;
  }

  const flowTs = ts ?? respTimeNs ?? BigInt(Date.now()) * 1_000_000n;
  let respTs: bigint | null = null;
  if (respTimeNs === null) respTs = -1n;
  else if (respTimeNs !== flowTs) respTs = respTimeNs;

  return {
    ts: flowTs,
    key,
    keyDerived,
    ctxRaw,
    ctxHash,
    responseNodeName,
    nodeName: respNodeName || nodeName,
    l4: l4.l4,
    sport: l4.sport,
    dport: l4.dport,
    tcpFlags: l4.tcpFlags,
    summary,
    l7,
    ...(l7p ?? noL7()),
    rest: restParts.length === 0 ? null : restParts.length === 1 ? restParts[0] : Buffer.concat(restParts),
    respTs,
    flowBytes,
  };
}

/** Splits a raw GetFlowsResponse. */
export function splitResponse(resp: Buffer): SplitResponse {
  const c = new WireCursor(resp);
  let flow: Buffer | null = null;
  let other: { kind: "node_status" | "lost_events"; bytes: Buffer } | null = null;
  let nodeName: string | null = null;
  let timeNs: bigint | null = null;
  while (!c.done()) {
    c.field();
    if (c.wireType !== WIRE_LEN) continue;
    if (c.fieldNo === RESP_FLOW) flow = c.valueView();
    else if (c.fieldNo === RESP_NODE_STATUS) other = { kind: "node_status", bytes: c.valueView() };
    else if (c.fieldNo === RESP_LOST_EVENTS) other = { kind: "lost_events", bytes: c.valueView() };
    else if (c.fieldNo === RESP_NODE_NAME) nodeName = c.stringValue();
    else if (c.fieldNo === RESP_TIME) timeNs = readTimestamp(resp, c.valueStart, c.valueEnd);
  }
  if (flow) return { kind: "flow", row: splitFlow(flow, nodeName, timeNs) };
  if (other) return { ...other, nodeName: nodeName ?? "", timeNs };
  return { kind: "empty" };
}

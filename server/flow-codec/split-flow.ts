/**
 * Splits one raw GetFlowsResponse into what the store keeps: a per-flow row and the bytes of its
 * shared context. Only the fields stored in columns are decoded; everything else is carried as the
 * original bytes, so rebuild-flow.ts gives back a Flow equal to the one the Relay sent.
 */
import { isUtf8 } from "node:buffer";
import { hash } from "node:crypto";
import { FlowSchema, Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import {
  CONTEXT_FIELDS,
  FLOW_L4,
  FLOW_L7,
  FLOW_SUMMARY,
  FLOW_TIME,
  FLOW_UUID,
  FLOW_NODE_NAME,
  L4_IGMP,
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
import { readTimestamp, type WireTimestamp } from "./timestamp";
import { validateMessage } from "./validate";
import { WIRE_LEN, WIRE_VARINT, WireCursor, WireError } from "./wire";

const MAX_INT64 = 0x7fffffffffffffffn;
/**
 * How far ahead of our clock a flow's own time may be and still place it. Further ahead, it would
 * become "the newest stored flow" and a resume would ask the Relay to start after it, skipping real
 * flows; such a flow is placed at the time it was received instead (its own time is kept).
 */
export const MAX_AHEAD_NS = 60_000_000_000n;
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
  /** GetFlowsResponse.time when it differs from ts; -1n = absent (or in respRest) */
  respTs: bigint | null;
  /** ts is not the flow's own time (it had none, or one that cannot place it); its time field, if any, is in rest */
  tsSynthetic: boolean;
  /** GetFlowsResponse fields besides flow that the columns cannot give back exactly, as their bytes */
  respRest: Buffer | null;
  /** the raw Flow bytes (a view into the response), for live fan-out */
  flowBytes: Buffer;
  /** the whole GetFlowsResponse as received (the buffer flowBytes is a view into) */
  response: Buffer;
}

export type SplitResponse =
  | { kind: "flow"; row: FlowRow }
  | { kind: "node_status"; bytes: Buffer; nodeName: string; timeNs: bigint | null }
  | { kind: "lost_events"; bytes: Buffer; nodeName: string; timeNs: bigint | null }
  | { kind: "malformed"; error: string; nodeName: string | null; key: Buffer | null; ts: bigint | null }
  | { kind: "empty" };

/**
 * A response that is not a valid message: it does not parse, a string is not UTF-8, a Timestamp lies
 * outside its defined range. Nothing downstream could read or export it; it is quarantined as bytes.
 */
export class MalformedFlowError extends Error {
  constructor(
    message: string,
    readonly key: Buffer | null = null,
    readonly ts: bigint | null = null,
  ) {
    super(message);
  }
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
    // the protocol is known for the oneof's members (VRRP 6 and IGMP 7 have no columns); a field
    // number a newer agent adds says nothing about it
    if (outer.fieldNo <= L4_IGMP) parts.l4 = outer.fieldNo;
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
    // a value that does not fit the int columns travels as bytes, and is not searchable by port
    if ((parts.sport ?? 0) > 0x7fffffff) (parts.sport = null), (parts.exact = false);
    if ((parts.dport ?? 0) > 0x7fffffff) (parts.dport = null), (parts.exact = false);
  }
  // none (an empty Layer4 is still a Layer4) or several: only the bytes say what was sent
  if (members !== 1) parts.exact = false;
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

/**
 * md5 of the concatenation, one-shot: per flow, a Hash object with an update per part cost ~40 %
 * more than one copy and crypto.hash (bench:ingest profile; md5 was a fifth of the split)
 */
function md5(...parts: Uint8Array[]): Buffer {
  return hash("md5", Buffer.concat(parts), "buffer");
}

const SEP = Buffer.from([0xff]);
/** marks a context whose response-level node name is the flow's own */
const SAME_NODE = Buffer.from("\u0000same", "utf8");

/** What splitFlow needs from the response around the flow. */
export interface ResponseParts {
  /** GetFlowsResponse.node_name, when present and storable as a column */
  nodeName: string | null;
  /** GetFlowsResponse.time, when present and valid */
  time: WireTimestamp | null;
  /** response fields the columns cannot give back exactly (see splitResponse) */
  rest: Buffer | null;
  /** the whole response */
  bytes: Buffer;
}

const placeable = (ns: bigint, receivedNs: bigint) => ns >= 0n && ns <= receivedNs + MAX_AHEAD_NS;

/** Strict decode of bytes that readers will decode later: a failure now is a failure on every read. */
function validate(what: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    throw new MalformedFlowError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function splitFlow(flowBytes: Buffer, resp: ResponseParts, receivedNs: bigint = BigInt(Date.now()) * 1_000_000n): FlowRow {
  const c = new WireCursor(flowBytes);
  const ctxParts: Buffer[] = [];
  const restParts: Buffer[] = [];
  let time: WireTimestamp | null = null;
  let timeField: Buffer | null = null;
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
    if (no === FLOW_TIME && c.wireType === WIRE_LEN && timeField === null) {
      time = readTimestamp(flowBytes, c.valueStart, c.valueEnd);
      timeField = c.fieldView();
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

  let key: Buffer;
  let keyDerived = false;
  if (uuid) key = Buffer.from(uuid.replaceAll("-", ""), "hex");
  else {
    key = md5(Buffer.from(resp.nodeName ?? nodeName, "utf8"), SEP, flowBytes);
    keyDerived = true;
  }
  const fail = (message: string): never => {
    throw new MalformedFlowError(message, key, time && !time.invalid ? time.ns : null);
  };
  if (time?.invalid) fail(time.invalid);
  if (summary && !isUtf8(summary)) fail("Summary: invalid UTF-8");

  // The flow's own time places it, unless it has none or one that would sit in the future (see
  // MAX_AHEAD_NS); then the time it was received does, and its own time field travels in rest.
  let ts: bigint;
  if (time && placeable(time.ns, receivedNs)) ts = time.ns;
  else if (resp.time && placeable(resp.time.ns, receivedNs)) ts = resp.time.ns;
  else ts = receivedNs;
  const tsSynthetic = !(time && time.exact && ts === time.ns);
  if (tsSynthetic && timeField) restParts.push(timeField);

  // L7 summaries are nearly unique (query, URL): kept inline rather than interned; so is a summary
  // with a NUL byte, which a Postgres text column cannot hold
  if (summaryField && (l7 || summary!.includes(0))) {
    restParts.push(summaryField);
    summary = null;
  }
  const rest = restParts.length === 0 ? null : restParts.length === 1 ? restParts[0] : Buffer.concat(restParts);
  try {
    if (l7) validate("l7", () => validateMessage(Layer7Schema, l7!));
    // rest holds Flow fields (known ones we do not split, and unknown ones): decoded on every read
    if (rest) validate("flow", () => validateMessage(FlowSchema, rest));
  } catch (e) {
    fail((e as Error).message);
  }

  const responseNodeName = resp.nodeName === nodeName ? null : (resp.nodeName ?? "");
  // one copy holds the context's bytes and what its hash covers after them
  const tail = responseNodeName === null ? SAME_NODE : Buffer.from(responseNodeName, "utf8");
  ctxParts.push(SEP, tail);
  const hashed = Buffer.concat(ctxParts);
  const ctxRaw = hashed.subarray(0, hashed.length - 1 - tail.length);
  const ctxHash = hash("md5", hashed, "buffer");

  let respTs: bigint | null = -1n;
  if (resp.time?.exact && resp.time.ns !== -1n) respTs = resp.time.ns === ts ? null : resp.time.ns;

  return {
    ts,
    key,
    keyDerived,
    ctxRaw,
    ctxHash,
    responseNodeName,
    nodeName: resp.nodeName || nodeName,
    l4: l4.l4,
    sport: l4.sport,
    dport: l4.dport,
    tcpFlags: l4.tcpFlags,
    summary,
    l7,
    ...(l7p ?? noL7()),
    rest,
    respTs,
    tsSynthetic,
    respRest: resp.rest,
    flowBytes,
    response: resp.bytes,
  };
}

/**
 * Splits a raw GetFlowsResponse. Response fields besides the flow go to columns when they can be
 * given back exactly (node_name, time); anything else — a time that does not fit int64 ns or is
 * not canonically encoded, a node name with NUL, a second copy, fields unknown to us — is kept as
 * its bytes (respRest). A response that is not a valid message comes back as `malformed`.
 */
export function splitResponse(resp: Buffer, receivedNs: bigint = BigInt(Date.now()) * 1_000_000n): SplitResponse {
  let nodeName: string | null = null;
  let timeNs: bigint | null = null;
  let key: Buffer | null = null;
  let ts: bigint | null = null;
  try {
    const c = new WireCursor(resp);
    let flow: Buffer | null = null;
    let other: { kind: "node_status" | "lost_events"; bytes: Buffer } | null = null;
    let time: WireTimestamp | null = null;
    const restParts: Buffer[] = [];
    let sawNodeName = false;
    let sawTime = false;
    while (!c.done()) {
      c.field();
      const len = c.wireType === WIRE_LEN;
      if (len && c.fieldNo === RESP_FLOW && !flow) flow = c.valueView();
      else if (len && c.fieldNo === RESP_NODE_STATUS && !other) other = { kind: "node_status", bytes: c.valueView() };
      else if (len && c.fieldNo === RESP_LOST_EVENTS && !other) other = { kind: "lost_events", bytes: c.valueView() };
      else if (len && c.fieldNo === RESP_NODE_NAME && !sawNodeName) {
        sawNodeName = true;
        const raw = c.valueView();
        if (!isUtf8(raw)) throw new MalformedFlowError("node_name: invalid UTF-8");
        const s = raw.toString("utf8");
        if (s.includes("\u0000")) restParts.push(c.fieldView()); // a text column cannot hold it
        else nodeName = s;
      } else if (len && c.fieldNo === RESP_TIME && !sawTime) {
        sawTime = true;
        time = readTimestamp(resp, c.valueStart, c.valueEnd);
        if (time.invalid) throw new MalformedFlowError(time.invalid);
        if (!time.exact || time.ns === -1n) restParts.push(c.fieldView());
        else timeNs = time.ns;
      } else restParts.push(c.fieldView());
    }
    if (flow) {
      const parts: ResponseParts = { nodeName, time, rest: restParts.length ? Buffer.concat(restParts) : null, bytes: resp };
      if (parts.rest) validate("response", () => validateMessage(GetFlowsResponseSchema, parts.rest!));
      return { kind: "flow", row: splitFlow(flow, parts, receivedNs) };
    }
    if (other) return { ...other, nodeName: nodeName ?? "", timeNs };
    return { kind: "empty" };
  } catch (e) {
    if (e instanceof MalformedFlowError) ({ key, ts } = e);
    else if (!(e instanceof WireError)) throw e;
    return { kind: "malformed", error: e.message, nodeName, key, ts };
  }
}

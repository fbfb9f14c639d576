/**
 * Splits one raw GetFlowsResponse into what the store keeps: a per-flow row and the bytes of its
 * shared context. Only the fields stored in columns are decoded; everything else is carried as the
 * original bytes, so rebuild-flow.ts gives back a Flow equal to the one the Relay sent.
 */
import { isUtf8 } from "node:buffer";
import type { DescMessage } from "@bufbuild/protobuf";
import { FlowSchema, Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { ContextKeys } from "./context-key";
import {
  CONTEXT_FIELDS,
  FLOW_L4,
  FLOW_L7,
  FLOW_SUMMARY,
  FLOW_TIME,
  FLOW_UUID,
  FLOW_NODE_NAME,
  RESP_FLOW,
  RESP_LOST_EVENTS,
  RESP_NODE_NAME,
  RESP_NODE_STATUS,
  RESP_TIME,
} from "./flow-fields";
import { derivedKey, uuidKey } from "./flow-key";
import { noL7, readL4, readL7, type L4Parts, type L7Parts } from "./flow-parts";
import { readTimestamp, type WireTimestamp } from "./timestamp";
import { validateMessage } from "./validate";
import { LastBytes, WIRE_LEN, WireCursor, WireError, utf8Text } from "./wire";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

export type { L7Parts } from "./flow-parts";

/**
 * How far ahead of our clock a flow's own time may be and still place it. Further ahead, it would
 * become "the newest stored flow" and a resume would ask the Relay to start after it, skipping real
 * flows; such a flow is placed at the time it was received instead (its own time is kept).
 */
export const MAX_AHEAD_NS = NS_PER_MINUTE;

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

const placeable = (ns: bigint, latestNs: bigint) => ns >= 0n && ns <= latestNs;

let lastMs = 0;
let lastMsNs = 0n;
/** the time now in ns, the BigInt made once per millisecond (not per flow) */
function nowNs(): bigint {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastMsNs = BigInt(ms) * 1_000_000n;
  }
  return lastMsNs;
}

/** Strict check of bytes that readers will decode later (a failure now is a failure on every read): the problem, or null. */
function validate(what: string, desc: DescMessage, bytes: Buffer): string | null {
  try {
    validateMessage(desc, bytes);
    return null;
  } catch (e) {
    return `${what}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const NO_L4: Readonly<L4Parts> = { l4: 0, sport: null, dport: null, tcpFlags: null, exact: true };
const NO_L7: Readonly<L7Parts> = noL7();
/** one per process: splitFlow runs start to end without yielding, so the scratch state is never shared */
const contexts = new ContextKeys();
const flowNodeNames = new LastBytes(utf8Text(false), 256);

export function splitFlow(flowBytes: Buffer, resp: ResponseParts, receivedNs: bigint = nowNs()): FlowRow {
  const c = new WireCursor(flowBytes);
  let restParts: Buffer[] | null = null;
  let time: WireTimestamp | null = null;
  // where the time and summary fields lie: viewed only when they go to rest
  let timeFieldStart = -1;
  let timeFieldEnd = -1;
  let l4: L4Parts = NO_L4;
  let l7: Buffer | null = null;
  let l7p: L7Parts = NO_L7;
  let key: Buffer | null = null;
  let summary: Buffer | null = null;
  let summaryFieldStart = -1;
  let summaryFieldEnd = -1;
  let nodeName = "";
  // context fields are gathered as runs of adjacent fields (most lie next to each other)
  contexts.begin();
  let runStart = -1;
  let runEnd = -1;

  while (!c.done()) {
    c.field();
    const no = c.fieldNo;
    if (no === FLOW_TIME && c.wireType === WIRE_LEN && timeFieldStart < 0) {
      time = readTimestamp(flowBytes, c.valueStart, c.valueEnd);
      timeFieldStart = c.fieldStart;
      timeFieldEnd = c.fieldEnd;
    } else if (no === FLOW_L4 && c.wireType === WIRE_LEN && l4.l4 === 0 && l4.exact) {
      l4 = readL4(flowBytes, c.valueStart, c.valueEnd);
      if (!l4.exact) (restParts ??= []).push(c.fieldView());
    } else if (no === FLOW_L7 && c.wireType === WIRE_LEN && l7 === null) {
      l7 = c.valueView();
      l7p = readL7(flowBytes, c.valueStart, c.valueEnd);
    } else if (no === FLOW_UUID && c.wireType === WIRE_LEN && key === null) {
      key = uuidKey(flowBytes, c.valueStart, c.valueEnd);
      if (key === null) (restParts ??= []).push(c.fieldView());
    } else if (no === FLOW_SUMMARY && c.wireType === WIRE_LEN && summaryFieldStart < 0) {
      summaryFieldStart = c.fieldStart;
      summaryFieldEnd = c.fieldEnd;
      summary = c.valueView();
    } else if (CONTEXT_FIELDS.has(no)) {
      if (c.fieldStart === runEnd) runEnd = c.fieldEnd;
      else {
        if (runEnd > runStart) contexts.add(flowBytes, runStart, runEnd);
        runStart = c.fieldStart;
        runEnd = c.fieldEnd;
      }
      if (no === FLOW_NODE_NAME && c.wireType === WIRE_LEN) nodeName = flowNodeNames.get(flowBytes, c.valueStart, c.valueEnd)!;
    } else {
      (restParts ??= []).push(c.fieldView());
    }
  }
  if (runEnd > runStart) contexts.add(flowBytes, runStart, runEnd);

  const keyDerived = key === null;
  if (key === null) key = derivedKey(resp.nodeName ?? nodeName, flowBytes);
  let problem: string | null = null;
  if (time?.invalid) problem = time.invalid;
  else if (summary && !isUtf8(summary)) problem = "Summary: invalid UTF-8";
  if (problem !== null) throw new MalformedFlowError(problem, key, time && !time.invalid ? time.ns : null);

  // The flow's own time places it, unless it has none or one that would sit in the future (see
  // MAX_AHEAD_NS); then the time it was received does, and its own time field travels in rest.
  const latestNs = receivedNs + MAX_AHEAD_NS;
  let ts: bigint;
  if (time && placeable(time.ns, latestNs)) ts = time.ns;
  else if (resp.time && placeable(resp.time.ns, latestNs)) ts = resp.time.ns;
  else ts = receivedNs;
  const tsSynthetic = !(time && time.exact && ts === time.ns);
  if (tsSynthetic && timeFieldStart >= 0) (restParts ??= []).push(flowBytes.subarray(timeFieldStart, timeFieldEnd));

  // L7 summaries are nearly unique (query, URL): kept inline rather than interned; so is a summary
  // with a NUL byte, which a Postgres text column cannot hold
  if (summaryFieldStart >= 0 && (l7 || summary!.includes(0))) {
    (restParts ??= []).push(flowBytes.subarray(summaryFieldStart, summaryFieldEnd));
    summary = null;
  }
  const rest = restParts === null ? null : restParts.length === 1 ? restParts[0] : Buffer.concat(restParts);
  // rest holds Flow fields (known ones we do not split, and unknown ones): decoded on every read
  problem = (l7 && validate("l7", Layer7Schema, l7)) || (rest && validate("flow", FlowSchema, rest)) || null;
  if (problem !== null) throw new MalformedFlowError(problem, key, time && !time.invalid ? time.ns : null);

  const responseNodeName = resp.nodeName === nodeName ? null : (resp.nodeName ?? "");
  const ctx = contexts.finish(responseNodeName);

  let respTs: bigint | null = -1n;
  if (resp.time?.exact && resp.time.ns !== -1n) respTs = resp.time.ns === ts ? null : resp.time.ns;

  return {
    ts,
    key,
    keyDerived,
    ctxRaw: ctx.raw,
    ctxHash: ctx.hash,
    responseNodeName,
    nodeName: resp.nodeName || nodeName,
    l4: l4.l4,
    sport: l4.sport,
    dport: l4.dport,
    tcpFlags: l4.tcpFlags,
    summary,
    l7,
    l7Type: l7p.l7Type,
    l7Kind: l7p.l7Kind,
    latencyNs: l7p.latencyNs,
    dnsQuery: l7p.dnsQuery,
    dnsRcode: l7p.dnsRcode,
    httpCode: l7p.httpCode,
    httpMethod: l7p.httpMethod,
    httpUrl: l7p.httpUrl,
    rest,
    respTs,
    tsSynthetic,
    respRest: resp.rest,
    flowBytes,
    response: resp.bytes,
  };
}

const responseNodeNames = new LastBytes(utf8Text(true), 256);

/**
 * Splits a raw GetFlowsResponse. Response fields besides the flow go to columns when they can be
 * given back exactly (node_name, time); anything else — a time that does not fit int64 ns or is
 * not canonically encoded, a node name with NUL, a second copy, fields unknown to us — is kept as
 * its bytes (respRest). A response that is not a valid message comes back as `malformed`.
 */
export function splitResponse(resp: Buffer, receivedNs: bigint = nowNs()): SplitResponse {
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
        const s = responseNodeNames.get(resp, c.valueStart, c.valueEnd);
        if (s === null) throw new MalformedFlowError("node_name: invalid UTF-8");
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
      const bad = parts.rest && validate("response", GetFlowsResponseSchema, parts.rest);
      if (bad) throw new MalformedFlowError(bad);
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

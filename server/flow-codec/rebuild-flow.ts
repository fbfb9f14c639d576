/**
 * Rebuilds the exact GetFlowsResponse a stored flow came from: the context's original bytes, the
 * per-flow columns re-encoded, and the leftover bytes. Field order may differ from the wire; the
 * message is the same.
 */
import { FLOW_L4, FLOW_L7, FLOW_SUMMARY, FLOW_TIME, FLOW_UUID, RESP_FLOW, RESP_NODE_NAME, RESP_TIME } from "./flow-fields";
import type { FlowRow } from "./split-flow";
import { encodeTimestamp } from "./timestamp";
import { WIRE_LEN, WIRE_VARINT, WireCursor, encodeLen, encodeTag, encodeVarint } from "./wire";

export interface StoredFlow {
  ts: bigint;
  /** 32 hex digits or the canonical uuid text */
  key: string;
  keyDerived: boolean;
  l4: number;
  sport: number | null;
  dport: number | null;
  tcpFlags: number | null;
  summary: string | null;
  l7: Uint8Array | null;
  rest: Uint8Array | null;
  respTs: bigint | null;
  /** ts is not the flow's own time: no time field from ts (the original one, if any, is in rest) */
  tsSynthetic: boolean;
  /** response fields kept as bytes */
  respRest: Uint8Array | null;
}

export interface StoredContext {
  raw: Uint8Array;
  responseNodeName: string | null;
  nodeName: string;
}

function hasField(bytes: Uint8Array | null, fieldNo: number): boolean {
  if (!bytes) return false;
  const c = new WireCursor(bytes);
  while (!c.done()) {
    c.field();
    if (c.fieldNo === fieldNo) return true;
  }
  return false;
}

function encodeL4(f: StoredFlow): number[] {
  const inner: number[] = [];
  if (f.sport) {
    encodeTag(inner, 1, WIRE_VARINT);
    encodeVarint(inner, f.sport);
  }
  if (f.dport) {
    encodeTag(inner, 2, WIRE_VARINT);
    encodeVarint(inner, f.dport);
  }
  if (f.tcpFlags !== null) {
    const flags: number[] = [];
    for (let bit = 0; bit < 9; bit++) {
      if (f.tcpFlags & (1 << bit)) {
        encodeTag(flags, bit + 1, WIRE_VARINT);
        flags.push(1);
      }
    }
    encodeLen(inner, 3, flags);
  }
  const layer4: number[] = [];
  encodeLen(layer4, f.l4, inner);
  const field: number[] = [];
  encodeLen(field, FLOW_L4, layer4);
  return field;
}

function uuidText(key: string): string {
  const hex = key.replaceAll("-", "");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function rebuildFlowBytes(f: StoredFlow, ctx: StoredContext): Buffer {
  const head: number[] = [];
  if (!f.tsSynthetic) encodeLen(head, FLOW_TIME, encodeTimestamp(f.ts));
  if (f.l4 !== 0 && !hasField(f.rest, FLOW_L4)) head.push(...encodeL4(f));
  const tail: number[] = [];
  if (!f.keyDerived) encodeLen(tail, FLOW_UUID, Buffer.from(uuidText(f.key), "utf8"));
  if (f.summary !== null) encodeLen(tail, FLOW_SUMMARY, Buffer.from(f.summary, "utf8"));
  const parts: Uint8Array[] = [Buffer.from(head), ctx.raw];
  if (f.l7) {
    const l7head: number[] = [];
    encodeTag(l7head, FLOW_L7, WIRE_LEN);
    encodeVarint(l7head, f.l7.length);
    parts.push(Buffer.from(l7head), f.l7);
  }
  parts.push(Buffer.from(tail));
  if (f.rest) parts.push(f.rest);
  return Buffer.concat(parts);
}

export function rebuildResponseBytes(f: StoredFlow, ctx: StoredContext): Buffer {
  const flow = rebuildFlowBytes(f, ctx);
  const head: number[] = [];
  encodeTag(head, RESP_FLOW, WIRE_LEN);
  encodeVarint(head, flow.length);
  const tail: number[] = [];
  const node = ctx.responseNodeName ?? ctx.nodeName;
  if (node) encodeLen(tail, RESP_NODE_NAME, Buffer.from(node, "utf8"));
  if (f.respTs !== -1n) encodeLen(tail, RESP_TIME, encodeTimestamp(f.respTs ?? f.ts));
  const parts: Uint8Array[] = [Buffer.from(head), flow, Buffer.from(tail)];
  if (f.respRest) parts.push(f.respRest);
  return Buffer.concat(parts);
}

/** What the store keeps of a split flow, without a round trip through the database (tests, benches). */
export function storedFlowOf(row: FlowRow): { flow: StoredFlow; ctx: StoredContext } {
  return {
    flow: {
      ts: row.ts,
      key: row.key.toString("hex"),
      keyDerived: row.keyDerived,
      l4: row.l4,
      sport: row.sport,
      dport: row.dport,
      tcpFlags: row.tcpFlags,
      summary: row.summary ? row.summary.toString("utf8") : null,
      l7: row.l7,
      rest: row.rest,
      respTs: row.respTs,
      tsSynthetic: row.tsSynthetic,
      respRest: row.respRest,
    },
    ctx: { raw: row.ctxRaw, responseNodeName: row.responseNodeName, nodeName: row.nodeName },
  };
}

export { uuidText };

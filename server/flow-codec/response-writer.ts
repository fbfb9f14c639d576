/**
 * Writes a stored flow's GetFlowsResponse straight into a growing buffer: sizes are computed first,
 * then every byte is written once (no per-flow arrays, no concat). Streaming history over gRPC
 * rebuilds every flow it sends, so this is the hot path of `hubble observe --since …` (ADR 0009).
 * The bytes are the same as the field-by-field encoding this replaced (flow-codec tests compare the
 * messages with the Relay's, byte for byte).
 */
import { FLOW_L4, FLOW_L7, FLOW_SUMMARY, FLOW_TIME, FLOW_UUID, RESP_FLOW, RESP_NODE_NAME, RESP_TIME } from "./flow-fields";
import { WIRE_LEN, WireCursor } from "./wire";

/** What a stored flow keeps (the flows row, its summary text resolved). */
export interface StoredFlow {
  ts: bigint;
  /** 32 hex digits or the canonical uuid text */
  key: string;
  /** the key's 16 bytes at keyAt, when at hand: written as uuid text without making the string */
  keyBytes?: Uint8Array | null;
  keyAt?: number;
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

const NS = 1_000_000_000n;
const TAG_TIME = (FLOW_TIME << 3) | WIRE_LEN;
const TAG_L4 = (FLOW_L4 << 3) | WIRE_LEN;
const TAG_L7 = (FLOW_L7 << 3) | WIRE_LEN;
const TAG_UUID = (FLOW_UUID << 3) | WIRE_LEN;
const TAG_SUMMARY = (FLOW_SUMMARY << 3) | WIRE_LEN;
const TAG_RESP_FLOW = (RESP_FLOW << 3) | WIRE_LEN;
const TAG_RESP_NODE = (RESP_NODE_NAME << 3) | WIRE_LEN;
const TAG_RESP_TIME = (RESP_TIME << 3) | WIRE_LEN;

/** bytes of a varint of a non-negative safe integer */
function vlen(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function vlenBig(value: bigint): number {
  let v = BigInt.asUintN(64, value);
  let n = 1;
  while (v > 0x7fn) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** A buffer written front to back that grows by doubling; `copyFrom` hands out what was written. */
export class ByteSink {
  buf: Buffer;
  pos = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** a safe integer (a negative one as int64, like protobuf) */
  varint(v: number): void {
    if (v < 0) return this.varintBig(BigInt(v));
    const b = this.buf;
    let p = this.pos;
    while (v >= 128) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** any int64/uint64 (negative ones as their 10-byte two's complement, like protobuf) */
  varintBig(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7fn) {
      b[p++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[p++] = Number(v);
    this.pos = p;
  }

  bytes(src: Uint8Array): void {
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** the bytes written since `from`, copied out (the sink's buffer is reused) */
  copyFrom(from: number): Buffer {
    return Buffer.from(this.buf.subarray(from, this.pos));
  }
}

/** A Timestamp's body: seconds and nanos of ns, as protobuf would write them. */
class TimeParts {
  seconds = 0n;
  nanos = 0;
  secondsSmall = -1;
  size = 0;

  set(ns: bigint): this {
    let s = ns / NS;
    let n = Number(ns - s * NS);
    if (n < 0) {
      n += 1e9;
      s -= 1n;
    }
    this.seconds = s;
    this.nanos = n;
    this.secondsSmall = s >= 0n && s <= 0x1fffffffffffffn ? Number(s) : -1;
    this.size = (s !== 0n ? 1 + (this.secondsSmall >= 0 ? vlen(this.secondsSmall) : vlenBig(s)) : 0) + (n !== 0 ? 1 + vlen(n) : 0);
    return this;
  }

  write(out: ByteSink): void {
    if (this.seconds !== 0n) {
      out.buf[out.pos++] = 0x08;
      if (this.secondsSmall >= 0) out.varint(this.secondsSmall);
      else out.varintBig(this.seconds);
    }
    if (this.nanos !== 0) {
      out.buf[out.pos++] = 0x10;
      out.varint(this.nanos);
    }
  }
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

/** the node_name field of a context's responses, encoded once per context */
const nodeFields = new WeakMap<StoredContext, Buffer>();
function nodeField(ctx: StoredContext): Buffer {
  let f = nodeFields.get(ctx);
  if (!f) {
    const node = ctx.responseNodeName ?? ctx.nodeName;
    if (!node) f = Buffer.alloc(0);
    else {
      const text = Buffer.from(node, "utf8");
      const s = new ByteSink(text.length + 12);
      s.varint(TAG_RESP_NODE);
      s.varint(text.length);
      s.bytes(text);
      f = s.copyFrom(0);
    }
    nodeFields.set(ctx, f);
  }
  return f;
}

/** stands for uuid text made from keyBytes (only its length is used) */
const UUID_SHAPE = "00000000-0000-0000-0000-000000000000";

const flowTime = new TimeParts();
const respTime = new TimeParts();

/** canonical uuid text (8-4-4-4-12) of a key given as 32 hex digits or as uuid text */
export function uuidText(key: string): string {
  if (key.length === 36) return key;
  const hex = key.replaceAll("-", "");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => [0x30 + (i >> 4) + ((i >> 4) > 9 ? 39 : 0), 0x30 + (i & 15) + ((i & 15) > 9 ? 39 : 0)]);

/** 16 bytes as lowercase 8-4-4-4-12 uuid text */
function writeUuidText(out: ByteSink, key: Uint8Array, at: number): void {
  const b = out.buf;
  let p = out.pos;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) b[p++] = 0x2d;
    const h = HEX[key[at + i]];
    b[p++] = h[0];
    b[p++] = h[1];
  }
  out.pos = p;
}

/** Size of the Flow message writeResponse writes (the parts' sizes set for this flow). */
function flowSize(f: StoredFlow, ctx: StoredContext, l4: L4Parts, uuid: string | null, summaryBytes: number): number {
  let size = 0;
  if (!f.tsSynthetic) size += vlen(TAG_TIME) + vlen(flowTime.size) + flowTime.size;
  if (l4.size > 0) size += vlen(TAG_L4) + vlen(l4.size) + l4.size;
  size += ctx.raw.length;
  if (f.l7) size += vlen(TAG_L7) + vlen(f.l7.length) + f.l7.length;
  if (uuid !== null) size += vlen(TAG_UUID) + vlen(uuid.length) + uuid.length;
  if (f.summary !== null) size += vlen(TAG_SUMMARY) + vlen(summaryBytes) + summaryBytes;
  if (f.rest) size += f.rest.length;
  return size;
}

/** Layer4{<l4>: {source_port, destination_port, flags}} as the split stored it. */
class L4Parts {
  inner = 0;
  flags = 0;
  /** size of the Layer4 message (0: no l4 field to write) */
  size = 0;

  set(f: StoredFlow): this {
    this.size = 0;
    if (f.l4 === 0 || hasField(f.rest, FLOW_L4)) return this;
    let inner = 0;
    if (f.sport) inner += 1 + vlen(f.sport);
    if (f.dport) inner += 1 + vlen(f.dport);
    let flags = 0;
    if (f.tcpFlags !== null) {
      for (let bit = 0; bit < 9; bit++) if (f.tcpFlags & (1 << bit)) flags += 2;
      inner += 1 + vlen(flags) + flags;
    }
    this.inner = inner;
    this.flags = flags;
    this.size = vlen((f.l4 << 3) | WIRE_LEN) + vlen(inner) + inner;
    return this;
  }

  write(f: StoredFlow, out: ByteSink): void {
    out.varint(TAG_L4);
    out.varint(this.size);
    out.varint((f.l4 << 3) | WIRE_LEN);
    out.varint(this.inner);
    if (f.sport) {
      out.buf[out.pos++] = 0x08;
      out.varint(f.sport);
    }
    if (f.dport) {
      out.buf[out.pos++] = 0x10;
      out.varint(f.dport);
    }
    if (f.tcpFlags !== null) {
      out.buf[out.pos++] = 0x1a;
      out.varint(this.flags);
      for (let bit = 0; bit < 9; bit++) {
        if (f.tcpFlags & (1 << bit)) {
          out.buf[out.pos++] = (bit + 1) << 3;
          out.buf[out.pos++] = 1;
        }
      }
    }
  }
}

const l4Parts = new L4Parts();

/** Writes the GetFlowsResponse of a stored flow at `out`'s position. */
export function writeResponse(f: StoredFlow, ctx: StoredContext, out: ByteSink): void {
  if (!f.tsSynthetic) flowTime.set(f.ts);
  l4Parts.set(f);
  // a uuid is ASCII: its length is its size
  const uuid = f.keyDerived ? null : f.keyBytes ? UUID_SHAPE : uuidText(f.key);
  const summaryBytes = f.summary === null ? 0 : Buffer.byteLength(f.summary, "utf8");
  const flowLen = flowSize(f, ctx, l4Parts, uuid, summaryBytes);
  const node = nodeField(ctx);
  const withTime = f.respTs !== -1n;
  if (withTime) respTime.set(f.respTs ?? f.ts);
  const size =
    vlen(TAG_RESP_FLOW) +
    vlen(flowLen) +
    flowLen +
    node.length +
    (withTime ? vlen(TAG_RESP_TIME) + vlen(respTime.size) + respTime.size : 0) +
    (f.respRest ? f.respRest.length : 0);
  out.ensure(size);
  out.varint(TAG_RESP_FLOW);
  out.varint(flowLen);
  if (!f.tsSynthetic) {
    out.varint(TAG_TIME);
    out.varint(flowTime.size);
    flowTime.write(out);
  }
  if (l4Parts.size > 0) l4Parts.write(f, out);
  out.bytes(ctx.raw);
  if (f.l7) {
    out.varint(TAG_L7);
    out.varint(f.l7.length);
    out.bytes(f.l7);
  }
  if (uuid !== null) {
    out.varint(TAG_UUID);
    out.varint(uuid.length);
    if (f.keyBytes) writeUuidText(out, f.keyBytes, f.keyAt ?? 0);
    else out.pos += out.buf.write(uuid, out.pos, "latin1");
  }
  if (f.summary !== null) {
    out.varint(TAG_SUMMARY);
    out.varint(summaryBytes);
    out.pos += out.buf.write(f.summary, out.pos, "utf8");
  }
  if (f.rest) out.bytes(f.rest);
  out.bytes(node);
  if (withTime) {
    out.varint(TAG_RESP_TIME);
    out.varint(respTime.size);
    respTime.write(out);
  }
  if (f.respRest) out.bytes(f.respRest);
}

const scratch = new ByteSink();

/** The GetFlowsResponse of a stored flow as its own buffer. */
export function responseBytes(f: StoredFlow, ctx: StoredContext): Buffer {
  scratch.pos = 0;
  writeResponse(f, ctx, scratch);
  return scratch.copyFrom(0);
}

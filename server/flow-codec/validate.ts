/**
 * Checks that bytes will decode later, without decoding them now: every field that the schema
 * knows has a value of its kind, every string is UTF-8 (proto3 requires it, and the readers'
 * decoder refuses anything else), nested messages recursively. Unknown fields pass as they are.
 * The ingest runs this on the per-flow bytes readers decode on every read (the L7 record and the
 * leftover fields), where a full decode (protobuf-es fromBinary builds every field of a Flow)
 * cost about as much again as the whole split; see docs/adr/0006.
 *
 * Where a known field arrives with an unexpected wire type, the reader's own decoder is the
 * judge (it is asked, once, for that message), so both agree by construction.
 */
import { isUtf8 } from "node:buffer";
import { fromBinary, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireCursor } from "./wire";

const MAX_DEPTH = 64;

type Expected = { wire: number; kind: "string" | "message" | "bytes" | "number"; message?: DescMessage };
const byDesc = new WeakMap<DescMessage, Map<number, Expected>>();

function scalarWire(t: ScalarType): number {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WIRE_LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WIRE_FIXED64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

function expectedOf(f: DescField): Expected {
  if (f.fieldKind === "message") return { wire: WIRE_LEN, kind: "message", message: f.message };
  if (f.fieldKind === "enum") return { wire: WIRE_VARINT, kind: "number" };
  if (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) {
    const kind = f.scalar === ScalarType.STRING ? "string" : f.scalar === ScalarType.BYTES ? "bytes" : "number";
    return { wire: scalarWire(f.scalar), kind };
  }
  if (f.fieldKind === "list" && f.listKind === "message") return { wire: WIRE_LEN, kind: "message", message: f.message };
  if (f.fieldKind === "list") return { wire: WIRE_VARINT, kind: "number" };
  return { wire: WIRE_LEN, kind: "message" }; // maps: not in these protos; the decoder decides
}

function fieldsOf(desc: DescMessage): Map<number, Expected> {
  let m = byDesc.get(desc);
  if (!m) {
    m = new Map(desc.fields.map((f) => [f.number, expectedOf(f)]));
    byDesc.set(desc, m);
  }
  return m;
}

class Invalid extends Error {}

function walk(desc: DescMessage, buf: Uint8Array, start: number, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Invalid(`${desc.typeName}: nested more than ${MAX_DEPTH} levels`);
  const fields = fieldsOf(desc);
  const c = new WireCursor(buf, start, end);
  while (!c.done()) {
    c.field();
    const e = fields.get(c.fieldNo);
    if (!e) continue;
    if (c.wireType !== e.wire) {
      // a packed list, or a kind the schema does not expect: the readers' decoder decides
      fromBinary(desc, buf.subarray(start, end));
      return;
    }
    if (c.wireType !== WIRE_LEN || e.kind === "bytes" || e.kind === "number") continue;
    if (e.kind === "string") {
      if (!isUtf8(buf.subarray(c.valueStart, c.valueEnd))) throw new Invalid(`${desc.typeName} field ${c.fieldNo}: invalid UTF-8`);
    } else if (e.message) walk(e.message, buf, c.valueStart, c.valueEnd, depth + 1);
    else fromBinary(desc, buf.subarray(start, end));
  }
}

/** Throws (with the field at fault) when `bytes` would not decode as `desc`. */
export function validateMessage(desc: DescMessage, bytes: Uint8Array): void {
  walk(desc, bytes, 0, bytes.length, 0);
}

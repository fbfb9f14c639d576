/**
 * google.protobuf.Timestamp on the wire, without a full decode. A Timestamp is valid when its
 * seconds lie in 0001-01-01 … 9999-12-31 and its nanos in [0, 1e9) (the type's own definition; a
 * value outside has no JSON form, so no exporter could show it). Valid is not enough for a column:
 * the value must also fit int64 nanoseconds, and re-encode to the very bytes received.
 */
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { LastBytes, WIRE_VARINT, WireCursor, WireError, encodeTag, encodeVarint } from "./wire";
import { NS_PER_S } from "@/server/domain/shared/time";


const MIN_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export interface WireTimestamp {
  /** seconds × 1e9 + nanos (may lie outside int64 for a valid far-away time) */
  ns: bigint;
  /** problem that makes the value invalid, or null */
  invalid: string | null;
  /** the value fits int64 ns and encodeTimestamp(ns) gives back the bytes received */
  exact: boolean;
}

/** the last Timestamp read, by its bytes: a response's time is its flow's, read twice per flow */
const lastTimestamp = new LastBytes((buf, start, end) => Object.freeze(canonicalTimestamp(buf, start, end) ?? decodeTimestamp(buf, start, end)), 32);

/** The Timestamp in bytes [start, end): a pure function of the bytes, so the result is shared (frozen). */
export function readTimestamp(buf: Uint8Array, start: number, end: number): WireTimestamp {
  return lastTimestamp.get(buf, start, end);
}

/**
 * A varint of at most 5 bytes in minimal form (no trailing zero byte) at buf[pos], as a number; -1
 * if it is not one. Sets varintEnd.
 */
let varintEnd = 0;
function shortVarint(buf: Uint8Array, pos: number, end: number): number {
  let v = 0;
  for (let i = 0; i < 5 && pos + i < end; i++) {
    const b = buf[pos + i];
    v += (b & 0x7f) * 2 ** (7 * i);
    if (b & 0x80) continue;
    if (b === 0 && i > 0) return -1;
    varintEnd = pos + i + 1;
    return v;
  }
  return -1;
}

/**
 * The common case without BigInt parsing or a re-encode: a time after 1970 in the canonical form
 * (seconds, then nanos, both non-zero, minimal varints). Such bytes are what encodeTimestamp gives
 * for their value, so they are exact when the value fits int64 ns. Null for any other shape: the
 * general decode decides (tests/unit/flow-key.test.ts checks both agree).
 */
export function canonicalTimestamp(buf: Uint8Array, start: number, end: number): WireTimestamp | null {
  if (end - start < 4 || buf[start] !== 0x08) return null;
  const seconds = shortVarint(buf, start + 1, end);
  if (seconds <= 0 || varintEnd >= end || buf[varintEnd] !== 0x10) return null;
  const nanos = shortVarint(buf, varintEnd + 1, end);
  if (nanos <= 0 || nanos >= 1e9 || varintEnd !== end) return null;
  // 5-byte seconds (< 2^35) lie inside the valid range; int64 ns ends in 2262
  const ns = BigInt(seconds) * NS_PER_S + BigInt(nanos);
  return { ns, invalid: null, exact: ns <= INT64_MAX };
}

/** Any Timestamp bytes (the general case; exported for tests). */
export function decodeTimestamp(buf: Uint8Array, start: number, end: number): WireTimestamp {
  let seconds = 0n;
  let nanos = 0n;
  let invalid: string | null = null;
  let plain = true;
  try {
    const c = new WireCursor(buf, start, end);
    while (!c.done()) {
      c.field();
      if (c.wireType === WIRE_VARINT && c.fieldNo === 1) seconds = BigInt.asIntN(64, c.varintValueBig());
      else if (c.wireType === WIRE_VARINT && c.fieldNo === 2) nanos = BigInt.asIntN(32, c.varintValueBig());
      else plain = false; // unknown field or an unexpected wire type: kept as bytes elsewhere
    }
  } catch (e) {
    return { ns: 0n, invalid: `time: ${e instanceof WireError ? e.message : String(e)}`, exact: false };
  }
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) invalid = `time: seconds ${seconds} outside 0001-01-01 … 9999-12-31`;
  else if (nanos < 0n || nanos >= NS_PER_S) invalid = `time: nanos ${nanos} outside [0, 999999999]`;
  const ns = seconds * NS_PER_S + nanos;
  let exact = plain && invalid === null && ns >= INT64_MIN && ns <= INT64_MAX;
  if (exact) {
    const again = encodeTimestamp(ns);
    exact = again.length === end - start;
    for (let i = 0; exact && i < again.length; i++) exact = again[i] === buf[start + i];
  }
  return { ns, invalid, exact };
}

/** The canonical encoding (zero fields omitted, seconds before nanos). */
export function encodeTimestamp(ns: bigint): number[] {
  const body: number[] = [];
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    seconds -= 1n;
  }
  if (seconds !== 0n) {
    encodeTag(body, 1, WIRE_VARINT);
    encodeVarint(body, seconds);
  }
  if (nanos !== 0n) {
    encodeTag(body, 2, WIRE_VARINT);
    encodeVarint(body, nanos);
  }
  return body;
}

/** A decoded google.protobuf.Timestamp as ns since the epoch (undefined when absent). */
export function timestampToNs(ts: Timestamp | undefined): bigint | undefined {
  if (!ts) return undefined;
  return ts.seconds * NS_PER_S + BigInt(ts.nanos);
}

export function nsToTimestamp(ns: bigint): Timestamp {
  return create(TimestampSchema, { seconds: ns / NS_PER_S, nanos: Number(ns % NS_PER_S) });
}

/**
 * A minimal protobuf wire-format walker. The ingest splits raw Flow bytes into stored parts without
 * a full decode (a full protobuf-es decode costs ~5× more: shared/notes/ingest-performance.md).
 */
import { isUtf8 } from "node:buffer";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class WireError extends Error {}

/** Cursor over a buffer; `field()` steps over one field and records where it and its value lie. */
export class WireCursor {
  pos: number;
  /** field number and wire type of the last field read */
  fieldNo = 0;
  wireType = 0;
  /** [fieldStart, fieldEnd): the whole field including its tag */
  fieldStart = 0;
  fieldEnd = 0;
  /** [valueStart, valueEnd): the payload of a length-delimited field, or the varint/fixed bytes */
  valueStart = 0;
  valueEnd = 0;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads the next field's tag and skips its value. */
  field(): void {
    this.fieldStart = this.pos;
    const tag = this.varint();
    this.fieldNo = tag >>> 3;
    this.wireType = tag & 7;
    switch (this.wireType) {
      case WIRE_VARINT: {
        this.valueStart = this.pos;
        while (this.pos < this.end && this.buf[this.pos] & 0x80) this.pos++;
        this.pos++;
        this.valueEnd = this.pos;
        break;
      }
      case WIRE_FIXED64:
        this.valueStart = this.pos;
        this.pos += 8;
        this.valueEnd = this.pos;
        break;
      case WIRE_LEN: {
        const len = this.varint();
        this.valueStart = this.pos;
        this.pos += len;
        this.valueEnd = this.pos;
        break;
      }
      case WIRE_FIXED32:
        this.valueStart = this.pos;
        this.pos += 4;
        this.valueEnd = this.pos;
        break;
      default:
        throw new WireError(`unsupported wire type ${this.wireType} for field ${this.fieldNo}`);
    }
    if (this.pos > this.end) throw new WireError(`field ${this.fieldNo} runs past the end of its message`);
    this.fieldEnd = this.pos;
  }

  /** A varint up to 2^53 as a number (ports, enums, lengths, seconds). */
  varint(): number {
    let result = 0;
    let shift = 1;
    for (;;) {
      if (this.pos >= this.end) throw new WireError("truncated varint");
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * shift;
      if (!(b & 0x80)) return result;
      shift *= 128;
      if (shift > 2 ** 63) throw new WireError("varint too long");
    }
  }

  /** The value of the last varint field, re-read as a number. */
  varintValue(): number {
    const save = this.pos;
    this.pos = this.valueStart;
    const v = this.varint();
    this.pos = save;
    return v;
  }

  /** The value of the last varint field as an unsigned 64-bit bigint. */
  varintValueBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let p = this.valueStart; p < this.valueEnd; p++) {
      result |= BigInt(this.buf[p] & 0x7f) << shift;
      shift += 7n;
    }
    return result & 0xffffffffffffffffn;
  }

  /** The value of the last length-delimited field as UTF-8 text. */
  stringValue(): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + this.valueStart, this.valueEnd - this.valueStart).toString(
      "utf8",
    );
  }

  /** The last field's payload (length-delimited) as a Buffer view (no copy). */
  valueView(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + this.valueStart, this.valueEnd - this.valueStart);
  }

  /** The whole last field (tag included) as a Buffer view (no copy). */
  fieldView(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + this.fieldStart, this.fieldEnd - this.fieldStart);
  }
}

/** Encoders for the few fields the rebuild writes itself. */
export function encodeVarint(out: number[], value: number | bigint): void {
  let v = BigInt(value);
  if (v < 0n) v &= 0xffffffffffffffffn; // negative int32/int64 are 10-byte varints
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

export function encodeTag(out: number[], fieldNo: number, wireType: number): void {
  encodeVarint(out, fieldNo * 8 + wireType);
}

export function encodeLen(out: number[], fieldNo: number, payload: ArrayLike<number>): void {
  encodeTag(out, fieldNo, WIRE_LEN);
  encodeVarint(out, payload.length);
  for (let i = 0; i < payload.length; i++) out.push(payload[i]);
}

/**
 * What was computed from the last bytes seen, kept: the same bytes again give it back without
 * computing it again. For values that repeat flow after flow (a stream's node name, a response's
 * time that is its flow's); `compute` must be a pure function of the bytes.
 */
export class LastBytes<T> {
  private readonly bytes: Uint8Array;
  private len = -1;
  private value: T | undefined;

  constructor(
    private readonly compute: (buf: Uint8Array, start: number, end: number) => T,
    capacity: number,
  ) {
    this.bytes = new Uint8Array(capacity);
  }

  get(buf: Uint8Array, start: number, end: number): T {
    const len = end - start;
    if (len === this.len) {
      let i = 0;
      while (i < len && buf[start + i] === this.bytes[i]) i++;
      if (i === len) return this.value as T;
    }
    const value = this.compute(buf, start, end);
    if (len <= this.bytes.length) {
      this.bytes.set(buf.subarray(start, end));
      this.len = len;
      this.value = value;
    }
    return value;
  }
}

/** UTF-8 text of bytes; `strict`: null for bytes that are not UTF-8 (else replacement characters, as Buffer's toString) */
export function utf8Text(strict: boolean): (buf: Uint8Array, start: number, end: number) => string | null {
  return (buf, start, end) => {
    const view = Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
    return strict && !isUtf8(view) ? null : view.toString("utf8");
  };
}

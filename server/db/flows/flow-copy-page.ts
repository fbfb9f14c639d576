/**
 * A page of flows read as `COPY (SELECT …) TO STDOUT (FORMAT binary)` and rebuilt into their
 * GetFlowsResponse bytes straight from the copied fields: no row objects, no text decoding, one
 * output buffer a page. The driver's row path (text fields, a JS object a row) cost more than the
 * rebuild itself when streaming history over gRPC (ADR 0009).
 */
import { uuidText } from "@/server/flow-codec/rebuild-flow";
import { SIGNATURE } from "./copy-binary";
import { ByteSink, writeResponse, type StoredContext, type StoredFlow } from "@/server/flow-codec/response-writer";

/** the columns, in the order the parser reads them */
export const COPY_COLUMNS =
  "f.ts, f.key, f.key_derived, f.ctx_id, f.l4, f.sport, f.dport, f.tcp_flags, f.summary_id, f.l7, f.rest, f.resp_ts, f.ts_synthetic, f.resp_rest";
const NCOL = 14;
const [TS, KEY, KEY_DERIVED, CTX, L4, SPORT, DPORT, TCP_FLAGS, SUMMARY, L7, REST, RESP_TS, TS_SYNTHETIC, RESP_REST] = Array.from({ length: NCOL }, (_, i) => i);


/** Where each field of each tuple lies: start offsets (-1: NULL) and lengths, NCOL per row. */
export interface CopiedTuples {
  buf: Buffer;
  count: number;
  at: Int32Array;
  len: Int32Array;
}

export class CopyFormatError extends Error {}

export function parseCopy(buf: Buffer): CopiedTuples {
  if (buf.length < 19 || !buf.subarray(0, 11).equals(SIGNATURE)) throw new CopyFormatError("not binary COPY output");
  let p = 15 + 4 + buf.readUInt32BE(15); // signature, flags, header extension
  let at = new Int32Array(1024 * NCOL);
  let len = new Int32Array(1024 * NCOL);
  let count = 0;
  for (;;) {
    if (p + 2 > buf.length) throw new CopyFormatError("binary COPY output ends inside a tuple");
    const fields = buf.readInt16BE(p);
    p += 2;
    if (fields === -1) break;
    if (fields !== NCOL) throw new CopyFormatError(`a tuple of ${fields} fields, expected ${NCOL}`);
    if ((count + 1) * NCOL > at.length) {
      const a = new Int32Array(at.length * 2);
      a.set(at);
      at = a;
      const l = new Int32Array(len.length * 2);
      l.set(len);
      len = l;
    }
    const base = count * NCOL;
    for (let i = 0; i < NCOL; i++) {
      const n = buf.readInt32BE(p);
      p += 4;
      at[base + i] = n < 0 ? -1 : p;
      len[base + i] = n;
      if (n > 0) p += n;
    }
    if (p > buf.length) throw new CopyFormatError("binary COPY output ends inside a field");
    count++;
  }
  return { buf, count, at, len };
}

/**
 * Flows whose GetFlowsResponse bytes are written on demand into the caller's buffer (the gRPC
 * frame being filled): no copy of a response is ever made just to be copied again.
 */
export interface FlowPage {
  readonly length: number;
  ts(i: number): bigint;
  key(i: number): string;
  /** writes flow i's GetFlowsResponse at out's position */
  write(i: number, out: ByteSink): void;
}

/** ids of the contexts and summaries the tuples refer to */
export function referencedIds(t: CopiedTuples): { contexts: Set<number>; summaries: Set<number> } {
  const contexts = new Set<number>();
  const summaries = new Set<number>();
  for (let r = 0; r < t.count; r++) {
    const base = r * NCOL;
    contexts.add(t.buf.readInt32BE(t.at[base + CTX]));
    if (t.at[base + SUMMARY] >= 0) summaries.add(t.buf.readInt32BE(t.at[base + SUMMARY]));
  }
  return { contexts, summaries };
}

/** A page of copied tuples, rebuilt flow by flow as it is written. */
export class CopiedPage implements FlowPage {
  readonly length: number;
  // one object for every row: the writer reads it and is done with it
  private readonly f: StoredFlow;

  constructor(
    private readonly t: CopiedTuples,
    private readonly contexts: Map<number, StoredContext>,
    private readonly summaries: Map<number, string>,
  ) {
    this.length = t.count;
    this.f = {
      ts: 0n,
      key: "",
      keyBytes: t.buf,
      keyAt: 0,
      keyDerived: false,
      l4: 0,
      sport: null,
      dport: null,
      tcpFlags: null,
      summary: null,
      l7: null,
      rest: null,
      respTs: null,
      tsSynthetic: false,
      respRest: null,
    };
  }

  ts(i: number): bigint {
    return this.t.buf.readBigInt64BE(this.t.at[i * NCOL + TS]);
  }

  key(i: number): string {
    const at = this.t.at[i * NCOL + KEY];
    return uuidText(this.t.buf.toString("hex", at, at + 16));
  }

  private int32(i: number): number | null {
    const at = this.t.at[i];
    return at < 0 ? null : this.t.buf.readInt32BE(at);
  }

  private int16(i: number): number | null {
    const at = this.t.at[i];
    return at < 0 ? null : this.t.buf.readInt16BE(at);
  }

  private bytes(i: number): Buffer | null {
    const at = this.t.at[i];
    return at < 0 ? null : this.t.buf.subarray(at, at + this.t.len[i]);
  }

  write(i: number, out: ByteSink): void {
    const { buf, at } = this.t;
    const base = i * NCOL;
    const ctxId = buf.readInt32BE(at[base + CTX]);
    const ctx = this.contexts.get(ctxId);
    if (!ctx) throw new Error(`flow context ${ctxId} missing`);
    const f = this.f;
    f.ts = buf.readBigInt64BE(at[base + TS]);
    f.keyAt = at[base + KEY];
    f.keyDerived = buf[at[base + KEY_DERIVED]] === 1;
    f.l4 = this.int16(base + L4) ?? 0;
    f.sport = this.int32(base + SPORT);
    f.dport = this.int32(base + DPORT);
    f.tcpFlags = this.int16(base + TCP_FLAGS);
    const summaryId = this.int32(base + SUMMARY);
    f.summary = summaryId === null ? null : (this.summaries.get(summaryId) ?? null);
    f.l7 = this.bytes(base + L7);
    f.rest = this.bytes(base + REST);
    f.respTs = at[base + RESP_TS] < 0 ? null : buf.readBigInt64BE(at[base + RESP_TS]);
    f.tsSynthetic = at[base + TS_SYNTHETIC] >= 0 && buf[at[base + TS_SYNTHETIC]] === 1;
    f.respRest = this.bytes(base + RESP_REST);
    writeResponse(f, ctx, out);
  }
}

/** Flows already rebuilt into bytes (the driver's row path, PGlite), as a page. */
export class BytesPage implements FlowPage {
  constructor(readonly items: { key: string; ts: bigint; bytes: Buffer }[]) {}

  get length(): number {
    return this.items.length;
  }

  ts(i: number): bigint {
    return this.items[i].ts;
  }

  key(i: number): string {
    return this.items[i].key;
  }

  write(i: number, out: ByteSink): void {
    const b = this.items[i].bytes;
    out.ensure(b.length);
    out.bytes(b);
  }
}

/** Every flow of a page as its own bytes (callers that keep what they read). */
export function materialize(page: FlowPage): { key: string; ts: bigint; bytes: Buffer }[] {
  if (page instanceof BytesPage) return page.items;
  const sink = new ByteSink(64 * 1024);
  const out: { key: string; ts: bigint; bytes: Buffer }[] = new Array(page.length);
  for (let i = 0; i < page.length; i++) {
    sink.pos = 0;
    page.write(i, sink);
    out[i] = { key: page.key(i), ts: page.ts(i), bytes: sink.copyFrom(0) };
  }
  return out;
}

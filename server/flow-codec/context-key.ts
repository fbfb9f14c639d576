/**
 * A flow's context bytes and their key (ctxHash = md5(context bytes, 0xff, response node marker)),
 * without a copy or an md5 per flow. Contexts repeat (one per conversation and node), so the bytes
 * are gathered into one scratch buffer, looked up by a cheap word hash and compared byte for byte
 * with the contexts seen before: a hit gives back that context's bytes and md5, which are what a
 * fresh copy and md5 would have given. Only a context not seen yet is copied and hashed.
 * Per flow this was a Buffer.concat of its ~15 context fields and an md5 of ~800 bytes: a third of
 * the split and much of the ingest's garbage (docs/adr/0013).
 */
import { hash } from "node:crypto";

export interface ContextKey {
  /** the context fields' original bytes, in wire order */
  raw: Buffer;
  /** md5 of raw, 0xff and the response node marker */
  hash: Buffer;
}

interface Entry extends ContextKey {
  /** raw, 0xff and the marker: what the md5 covers, compared on lookup */
  hashed: Buffer;
  next: Entry | null;
}

const SEP = 0xff;
/** marks a context whose response-level node name is the flow's own */
const SAME_NODE = Buffer.from("\u0000same", "utf8");
/**
 * Distinct contexts remembered (~1 KB each: ≤ ~20 MB); past this the memo starts over, and the
 * contexts still in use come back at once. A node sees hundreds to a few thousand.
 */
const MAX_ENTRIES = 20_000;

/** FNV-style hash over 32-bit words (then the last bytes): a bucket index, equality is checked by bytes */
function wordHash(buf: Buffer, words: Int32Array, len: number): number {
  let h = len | 0;
  const n = len >>> 2;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = n << 2; i < len; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h ^ (h >>> 15);
}

export class ContextKeys {
  private scratch = Buffer.alloc(0);
  private words = new Int32Array(0);
  private len = 0;
  private readonly byHash = new Map<number, Entry>();
  private size = 0;

  /** Starts a flow's context. */
  begin(): void {
    this.len = 0;
  }

  /** Appends bytes [start, end) of buf (one context field, or a run of adjacent ones). */
  add(buf: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    buf.copy(this.scratch, this.len, start, end);
    this.len += end - start;
  }

  /**
   * The context's bytes and key. `responseNodeName`: null when the response's node name is the
   * flow's own, else the response's ("" when absent).
   */
  finish(responseNodeName: string | null): ContextKey {
    const rawLen = this.len;
    this.reserve(1 + (responseNodeName === null ? SAME_NODE.length : 3 * responseNodeName.length));
    this.scratch[this.len++] = SEP;
    if (responseNodeName === null) {
      SAME_NODE.copy(this.scratch, this.len);
      this.len += SAME_NODE.length;
    } else this.len += this.scratch.write(responseNodeName, this.len, "utf8");
    const len = this.len;
    const h = wordHash(this.scratch, this.words, len);
    const first = this.byHash.get(h);
    for (let e: Entry | null = first ?? null; e; e = e.next) {
      if (e.hashed.length === len && e.raw.length === rawLen && this.scratch.compare(e.hashed, 0, len, 0, len) === 0) return e;
    }
    const hashed = Buffer.allocUnsafeSlow(len);
    this.scratch.copy(hashed, 0, 0, len);
    if (this.size >= MAX_ENTRIES) {
      this.byHash.clear();
      this.size = 0;
    }
    const e: Entry = { raw: hashed.subarray(0, rawLen), hash: hash("md5", hashed, "buffer"), hashed, next: this.byHash.get(h) ?? null };
    this.byHash.set(h, e);
    this.size++;
    return e;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.scratch.length) return;
    let size = Math.max(4096, this.scratch.length * 2);
    while (size < this.len + n) size *= 2;
    // its own ArrayBuffer, offset 0: the Int32Array view over it needs 4-byte alignment
    const next = Buffer.from(new ArrayBuffer(size));
    this.scratch.copy(next, 0, 0, this.len);
    this.scratch = next;
    this.words = new Int32Array(next.buffer, 0, size >>> 2);
  }
}

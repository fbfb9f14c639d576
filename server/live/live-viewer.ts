/**
 * One /api/live stream: the flows of each published batch that match its filter, queued in order
 * and written to the SSE body as fast as the client takes them. A batch arrives all at once (up to
 * a few MB for a catch-all filter), so a viewer keeps a queue of the flows it has yet to send —
 * references to frames shared by all viewers, at most `queueBytes` of them — and the stream itself
 * buffers at most `streamBytes`. When the queue is full (the client or its connection does not
 * keep up) further matching flows are skipped, counted, and announced with `event: skipped` in
 * their place in the stream. A viewer that takes nothing for `stallMs` is closed.
 *
 * Accounting: every flow that matched the filter is either sent or counted in a `slow` skip, and
 * every flow the hub did not convert (its rate budget) is announced as a `rate` skip to every viewer
 * (unknown whether it matches). Each announcement carries the stored times of the first and last
 * flow it covers, so a client can read them back from /api/flows.
 */
import { hasConditions, splitSpec, type FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { formatRfc3339Ns } from "@/server/domain/shared/time";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { metrics } from "@/server/metrics";
import type { LiveFlow } from "./live-flow";

export type SkipReason = "rate" | "slow";

/** A run of skipped flows: how many, and the stored times of the earliest and latest. */
export interface SkipSpan {
  count: number;
  firstNs: bigint;
  lastNs: bigint;
}

export interface LiveBatch {
  flows: readonly LiveFlow[];
  /** rows of the batch the hub did not convert (over its budget); not checked against any filter */
  unconverted?: SkipSpan;
}

export interface LiveViewerOptions {
  /** bytes of flows a viewer may have waiting to be sent (shared with other viewers) */
  queueBytes: number;
  /** bytes the SSE stream itself buffers for the HTTP response */
  streamBytes: number;
  /** a viewer that takes nothing this long while flows wait is closed */
  stallMs: number;
  /** comment ping interval on an idle stream */
  pingMs: number;
}

export interface LiveViewerStats {
  /** flows written to the stream */
  sent: number;
  /** flows announced as skipped (written to the stream), by reason */
  announced: Record<SkipReason, number>;
  /** flows waiting in the queue, and skips not yet announced */
  queued: number;
  pending: Record<SkipReason, number>;
  /** bytes of the queued flows' frames (shared with other viewers) */
  queuedBytes: number;
  /** bytes in the stream's own buffer, not yet taken by the HTTP response */
  streamBytes: number;
  closed: boolean;
  closedBy?: "stalled" | "shutdown";
}

/** Skips that happened at one place in the stream (after the flows queued before them). */
interface SkipEntry {
  slow?: SkipSpan;
  rate?: SkipSpan;
}
type Entry = LiveFlow | SkipEntry;

/**
 * The filter as two halves of the one matcher: conditions on the context (namespace, labels,
 * verdict, IPs, names, node…) hold for every flow of a context, so they are evaluated once per
 * context and remembered; only conditions on the flow's own fields (ports, protocol, L7, uuid) run
 * per flow. Same answer as compileMatcher(filter), which ANDs the same conditions.
 */
export class LiveMatcher {
  private readonly context?: (item: FlowItem) => boolean;
  private readonly flow?: (item: FlowItem) => boolean;
  private readonly byContext = new Map<number, boolean>();

  constructor(filter: FlowFilterSpec) {
    const { context, flow } = splitSpec(filter);
    if (hasConditions(context)) this.context = compileMatcher(context);
    if (hasConditions(flow)) this.flow = compileMatcher(flow);
  }

  matches(f: LiveFlow): boolean {
    if (this.context) {
      let hit = this.byContext.get(f.ctx.id);
      if (hit === undefined) {
        if (this.byContext.size >= 50_000) this.byContext.clear();
        hit = this.context(f.item);
        this.byContext.set(f.ctx.id, hit);
      }
      if (!hit) return false;
    }
    return !this.flow || this.flow(f.item);
  }
}

/** Larger writes are split: what the HTTP layer holds outside our buffers is a chunk or two. */
const MAX_CHUNK = 64 * 1024;
const PING = Buffer.from(": ping\n\n", "utf8");

function merge(a: SkipSpan | undefined, b: SkipSpan): SkipSpan {
  if (!a) return { ...b };
  return { count: a.count + b.count, firstNs: b.firstNs < a.firstNs ? b.firstNs : a.firstNs, lastNs: b.lastNs > a.lastNs ? b.lastNs : a.lastNs };
}

export function skippedFrame(reason: SkipReason, span: SkipSpan): Buffer {
  const data = { count: span.count, reason, first: formatRfc3339Ns(span.firstNs), last: formatRfc3339Ns(span.lastNs) };
  return Buffer.from(`event: skipped\ndata: ${JSON.stringify(data)}\n\n`, "utf8");
}

export class LiveViewer {
  readonly stream: ReadableStream<Uint8Array>;
  private ctl!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private closedBy?: LiveViewerStats["closedBy"];
  private sent = 0;
  private readonly announced: Record<SkipReason, number> = { rate: 0, slow: 0 };
  private queue: Entry[] = [];
  private head = 0;
  private queuedFlows = 0;
  private queuedBytes = 0;
  /** last time the stream had room (the client was taking data, or nothing waited) */
  private lastRoomAt: number;
  private lastWriteAt: number;
  private readonly matcher: LiveMatcher;

  constructor(
    filter: FlowFilterSpec,
    private readonly opts: LiveViewerOptions,
    private readonly onClose: (viewer: LiveViewer) => void,
    now = Date.now(),
  ) {
    this.matcher = new LiveMatcher(filter);
    this.lastRoomAt = now;
    this.lastWriteAt = now;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.ctl = c;
          c.enqueue(Buffer.from(": connected\n\nretry: 2000\n\n", "utf8"));
        },
        // the response took bytes: send what waits
        pull: () => {
          this.lastRoomAt = Date.now();
          this.drain();
        },
        cancel: () => this.close(),
      },
      { highWaterMark: opts.streamBytes, size: (chunk) => chunk.byteLength },
    );
  }

  private room(): number {
    return this.ctl.desiredSize ?? 0;
  }

  private write(bytes: Buffer): void {
    this.ctl.enqueue(bytes);
    this.lastWriteAt = Date.now();
  }

  /** The skip entry at the tail of the queue, added if the tail is a flow. */
  private tailSkip(): SkipEntry {
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1] : undefined;
    if (last && !("item" in last)) return last;
    const entry: SkipEntry = {};
    this.queue.push(entry);
    return entry;
  }

  offer(batch: LiveBatch, now = Date.now()): void {
    if (this.closed) return;
    if (batch.unconverted && batch.unconverted.count > 0) {
      const tail = this.tailSkip();
      tail.rate = merge(tail.rate, batch.unconverted);
    }
    for (const f of batch.flows) {
      if (!this.matcher.matches(f)) continue;
      const size = f.frame.length;
      if (this.queuedBytes + size <= this.opts.queueBytes) {
        this.queue.push(f);
        this.queuedFlows++;
        this.queuedBytes += size;
      } else {
        const tail = this.tailSkip();
        tail.slow = merge(tail.slow, { count: 1, firstNs: f.ts, lastNs: f.ts });
      }
    }
    if (this.room() > 0) this.lastRoomAt = now;
    this.drain();
    this.checkStall(now);
  }

  /** Writes queued entries while the stream has room. */
  private drain(): void {
    if (this.closed) return;
    while (this.head < this.queue.length && this.room() > 0) {
      const room = this.room();
      const parts: Buffer[] = [];
      let size = 0;
      let flows = 0;
      while (this.head < this.queue.length && size < MAX_CHUNK && size < room) {
        const e = this.queue[this.head++];
        if ("item" in e) {
          const frame = e.frame;
          parts.push(frame);
          size += frame.length;
          flows++;
          this.queuedBytes -= frame.length;
        } else {
          for (const reason of ["slow", "rate"] as const) {
            const span = e[reason];
            if (!span) continue;
            const frame = skippedFrame(reason, span);
            parts.push(frame);
            size += frame.length;
            this.announced[reason] += span.count;
            metrics().liveSkipped.inc({ reason }, span.count);
          }
        }
      }
      if (parts.length) this.write(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
      this.sent += flows;
      this.queuedFlows -= flows;
      if (flows) metrics().liveSent.inc(flows);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Periodic: ping an idle stream, close a stalled one. */
  tick(now = Date.now()): void {
    if (this.closed) return;
    if (this.room() > 0) {
      this.lastRoomAt = now;
      this.drain();
      if (now - this.lastWriteAt >= this.opts.pingMs) this.write(PING);
    }
    this.checkStall(now);
  }

  private checkStall(now: number): void {
    if (this.room() <= 0 && now - this.lastRoomAt >= this.opts.stallMs) {
      this.closedBy = "stalled";
      // error, not close: close would keep the buffered bytes until a client that does not read reads them
      this.close(new Error(`live viewer stalled: nothing read for ${Math.round((now - this.lastRoomAt) / 1000)} s`));
    }
  }

  close(reason?: Error, by?: LiveViewerStats["closedBy"]): void {
    if (this.closed) return;
    this.closed = true;
    if (by) this.closedBy = by;
    this.queue = [];
    this.head = 0;
    this.queuedFlows = 0;
    this.queuedBytes = 0;
    try {
      if (reason) this.ctl.error(reason);
      else this.ctl.close();
    } catch {
      // already closed or cancelled by the client
    }
    this.onClose(this);
  }

  stats(): LiveViewerStats {
    const pending = { rate: 0, slow: 0 };
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (!("item" in e)) {
        pending.rate += e.rate?.count ?? 0;
        pending.slow += e.slow?.count ?? 0;
      }
    }
    return {
      sent: this.sent,
      announced: { ...this.announced },
      queued: this.queuedFlows,
      pending,
      queuedBytes: this.queuedBytes,
      streamBytes: this.closed ? 0 : Math.max(0, this.opts.streamBytes - this.room()),
      closed: this.closed,
      closedBy: this.closedBy,
    };
  }
}

/**
 * Writing a server stream at the client's pace. History is written with `send` (the caller waits
 * for the stream's drain when it returns a promise: memory stays bounded whatever the request's
 * size) and `flush`; live items are queued with `enqueue` and pumped: past `maxBytes` queued, items
 * are dropped and counted, and the count goes out as a LostEvent (HUBBLE_RING_BUFFER, like a
 * Relay's lapped reader) in their place. Messages are framed and written in chunks when grpc-js
 * lets us (grpc-frames.ts), one by one through the call otherwise.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { EventEmitter } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { LostEventSource, type LostEvent } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import type { FlowPage } from "@/server/db/flows/flow-copy-page";
import { ByteSink } from "@/server/flow-codec/response-writer";
import { FrameWriter, rawStreamOf } from "./grpc-frames";

/** framed bytes gathered before one HTTP/2 write: large enough to make the per-write cost small */
const CHUNK = 64 * 1024;

export const NS_PER_S = 1_000_000_000n;

export function nsTimestamp(ns: bigint): Timestamp {
  let s = ns / NS_PER_S;
  let n = ns % NS_PER_S;
  if (n < 0n) (n += NS_PER_S), (s -= 1n);
  return create(TimestampSchema, { seconds: s, nanos: Number(n) });
}

/** A GetFlowsResponse{lost_events} in bytes. */
export function lostEventResponse(lost: Partial<Pick<LostEvent, "source" | "numEventsLost" | "cpu" | "first" | "last" | "$unknown">> | LostEvent, nodeName: string, timeNs: bigint): Buffer {
  const msg = create(GetFlowsResponseSchema, {
    responseTypes: { case: "lostEvents", value: lost as LostEvent },
    nodeName,
    time: nsTimestamp(timeNs),
  });
  return Buffer.from(toBinary(GetFlowsResponseSchema, msg));
}

export class StreamClosedError extends Error {
  constructor() {
    super("the client closed the stream");
  }
}

type Call = grpc.ServerWritableStream<unknown, Buffer>;

export class Outbox {
  private readonly queue: { bytes: Buffer; ts: bigint }[] = [];
  private queuedBytes = 0;
  private dropped: { count: number; firstNs: bigint; lastNs: bigint } | null = null;
  private pumping = false;
  private pumpScheduled = false;
  private closed = false;
  private readonly frames: FrameWriter | null;
  /** where a flow is rebuilt when there are no frames to write it into */
  private readonly scratch = new ByteSink(16 * 1024);
  /** responses written (flows and events) */
  written = 0;

  constructor(
    private readonly call: Call,
    private readonly signal: AbortSignal,
    private readonly maxBytes: number,
    private readonly nodeName = "flowlens",
  ) {
    signal.addEventListener("abort", () => (this.closed = true), { once: true });
    const base = rawStreamOf(call);
    this.frames = base ? new FrameWriter(base, CHUNK) : null;
  }

  /** whether messages go out framed in chunks (grpc-frames.ts) */
  get coalesced(): boolean {
    return this.frames !== null;
  }

  /**
   * Writes one response (framed: once a chunk is full). Returns a promise when the caller must
   * wait for the stream to take more; undefined when it can go on at once (most calls: no promise
   * to allocate per flow).
   */
  send(bytes: Buffer): Promise<void> | undefined {
    if (this.closed) throw new StreamClosedError();
    this.written++;
    if (this.frames) {
      this.frames.add(bytes);
      return this.frames.pending >= CHUNK ? this.flush() : undefined;
    }
    return this.call.write(bytes) ? undefined : this.drain(this.call);
  }

  /** Writes flow i of a page, rebuilt right into the frame; returns like `send`. */
  sendFlow(page: FlowPage, i: number): Promise<void> | undefined {
    if (this.closed) throw new StreamClosedError();
    this.written++;
    const frames = this.frames;
    if (frames) {
      const start = frames.begin();
      try {
        page.write(i, frames.sink);
      } catch (e) {
        frames.sink.pos = start; // no half message goes out
        throw e;
      }
      frames.end(start);
      return frames.pending >= CHUNK ? this.flush() : undefined;
    }
    this.scratch.pos = 0;
    page.write(i, this.scratch);
    return this.call.write(this.scratch.copyFrom(0)) ? undefined : this.drain(this.call);
  }

  /** Writes what is framed: before the caller waits for something else, the client should not wait with it. */
  flush(): Promise<void> | undefined {
    if (!this.frames) return undefined;
    if (this.closed) throw new StreamClosedError();
    return this.frames.write() ? undefined : this.drain(this.frames.stream);
  }

  private drain(target: EventEmitter): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        target.off("drain", done);
        this.signal.removeEventListener("abort", fail);
        resolve();
      };
      const fail = () => {
        target.off("drain", done);
        reject(new StreamClosedError());
      };
      target.on("drain", done);
      this.signal.addEventListener("abort", fail, { once: true });
    });
  }

  /** Queues a live response; never waits. The queue is written after the current batch of calls. */
  enqueue(bytes: Buffer, ts: bigint): void {
    if (this.closed) return;
    if (this.queuedBytes + bytes.length > this.maxBytes) {
      const d = (this.dropped ??= { count: 0, firstNs: ts, lastNs: ts });
      d.count++;
      if (ts < d.firstNs) d.firstNs = ts;
      if (ts > d.lastNs) d.lastNs = ts;
    } else {
      this.flushDropped();
      this.queue.push({ bytes, ts });
      this.queuedBytes += bytes.length;
    }
    if (!this.pumpScheduled) {
      // a stored batch is enqueued flow by flow in one turn: written together
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        void this.pump();
      });
    }
  }

  /** the dropped count goes into the queue (bypassing its limit: it is small) in the dropped flows' place */
  private flushDropped(): void {
    const d = this.dropped;
    if (!d) return;
    this.dropped = null;
    const lost = lostEventResponse(
      {
        source: LostEventSource.HUBBLE_RING_BUFFER,
        numEventsLost: BigInt(d.count),
        first: nsTimestamp(d.firstNs),
        last: nsTimestamp(d.lastNs),
      },
      this.nodeName,
      d.lastNs,
    );
    this.queue.push({ bytes: lost, ts: d.lastNs });
    this.queuedBytes += lost.length;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.queue.length === 0) this.flushDropped();
        const next = this.queue.shift();
        if (next) {
          this.queuedBytes -= next.bytes.length;
          const wait = this.send(next.bytes);
          if (wait) await wait;
          continue;
        }
        const wait = this.flush();
        if (wait) await wait;
        // more may have been queued while the stream drained
        if (this.queue.length === 0 && !this.dropped) break;
      }
    } catch {
      // closed: the handler notices through the signal
    } finally {
      this.pumping = false;
    }
  }

  /** live responses not yet written */
  get pending(): number {
    return this.queue.length + (this.frames && this.frames.pending > 0 ? 1 : 0);
  }
}

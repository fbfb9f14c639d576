/**
 * Writing a server stream at the client's pace. History is written with `send` (awaits the
 * stream's drain: memory stays bounded whatever the request's size); live items are queued with
 * `enqueue` and pumped: past `maxBytes` queued, items are dropped and counted, and the count goes
 * out as a LostEvent (HUBBLE_RING_BUFFER, like a Relay's lapped reader) in their place.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { LostEventSource, type LostEvent } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";

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
  private closed = false;
  /** responses written (flows and events) */
  written = 0;

  constructor(
    private readonly call: Call,
    private readonly signal: AbortSignal,
    private readonly maxBytes: number,
    private readonly nodeName = "flowlens",
  ) {
    signal.addEventListener("abort", () => (this.closed = true), { once: true });
  }

  /** Writes one response; resolves when the stream can take more. */
  async send(bytes: Buffer): Promise<void> {
    if (this.closed) throw new StreamClosedError();
    this.written++;
    if (this.call.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.call.off("drain", done);
        this.signal.removeEventListener("abort", fail);
        resolve();
      };
      const fail = () => {
        this.call.off("drain", done);
        reject(new StreamClosedError());
      };
      this.call.on("drain", done);
      this.signal.addEventListener("abort", fail, { once: true });
    });
  }

  /** Queues a live response; never waits. */
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
    void this.pump();
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
        if (!next) break;
        this.queuedBytes -= next.bytes.length;
        await this.send(next.bytes);
      }
    } catch {
      // closed: the handler notices through the signal
    } finally {
      this.pumping = false;
    }
  }

  get pending(): number {
    return this.queue.length;
  }
}

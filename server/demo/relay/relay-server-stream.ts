/**
 * One server-streaming call of the test/demo Observer server: a queue in front of the grpc-js
 * writable that respects backpressure (stops on `write() === false`, resumes on 'drain').
 * A follower that cannot keep up is "lapped" like a Hubble ring reader: once more than
 * `maxPending` items wait, the oldest are dropped and the client gets one lost-events marker
 * (Hubble sends LostEvent{source: HUBBLE_RING_BUFFER}) in their place, so the gap is visible.
 */
import { status, type ServerWritableStream, type StatusObject } from "@grpc/grpc-js";

export interface StreamItem {
  ns: bigint;
}

export interface StreamPumpOptions<T extends StreamItem, W> {
  maxPending: number;
  toWire: (item: T) => W;
  /** what to send in place of dropped items; without it they vanish silently */
  lostMarker?: (count: number, firstNs: bigint, lastNs: bigint) => W;
  onWrite?: () => void;
  /** called once, when the call is over for whatever reason */
  onClose?: () => void;
}

export class StreamPump<T extends StreamItem, W> {
  private queue: (T | undefined)[] = [];
  private head = 0;
  private waitingDrain = false;
  private lost = 0;
  private lostFirst = 0n;
  private lostLast = 0n;
  private ending: Partial<StatusObject> | "ok" | undefined;
  private closed = false;

  constructor(
    private readonly call: ServerWritableStream<unknown, W>,
    private readonly opts: StreamPumpOptions<T, W>,
  ) {
    const onGone = () => this.close();
    call.on("cancelled", onGone);
    call.on("close", onGone);
    call.on("error", onGone);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  push(item: T): void {
    if (this.closed || this.ending) return;
    this.queue.push(item);
    if (this.pending > this.opts.maxPending) this.dropOldest();
    this.pump();
  }

  pushAll(items: Iterable<T>): void {
    if (this.closed || this.ending) return;
    for (const item of items) {
      this.queue.push(item);
      if (this.pending > this.opts.maxPending) this.dropOldest();
    }
    this.pump();
  }

  /** Finish after everything queued has been written: OK status, or the given error status. */
  end(error?: Partial<StatusObject>): void {
    if (this.closed || this.ending) return;
    this.ending = error ?? "ok";
    this.pump();
  }

  /** The call is gone (client cancel, server killed): forget everything queued. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.opts.onClose?.();
  }

  private dropOldest(): void {
    const item = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (!item) return;
    if (this.lost === 0) this.lostFirst = item.ns;
    this.lostLast = item.ns;
    this.lost++;
  }

  private pump(): void {
    if (this.closed || this.waitingDrain) return;
    for (;;) {
      let wire: W;
      if (this.lost > 0) {
        const marker = this.opts.lostMarker?.(this.lost, this.lostFirst, this.lostLast);
        this.lost = 0;
        if (marker === undefined) continue;
        wire = marker;
      } else if (this.head < this.queue.length) {
        const item = this.queue[this.head] as T;
        this.queue[this.head++] = undefined;
        wire = this.opts.toWire(item);
      } else break;
      const ok = this.call.write(wire);
      this.opts.onWrite?.();
      if (!ok) {
        this.waitingDrain = true;
        this.call.once("drain", () => {
          this.waitingDrain = false;
          this.pump();
        });
        this.compact();
        return;
      }
    }
    this.queue = [];
    this.head = 0;
    if (this.ending) this.finish();
  }

  /** Keeps a long-lived queue from holding a huge prefix of consumed slots. */
  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private finish(): void {
    const ending = this.ending;
    if (ending === "ok") this.call.end();
    else if (ending) this.call.emit("error", { code: status.UNKNOWN, details: "", ...ending });
    this.close();
  }
}

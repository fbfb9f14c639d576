/**
 * Bounded queue between the gRPC reader and the database. Flushes on size or time. Two stages run
 * side by side: while batch k commits, batch k+1 is prepared (encoded); commits stay in order, so
 * "everything up to the newest stored flow is stored" holds for resuming. When full it tells the
 * reader to pause (HTTP/2 flow control then slows the Relay) instead of growing memory. A failed
 * stage is retried with backoff and its items are never dropped.
 */
export interface BatchQueueOptions<T, P> {
  batchSize: number;
  flushMs: number;
  /** the reader is paused at this many queued or in-flight items and resumed at half */
  maxItems: number;
  /** CPU-side work for a batch (may also write dimension rows); runs while the previous batch commits */
  prepare: (batch: T[]) => Promise<P>;
  /** the database write of a prepared batch; batches commit one at a time, in order */
  commit: (prepared: P, batch: T[]) => Promise<void>;
  onError?: (err: unknown, attempt: number) => void;
  onDepth?: (depth: number) => void;
  /** a paused queue has room again */
  onResume?: () => void;
}

export class BatchQueue<T, P = T[]> {
  private items: T[] = [];
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  paused = false;

  constructor(private readonly opts: BatchQueueOptions<T, P>) {}

  /** items received and not yet committed */
  get depth(): number {
    return this.items.length + this.inflight;
  }

  /** Adds an item; returns false when the reader should pause. */
  push(item: T): boolean {
    this.items.push(item);
    this.opts.onDepth?.(this.depth);
    if (this.items.length >= this.opts.batchSize) this.kick();
    else if (!this.timer && !this.flushing) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
    if (this.depth >= this.opts.maxItems) this.paused = true;
    return !this.paused;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.flushing) this.flushing = this.loop().finally(() => (this.flushing = null));
  }

  private async retry<R>(fn: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        this.opts.onError?.(err, attempt);
        if (this.stopped && attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
      }
    }
  }

  private committed(count: number): void {
    this.inflight -= count;
    this.opts.onDepth?.(this.depth);
    if (this.paused && this.depth <= this.opts.maxItems / 2) {
      this.paused = false;
      this.opts.onResume?.();
    }
  }

  private async loop(): Promise<void> {
    let previous: Promise<void> = Promise.resolve();
    try {
      // the first batch goes even when partial (the timer fired); later ones only when full or draining
      for (let first = true; this.items.length > 0 && (first || this.stopped || this.items.length >= this.opts.batchSize); first = false) {
        const batch = this.items.splice(0, this.opts.batchSize);
        this.inflight += batch.length;
        const prepared = await this.retry(() => this.opts.prepare(batch));
        await previous;
        previous = this.retry(() => this.opts.commit(prepared, batch)).then(() => this.committed(batch.length));
      }
    } finally {
      await previous;
    }
    if (this.items.length > 0 && !this.stopped && !this.timer) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
  }

  /** Writes everything queued now, partial batches included; resolves when all is committed. */
  async drain(): Promise<void> {
    const wasStopped = this.stopped;
    this.stopped = true;
    try {
      while (this.items.length > 0 || this.flushing) {
        this.kick();
        await this.flushing;
      }
    } finally {
      this.stopped = wasStopped;
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

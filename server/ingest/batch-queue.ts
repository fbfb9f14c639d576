/**
 * Bounded queue between the gRPC reader and the database. Flushes on size or time, one batch at a
 * time; when full it tells the reader to pause (HTTP/2 flow control then slows the Relay) instead of
 * growing memory. A failed write is retried with backoff and never dropped.
 */
export interface BatchQueueOptions<T> {
  batchSize: number;
  flushMs: number;
  /** the reader is paused at this many queued items and resumed at half */
  maxItems: number;
  write: (batch: T[]) => Promise<void>;
  onError?: (err: unknown, attempt: number) => void;
  onDepth?: (depth: number) => void;
  /** a paused queue has room again */
  onResume?: () => void;
}

export class BatchQueue<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  paused = false;

  constructor(private readonly opts: BatchQueueOptions<T>) {}

  get depth(): number {
    return this.items.length;
  }

  /** Adds an item; returns false when the reader should pause. */
  push(item: T): boolean {
    this.items.push(item);
    this.opts.onDepth?.(this.items.length);
    if (this.items.length >= this.opts.batchSize) this.kick();
    else if (!this.timer && !this.flushing) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
    if (this.items.length >= this.opts.maxItems) this.paused = true;
    return !this.paused;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.flushing) this.flushing = this.loop().finally(() => (this.flushing = null));
  }

  private async loop(): Promise<void> {
    while (this.items.length > 0) {
      const batch = this.items.slice(0, this.opts.batchSize);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.opts.write(batch);
          break;
        } catch (err) {
          this.opts.onError?.(err, attempt);
          if (this.stopped && attempt >= 3) throw err;
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
        }
      }
      this.items.splice(0, batch.length);
      this.opts.onDepth?.(this.items.length);
      if (this.paused && this.items.length <= this.opts.maxItems / 2) {
        this.paused = false;
        this.opts.onResume?.();
      }
      // a partial batch waits for more items unless we are draining
      if (this.items.length < this.opts.batchSize && !this.stopped) {
        if (this.items.length > 0) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
        break;
      }
    }
  }

  /** Writes everything queued now, partial batches included; resolves when the queue is empty. */
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

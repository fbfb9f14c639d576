/**
 * Bounded queue between the gRPC reader and the database. Flushes on size or time. Two stages run
 * side by side: while batch k commits, batch k+1 is prepared (encoded); commits stay in order, so
 * "everything up to the newest stored flow is stored" holds for resuming. When full it tells the
 * reader to pause (HTTP/2 flow control then slows the Relay) instead of growing memory.
 *
 * Failures: a transient one (the database restarting, a lost connection, a lock timeout) is retried
 * with capped backoff while the queue holds the stream; its items are never dropped. Any other
 * failure is about some item's data and would fail the same way forever: the batch is split in
 * halves until the items the store refuses are found, and each of those is stored in its
 * `poison` form (a quarantine record) so that every other item is stored and the stream goes on.
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
  /** worth retrying (default: every error is) */
  isTransient?: (err: unknown) => boolean;
  /**
   * Is the store answering? Asked when a "transient" error keeps coming back: if the store answers
   * while one batch keeps failing, the batch is the problem and is isolated like any other failure.
   */
  probe?: () => Promise<boolean>;
  /** the form in which an item the store refused is stored instead, or null to drop it */
  poison?: (item: T, err: unknown) => T | null;
  /** an item was dropped: the store refused it and its poison form too (or it has none) */
  onDropped?: (item: T, err: unknown) => void;
  onError?: (err: unknown, attempt: number) => void;
  onDepth?: (depth: number) => void;
  /** a paused queue has room again */
  onResume?: () => void;
  /** backoff between attempts, ms (default 100 · 2^attempt, at most 5 s) */
  backoff?: (attempt: number) => number;
}

/** The queue was abandoned (its writer lost the right to write): nothing more is stored. */
export class QueueAbandonedError extends Error {
  constructor() {
    super("the batch queue was abandoned");
  }
}

type Attempt<R> = { ok: true; value: R } | { ok: false; err: unknown };

/** After this many failures of one batch, a transient-looking error is checked with probe(). */
const SUSPECT_AFTER = 5;

export class BatchQueue<T, P = T[]> {
  private items: T[] = [];
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** partial batches go at once (drain) */
  private draining = false;
  /** closing: a failing store is given up on after a few attempts */
  private closing = false;
  /** abandoned: queued items are dropped and nothing more is written (a lost ingest lease) */
  private abandoned = false;
  /** prepare() calls run one at a time (an isolation's sub-batches and the next batch both prepare) */
  private prepareChain: Promise<unknown> = Promise.resolve();
  paused = false;

  constructor(private readonly opts: BatchQueueOptions<T, P>) {}

  /** items received and not yet committed */
  get depth(): number {
    return this.items.length + this.inflight;
  }

  /** Adds an item; returns false when the reader should pause. */
  push(item: T): boolean {
    if (this.abandoned) return true;
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
    if (!this.flushing)
      this.flushing = this.loop()
        .catch((e) => {
          if (!(e instanceof QueueAbandonedError)) throw e;
        })
        .finally(() => (this.flushing = null));
  }

  private prepare(batch: T[]): Promise<P> {
    const run = this.prepareChain.then(
      () => this.opts.prepare(batch),
      () => this.opts.prepare(batch),
    );
    this.prepareChain = run.catch(() => {});
    return run;
  }

  /** Runs fn until it succeeds or fails in a way retrying cannot fix. */
  private async attempt<R>(fn: () => Promise<R>): Promise<Attempt<R>> {
    for (let attempt = 1; ; attempt++) {
      if (this.abandoned) throw new QueueAbandonedError();
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        if (this.abandoned) throw new QueueAbandonedError();
        this.opts.onError?.(err, attempt);
        if (this.closing && attempt >= 3) throw err; // shutting down with the store away: give up (a resume re-reads it)
        const transient = this.opts.isTransient?.(err) ?? true;
        if (!transient) return { ok: false, err };
        if (attempt >= SUSPECT_AFTER && this.opts.probe && this.opts.poison && (await this.opts.probe().catch(() => false))) {
          return { ok: false, err };
        }
        const wait = this.opts.backoff?.(attempt) ?? Math.min(100 * 2 ** attempt, 5000);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Prepares and commits a batch; on a lasting failure, halves it until the refused items are found. */
  private async store(batch: T[], prepared?: Attempt<P>): Promise<void> {
    const p = prepared ?? (await this.attempt(() => this.prepare(batch)));
    const done = p.ok ? await this.attempt(() => this.opts.commit(p.value, batch)) : p;
    if (done.ok) return;
    if (!this.opts.poison) throw done.err;
    if (batch.length > 1) {
      const mid = batch.length >>> 1;
      await this.store(batch.slice(0, mid));
      await this.store(batch.slice(mid));
      return;
    }
    const replacement = this.opts.poison(batch[0], done.err);
    if (replacement === null) return this.opts.onDropped?.(batch[0], done.err);
    const again = await this.attempt(async () => this.opts.commit(await this.prepare([replacement]), [replacement]));
    if (!again.ok) this.opts.onDropped?.(batch[0], again.err);
  }

  private committed(count: number): void {
    if (this.abandoned) return;
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
      for (let first = true; this.items.length > 0 && (first || this.draining || this.items.length >= this.opts.batchSize); first = false) {
        const batch = this.items.splice(0, this.opts.batchSize);
        this.inflight += batch.length;
        const prepared = await this.attempt(() => this.prepare(batch));
        await previous;
        previous = this.store(batch, prepared).then(() => this.committed(batch.length));
      }
    } finally {
      await previous;
    }
    if (this.items.length > 0 && !this.draining && !this.closing && !this.timer) this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
  }

  /** Writes everything queued now, partial batches included; resolves when all is committed. */
  async drain(): Promise<void> {
    const was = this.draining;
    this.draining = true;
    try {
      while (this.items.length > 0 || this.flushing) {
        this.kick();
        await this.flushing;
      }
    } finally {
      this.draining = was;
    }
  }

  /**
   * Drops everything queued and stops writing: a batch being retried gives up, a batch being
   * committed ends as its transaction does. Whoever writes next resumes from what is stored.
   */
  abandon(): void {
    this.abandoned = true;
    this.items = [];
    this.inflight = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.opts.onDepth?.(0);
  }

  async close(): Promise<void> {
    this.closing = true;
    try {
      await this.drain();
    } finally {
      if (this.timer) clearTimeout(this.timer);
    }
  }
}

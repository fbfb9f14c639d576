/**
 * Announces, inside the process that writes flows, the rollup counts of every committed batch — as
 * soon as its flows commit, before those counts reach flow_rollups (the writer upserts them about
 * once a second). Readers (the service map) keep the newest, still-changing minutes in memory from
 * this: an open map counts a flow within one batch of its arrival, without re-reading SQL.
 *
 * What a reader can know is "flow_rollups plus the writer's pending (committed but not yet
 * upserted) rows". To copy that consistently it runs its read in exclusive(): no write transaction
 * is in flight or may start meanwhile (the writer's begin() waits), so the table and the pending
 * rows describe the same set of committed flows.
 */
import type { Rollup } from "@/server/ingest/flow-rollup";

export interface RollupListener {
  /** rollup rows of newly committed flows, each to be added (the writer's upsert semantics) */
  rows(rollups: readonly Rollup[]): void;
  /** rollups changed in a way that is not an addition (repair, retention, a failure): start over */
  reset(): void;
}

export class RollupFeed {
  private startedCount = 0;
  private settledCount = 0;
  private readonly listeners = new Set<RollupListener>();
  private waiting: (() => void)[] = [];
  private gate: Promise<void> | null = null;
  /** the writer's committed-but-not-upserted rollup rows */
  pending: () => readonly Rollup[] = () => [];

  /** no write transaction is between begin() and its publish()/invalidate() */
  get quiet(): boolean {
    return this.startedCount === this.settledCount;
  }

  /** resolves once no write transaction is in flight */
  idle(): Promise<void> {
    return this.quiet ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  subscribe(l: RollupListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Runs fn while no write transaction runs (waits for the one in flight; new ones wait for fn). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    try {
      await this.idle();
      return await fn();
    } finally {
      this.gate = null;
      open();
    }
  }

  /** before a write transaction */
  async begin(): Promise<void> {
    while (this.gate) await this.gate;
    this.startedCount++;
  }

  /** after that transaction committed: the rollup rows of the flows it stored */
  publish(rollups: readonly Rollup[]): void {
    if (rollups.length) for (const l of this.listeners) l.rows(rollups);
    this.settle();
  }

  /**
   * after a change that is not an addition (repair, retention), or a failed transaction (nothing
   * changed, but a reader cannot be sure of that): readers start over
   */
  invalidate(): void {
    for (const l of this.listeners) l.reset();
    this.settle();
  }

  /**
   * Another process changed flow_rollups (a web replica hears the ingest's rollup upserts): readers
   * holding a copy of the newest minutes read them again when next asked. Not a write of ours: the
   * in-flight counts are untouched.
   */
  readersStartOver(): void {
    for (const l of this.listeners) l.reset();
  }

  /** runs a write between begin() and publish(counted())/invalidate() (counted: null = invalidate) */
  async around<T>(change: () => Promise<T>, counted: (result: T) => readonly Rollup[] | null): Promise<T> {
    await this.begin();
    let result: T;
    try {
      result = await change();
    } catch (e) {
      this.invalidate();
      throw e;
    }
    const rows = counted(result);
    if (rows) this.publish(rows);
    else this.invalidate();
    return result;
  }

  private settle(): void {
    this.settledCount++;
    if (this.quiet) {
      const w = this.waiting;
      this.waiting = [];
      for (const resolve of w) resolve();
    }
  }
}

/**
 * Announces every committed change to flow_rollups inside the process that writes them, so readers
 * (the service map) can keep the newest, still-changing minutes in memory instead of re-reading
 * them from SQL on every refresh of an open page.
 *
 * A reader that copies rows from SQL must know which commits its copy includes. `started` counts
 * rollup transactions begun, `settled` those finished (published or failed): a read that began and
 * ended with no transaction started in between saw exactly the commits announced before it.
 */
import type { Rollup } from "@/server/ingest/flow-rollup";

export interface RollupListener {
  /** committed rows, each to be added to what the table held (the writer's upsert semantics) */
  rows(rollups: readonly Rollup[]): void;
  /** the table changed in a way that is not an addition (repair, retention): start over */
  reset(): void;
}

export class RollupFeed {
  private startedCount = 0;
  private settledCount = 0;
  private readonly listeners = new Set<RollupListener>();
  private waiting: (() => void)[] = [];

  get started(): number {
    return this.startedCount;
  }

  /** no rollup transaction is between begin() and its publish()/invalidate() */
  get quiet(): boolean {
    return this.startedCount === this.settledCount;
  }

  /** resolves once no rollup transaction is in flight */
  idle(): Promise<void> {
    return this.quiet ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  subscribe(l: RollupListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** before a transaction that writes rollups */
  begin(): void {
    this.startedCount++;
  }

  /** after that transaction committed */
  publish(rollups: readonly Rollup[]): void {
    for (const l of this.listeners) l.rows(rollups);
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

  /** runs a rollup-writing change between begin() and publish(rows)/invalidate() */
  async around<T>(change: () => Promise<T>, published: (result: T) => readonly Rollup[] | null): Promise<T> {
    this.begin();
    let result: T;
    try {
      result = await change();
    } catch (e) {
      this.invalidate();
      throw e;
    }
    const rows = published(result);
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

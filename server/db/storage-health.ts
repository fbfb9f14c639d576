/**
 * Whether the store answers, for /api/status and the status header: `unavailable` from the first
 * failed connection (a write or a read) until a probe or a write succeeds again. While it is
 * unavailable a probe runs every second, so the state comes back by itself even when nothing
 * writes (the ingest waits with its stream paused).
 */
import type { Database } from "./connection";
import { describeStoreError, isTransientStoreError } from "./store-errors";

export interface StorageState {
  state: "ok" | "unavailable";
  /** the last connection error, while unavailable */
  error?: string;
  /** since when (ISO time), while unavailable */
  since?: string;
}

const PROBE_TIMEOUT_MS = 2000;
const PROBE_EVERY_MS = 1000;

export class StorageHealth {
  private current: StorageState = { state: "ok" };
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<boolean> | null = null;
  private closed = false;

  constructor(private readonly db: Pick<Database, "query">) {}

  get status(): StorageState {
    return this.current;
  }

  /** A store operation failed: a connection fault makes the store unavailable; other errors say nothing about it. */
  failed(err: unknown): void {
    if (!isTransientStoreError(err)) return;
    const error = describeStoreError(err);
    if (this.current.state === "ok") this.current = { state: "unavailable", error, since: new Date().toISOString() };
    else this.current = { ...this.current, error };
    this.schedule();
  }

  succeeded(): void {
    this.current = { state: "ok" };
  }

  /** Does the store answer a trivial query now? Updates the state either way. */
  probe(): Promise<boolean> {
    this.probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error("the store did not answer within 2 s"), { code: "ETIMEDOUT" })), PROBE_TIMEOUT_MS);
        });
        await Promise.race([this.db.query("SELECT 1"), timeout]);
        this.succeeded();
        return true;
      } catch (e) {
        this.failed(isTransientStoreError(e) ? e : Object.assign(new Error(describeStoreError(e)), { code: "ECONNREFUSED" }));
        return false;
      } finally {
        clearTimeout(timer);
        this.probing = null;
      }
    })();
    return this.probing;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (this.closed) return;
      if (!(await this.probe())) this.schedule();
    }, PROBE_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

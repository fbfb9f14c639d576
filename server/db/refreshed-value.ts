/**
 * A value read from the store for answers that must not wait on it (/api/status, polled by every
 * open page): get() answers the newest value known at once and, when that is older than `ttlMs`,
 * starts one refresh in the background, waiting for it at most `waitMs` (so an idle store still
 * answers fresh values, a slow or busy one never holds the answer up) — up to a second when the
 * value is from long ago (nobody asked for a while). Only the very first get() waits for a value;
 * a failed refresh keeps the last value and is tried again by the next get(). A read that takes
 * long (an exact count(*) over millions of rows) is repeated less often — at most 1/DUTY of the
 * time goes to it, however many ask — but at least every MAX_TTL_MS (the time measured includes
 * waiting for a connection, which is no cost of the read).
 */
const DUTY = 10;
const MAX_TTL_MS = 10_000;

export class RefreshedValue<T> {
  private known: { value: T; at: number } | null = null;
  private running: Promise<T> | null = null;
  /** how long the last read took */
  private lastLoadMs = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly waitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    const known = this.known;
    const ttlMs = Math.max(this.ttlMs, Math.min(MAX_TTL_MS, DUTY * this.lastLoadMs));
    if (known && this.now() - known.at < ttlMs) return known.value;
    const refresh = this.refresh();
    if (!known) return refresh;
    const waitMs = this.now() - known.at > 10 * ttlMs ? Math.max(this.waitMs, 1000) : this.waitMs;
    if (waitMs <= 0) return known.value;
    let timer: NodeJS.Timeout | undefined;
    const stale = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(this.known!.value), waitMs)));
    try {
      return await Promise.race([refresh.catch(() => this.known!.value), stale]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** starts a refresh unless one runs (e.g. at start, so the first get() finds a value) */
  refresh(): Promise<T> {
    if (!this.running) {
      const at = this.now(); // the value is as old as the moment its read began
      const running = (async () => {
        try {
          const value = await this.load();
          this.lastLoadMs = this.now() - at;
          this.known = { value, at };
          return value;
        } finally {
          this.running = null;
        }
      })();
      running.catch(() => {}); // a refresh nobody waits for must not be an unhandled rejection
      this.running = running;
    }
    return this.running;
  }
}

/**
 * Work that concurrent requests share (one read serving several) is cancelled only once every
 * request waiting for it has gone: one client closing its tab must not fail the others' answers.
 */
import { QueryCancelledError } from "./query-errors";

export class SharedAbort {
  private readonly controller = new AbortController();
  private waiting = 0;
  /** a caller without a signal joined: the work always finishes */
  private pinned = false;
  readonly signal = this.controller.signal;

  /** a request starts waiting for the work; call what this returns once it stops waiting */
  join(signal: AbortSignal | undefined): () => void {
    if (!signal) {
      this.pinned = true;
      return () => {};
    }
    if (signal.aborted) return () => {};
    this.waiting++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      signal.removeEventListener("abort", onAbort);
      this.waiting--;
    };
    const onAbort = () => {
      leave();
      if (this.waiting === 0 && !this.pinned) this.controller.abort();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return leave;
  }
}

/** `work`, or a QueryCancelledError as soon as the signal fires (the work itself goes on) */
export function unlessCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new QueryCancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new QueryCancelledError());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

import { describe, expect, it } from "vitest";
import { QueryCancelledError } from "@/server/db/query-errors";
import { RefreshedValue } from "@/server/db/refreshed-value";
import { SharedAbort, unlessCancelled } from "@/server/db/shared-abort";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a load the test finishes by hand */
function manualLoad() {
  const calls: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const load = () => new Promise<number>((resolve, reject) => calls.push({ resolve, reject }));
  return { load, calls };
}

describe("RefreshedValue (the status counts)", () => {
  it("waits for the first value only, then answers the known value at once while a slow refresh runs", async () => {
    let t = 0;
    const { load, calls } = manualLoad();
    const v = new RefreshedValue(load, 2000, 50, () => t);
    const first = v.get();
    expect(calls).toHaveLength(1);
    calls[0].resolve(1);
    expect(await first).toBe(1);

    t = 1000; // fresh: no read at all
    expect(await v.get()).toBe(1);
    expect(calls).toHaveLength(1);

    t = 2500; // stale: one refresh starts, the answer does not wait past waitMs for it
    const started = performance.now();
    expect(await v.get()).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await v.get()).toBe(1); // the same refresh, not a second one
    expect(calls).toHaveLength(2);
    calls[1].resolve(2);
    await sleep(0);
    expect(await v.get()).toBe(2);
  });

  it("with no wait, a stale value is answered in the same turn and refreshed behind it", async () => {
    let t = 0;
    const { load, calls } = manualLoad();
    const v = new RefreshedValue(load, 2000, 0, () => t);
    const first = v.get();
    calls[0].resolve(1);
    await first;
    t = 3000;
    let answered: number | null = null;
    void v.get().then((x) => (answered = x));
    await Promise.resolve();
    await Promise.resolve();
    expect(answered).toBe(1);
    expect(calls).toHaveLength(2);
    calls[1].resolve(2);
    await sleep(0);
    expect(await v.get()).toBe(2);
  });

  it("waits up to a second for a value from long ago (nobody asked for a while)", async () => {
    let t = 0;
    let n = 0;
    const v = new RefreshedValue(async () => {
      await sleep(t === 0 ? 0 : 300);
      return ++n;
    }, 2000, 50, () => t);
    expect(await v.get()).toBe(1);
    t = 2500; // stale, recently asked: the 300 ms refresh is not waited for
    expect(await v.get()).toBe(1);
    await sleep(400);
    t = 60_000; // from long ago: worth waiting up to a second
    expect(await v.get()).toBe(3);
  });

  it("answers a refresh that is quick enough, and keeps the last value when one fails", async () => {
    let t = 0;
    let n = 0;
    let fail = false;
    const v = new RefreshedValue(async () => {
      if (fail) throw new Error("store down");
      return ++n;
    }, 2000, 200, () => t);
    expect(await v.get()).toBe(1);
    t = 3000;
    expect(await v.get()).toBe(2); // finished within waitMs
    t = 6000;
    fail = true;
    expect(await v.get()).toBe(2);
    fail = false;
    expect(await v.get()).toBe(3); // still stale: the next get tries again
  });

  it("reads a slow value less often (at most a tenth of the time goes to it), yet every 10 s", async () => {
    let t = 0;
    let n = 0;
    let takes = 500;
    const v = new RefreshedValue(async () => {
      t += takes;
      return ++n;
    }, 2000, 0, () => t);
    expect(await v.get()).toBe(1); // read at 0 … 500
    t = 3000;
    expect(await v.get()).toBe(1); // older than 2 s, but younger than 10 × 0.5 s: not read again
    expect(n).toBe(1);
    t = 5500;
    await v.get();
    expect(n).toBe(2);
    takes = 60_000; // a read that waited a minute (behind other work)
    t = 20_000;
    await v.get(); // read at 20 s … 80 s
    t = 91_000;
    await v.get(); // not 10 minutes later: 10 s after
    expect(n).toBe(4);
  });

  it("rejects the first get when the first read fails, and reads again on the next", async () => {
    let fail = true;
    const v = new RefreshedValue(async () => {
      if (fail) throw new Error("store down");
      return 7;
    }, 2000, 50);
    await expect(v.get()).rejects.toThrow("store down");
    fail = false;
    expect(await v.get()).toBe(7);
  });
});

describe("SharedAbort (one read serving several requests)", () => {
  it("aborts only when every waiting request has gone", () => {
    const shared = new SharedAbort();
    const a = new AbortController();
    const b = new AbortController();
    shared.join(a.signal);
    shared.join(b.signal);
    a.abort();
    expect(shared.signal.aborted).toBe(false);
    b.abort();
    expect(shared.signal.aborted).toBe(true);
  });

  it("does not abort for requests that finished waiting, nor when a caller without a signal waits", () => {
    const shared = new SharedAbort();
    const a = new AbortController();
    const b = new AbortController();
    const leaveA = shared.join(a.signal);
    shared.join(b.signal);
    leaveA();
    a.abort(); // answered already: its going away is not a reason
    expect(shared.signal.aborted).toBe(false);
    const pinned = new SharedAbort();
    pinned.join(undefined);
    const c = new AbortController();
    pinned.join(c.signal);
    c.abort();
    expect(pinned.signal.aborted).toBe(false);
  });

  it("unlessCancelled stops waiting at the abort while the work goes on", async () => {
    const c = new AbortController();
    let finished = false;
    const work = sleep(50).then(() => (finished = true));
    const waiting = unlessCancelled(work, c.signal);
    c.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueryCancelledError);
    await work;
    expect(finished).toBe(true);
    expect(await unlessCancelled(Promise.resolve(3), new AbortController().signal)).toBe(3);
  });
});

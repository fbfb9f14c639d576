import { describe, expect, it } from "vitest";
import { BatchQueue } from "@/server/ingest/batch-queue";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
/** a queue whose commit stage is `write` (prepare passes the batch through) */
const stages = (write: (b: number[]) => Promise<unknown>) => ({ prepare: async (b: number[]) => b, commit: async (b: number[]) => void (await write(b)) });

describe("BatchQueue", () => {
  it("writes full batches at once and a partial batch after flushMs", async () => {
    const written: number[][] = [];
    const q = new BatchQueue<number>({ batchSize: 3, flushMs: 30, maxItems: 100, ...stages(async (b) => written.push([...b])) });
    for (let i = 0; i < 4; i++) q.push(i);
    await tick(5);
    expect(written).toEqual([[0, 1, 2]]);
    await tick(60);
    expect(written).toEqual([[0, 1, 2], [3]]);
  });

  it("asks the reader to pause at maxItems and resumes it at half", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let resumed = 0;
    const q = new BatchQueue<number>({
      batchSize: 2,
      flushMs: 10,
      maxItems: 6,
      ...stages(() => gate),
      onResume: () => resumed++,
    });
    const accepted = [1, 2, 3, 4, 5, 6].map((i) => q.push(i));
    expect(accepted.slice(0, 5).every(Boolean)).toBe(true);
    expect(accepted[5]).toBe(false);
    expect(q.paused).toBe(true);
    release();
    await q.drain();
    expect(resumed).toBe(1);
    expect(q.paused).toBe(false);
  });

  it("retries a failed write and never drops its items", async () => {
    const written: number[] = [];
    const errors: number[] = [];
    let failures = 2;
    const q = new BatchQueue<number>({
      batchSize: 2,
      flushMs: 10,
      maxItems: 100,
      ...stages(async (b) => {
        if (failures-- > 0) throw new Error("database is away");
        written.push(...b);
      }),
      onError: (_e, attempt) => errors.push(attempt),
    });
    q.push(1);
    q.push(2);
    q.push(3);
    await q.drain();
    expect(written).toEqual([1, 2, 3]);
    expect(errors).toEqual([1, 2]);
  });

  it("drain writes a partial batch immediately", async () => {
    const written: number[] = [];
    const q = new BatchQueue<number>({ batchSize: 1000, flushMs: 60_000, maxItems: 5000, ...stages(async (b) => written.push(...b)) });
    q.push(7);
    q.push(8);
    await q.drain();
    expect(written).toEqual([7, 8]);
    expect(q.depth).toBe(0);
  });

  it("prepares the next batch while the previous one commits, and commits in order", async () => {
    const log: string[] = [];
    let release: () => void = () => {};
    const firstCommit = new Promise<void>((r) => (release = r));
    const q = new BatchQueue<number, number[]>({
      batchSize: 2,
      flushMs: 10,
      maxItems: 100,
      prepare: async (b) => (log.push(`prepare ${b}`), b),
      commit: async (b) => {
        log.push(`commit ${b} start`);
        if (b[0] === 1) await firstCommit;
        log.push(`commit ${b} end`);
      },
    });
    for (let i = 1; i <= 4; i++) q.push(i);
    await tick(20);
    expect(log).toEqual(["prepare 1,2", "commit 1,2 start", "prepare 3,4"]);
    release();
    await q.drain();
    expect(log.slice(3)).toEqual(["commit 1,2 end", "commit 3,4 start", "commit 3,4 end"]);
    expect(q.depth).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { BatchQueue } from "@/server/ingest/batch-queue";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("BatchQueue", () => {
  it("writes full batches at once and a partial batch after flushMs", async () => {
    const written: number[][] = [];
    const q = new BatchQueue<number>({ batchSize: 3, flushMs: 30, maxItems: 100, write: async (b) => void written.push([...b]) });
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
      write: async () => gate,
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
      write: async (b) => {
        if (failures-- > 0) throw new Error("database is away");
        written.push(...b);
      },
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
    const q = new BatchQueue<number>({ batchSize: 1000, flushMs: 60_000, maxItems: 5000, write: async (b) => void written.push(...b) });
    q.push(7);
    q.push(8);
    await q.drain();
    expect(written).toEqual([7, 8]);
    expect(q.depth).toBe(0);
  });
});

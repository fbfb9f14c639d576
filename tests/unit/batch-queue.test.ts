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

  describe("a failure retrying cannot fix", () => {
    type Item = { n: number } | { quarantined: number; why: string };
    const refused = new Set([13, 14, 200]);
    const permanent = (n: number) => Object.assign(new Error(`value ${n} refused`), { code: "23514" });
    const transient = () => Object.assign(new Error("connection terminated unexpectedly"), { code: "57P01" });

    function queue(opts: { flaky?: number; probe?: () => Promise<boolean> } = {}) {
      const stored: number[] = [];
      const quarantine: { n: number; why: string }[] = [];
      let flaky = opts.flaky ?? 0;
      let commits = 0;
      const q = new BatchQueue<Item, Item[]>({
        batchSize: 64,
        flushMs: 5,
        maxItems: 10_000,
        prepare: async (b) => b,
        commit: async (b) => {
          commits++;
          if (b.some((i) => "n" in i) && flaky-- > 0) throw transient();
          const bad = b.find((i) => "n" in i && refused.has(i.n));
          if (bad && "n" in bad) throw permanent(bad.n);
          for (const i of b) {
            if ("n" in i) stored.push(i.n);
            else quarantine.push({ n: i.quarantined, why: i.why });
          }
        },
        isTransient: (e) => (e as { code?: string }).code === "57P01",
        probe: opts.probe,
        poison: (i, e) => ("n" in i ? { quarantined: i.n, why: (e as Error).message } : null),
        backoff: () => 1,
      });
      return { q, stored, quarantine, commits: () => commits };
    }

    it("stores every other item, in order, and quarantines the refused ones with their error", async () => {
      const { q, stored, quarantine } = queue();
      for (let n = 0; n < 300; n++) q.push({ n });
      await q.drain();
      expect(stored).toEqual([...Array(300).keys()].filter((n) => !refused.has(n)));
      expect(quarantine).toEqual([...refused].map((n) => ({ n, why: `value ${n} refused` })));
      expect(q.depth).toBe(0);
    });

    it("retries a transient failure in place, without splitting the batch", async () => {
      const { q, stored, quarantine, commits } = queue({ flaky: 3 });
      for (let n = 20; n < 40; n++) q.push({ n });
      await q.drain();
      expect(stored).toEqual([...Array(20).keys()].map((i) => i + 20));
      expect(quarantine).toEqual([]);
      expect(commits()).toBe(4);
    });

    it("isolates a batch whose 'transient' error keeps coming back while the store answers", async () => {
      let probes = 0;
      const q = new BatchQueue<number, number[]>({
        batchSize: 8,
        flushMs: 5,
        maxItems: 1000,
        prepare: async (b) => b,
        commit: async (b) => {
          if (b.includes(5)) throw transient(); // looks like a lost connection, but only ever for this item
          written.push(...b);
        },
        isTransient: () => true,
        probe: async () => (probes++, true),
        poison: (n) => -n,
        backoff: () => 1,
      });
      const written: number[] = [];
      for (let n = 1; n <= 8; n++) q.push(n);
      await q.drain();
      expect(written.sort((a, b) => a - b)).toEqual([-5, 1, 2, 3, 4, 6, 7, 8]);
      expect(probes).toBeGreaterThan(0);
    });

    it("keeps retrying while the store does not answer (no quarantine during an outage)", async () => {
      let down = true;
      const { q, stored, quarantine } = queue({ flaky: 1_000_000, probe: async () => !down });
      for (let n = 0; n < 10; n++) q.push({ n });
      const drained = q.drain();
      await tick(50);
      expect(stored).toEqual([]);
      expect(quarantine).toEqual([]);
      down = false; // still failing, but now the store answers: the batch is isolated item by item
      await drained;
      expect(quarantine.map((x) => x.n)).toEqual([...Array(10).keys()]);
    });
  });
});


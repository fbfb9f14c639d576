/**
 * RecentRollups' copy of the newest minutes is exact while the writer keeps committing: the copy is
 * read with no write in flight (writes wait for it), includes the writer's pending rows, and every
 * later commit is added in memory.
 */
import { describe, expect, it } from "vitest";
import { RecentRollups } from "@/server/db/graph/graph-recent";
import { RollupFeed } from "@/server/db/flows/rollup-feed";
import type { Queryable } from "@/server/db/connection";
import type { Rollup } from "@/server/domain/flows/flow-rollup";

function rollup(minute: number, ctxId: number, flows: number, ts = 1000n): Rollup {
  return {
    minute,
    ctxId,
    l4: 1,
    port: 80,
    flows,
    firstTs: ts,
    lastTs: ts,
    httpRequests: 0,
    httpStatus: [0, 0, 0, 0, 0, 0],
    dnsRequests: 0,
    dnsRcodes: [0, 0, 0, 0, 0, 0, 0],
    latencyHist: new Array(26).fill(0),
  };
}

/** a flow_rollups table in memory that answers the two per-minute reads */
function fakeTable(onRead: (n: number) => void) {
  const rows = new Map<string, Rollup>();
  let reads = 0;
  const db: Queryable = {
    async query<T>(sql: string): Promise<T[]> {
      if (sql.includes("AS hs")) return [];
      onRead(++reads);
      const out = [...rows.values()].map((r) => ({
        minute: r.minute,
        ctx_id: r.ctxId,
        l4: r.l4,
        port: r.port,
        flows: String(r.flows),
        first_ts: String(r.firstTs),
        last_ts: String(r.lastTs),
        http_requests: "0",
        dns_requests: "0",
      }));
      await new Promise((r) => setTimeout(r, 5));
      return out as T[];
    },
  } as Queryable;
  const add = (r: Rollup) => {
    const k = `${r.minute}|${r.ctxId}`;
    const old = rows.get(k);
    rows.set(k, old ? { ...old, flows: old.flows + r.flows } : r);
  };
  return { db, add };
}

const flowsOf = (lists: { counts: { flows: number } }[][] | null) => lists?.map((l) => l.map((e) => e.counts.flows));

describe("RecentRollups", () => {
  it("copies table + the writer's pending rows with no write in between, then adds commits in memory", async () => {
    const feed = new RollupFeed();
    let begun: Promise<void> | undefined;
    let begunDone = false;
    const t = fakeTable((n) => {
      if (n === 1) {
        // the writer wants to start a transaction while the copy is read: it must wait
        begun = feed.begin().then(() => void (begunDone = true));
      }
    });
    t.add(rollup(10, 1, 5));
    // committed flows whose rollups are not in the table yet
    feed.pending = () => [rollup(10, 1, 2), rollup(11, 2, 7)];
    const recent = new RecentRollups(t.db, feed);
    const first = recent.range(10, 12);
    await new Promise((r) => setTimeout(r, 2));
    expect(begunDone).toBe(false);
    expect(flowsOf(await first)).toEqual([[7], [7]]);
    await begun;
    expect(begunDone).toBe(true);
    feed.publish([rollup(11, 2, 1), rollup(11, 3, 4)]);
    expect(flowsOf(await recent.range(10, 12))).toEqual([[7], [8, 4]]);
    expect(recent.loads).toBe(1);
  });

  it("waits for a write in flight before copying", async () => {
    const feed = new RollupFeed();
    const t = fakeTable(() => {});
    t.add(rollup(10, 1, 5));
    await feed.begin();
    const recent = new RecentRollups(t.db, feed);
    const copy = recent.range(10, 11);
    // the write commits: the table has its rows, and it announces them
    t.add(rollup(10, 1, 3));
    feed.publish([rollup(10, 1, 3)]);
    expect(flowsOf(await copy)).toEqual([[8]]);
  });

  it("starts over after an invalidation and lets old minutes go", async () => {
    const feed = new RollupFeed();
    const t = fakeTable(() => {});
    t.add(rollup(100, 1, 2));
    const recent = new RecentRollups(t.db, feed);
    await recent.range(100, 101);
    expect(recent.holds(100)).toBe(true);
    await feed.begin();
    feed.invalidate();
    expect(recent.holds(100)).toBe(false);
    expect(flowsOf(await recent.range(100, 101))).toEqual([[2]]);
    expect(recent.loads).toBe(2);
    await recent.range(130, 131);
    expect(recent.holds(100)).toBe(false);
    expect(recent.holds(130 - 12)).toBe(true);
  });

  it("is not consulted for a minute while a commit is in flight", async () => {
    const feed = new RollupFeed();
    const recent = new RecentRollups(fakeTable(() => {}).db, feed);
    await recent.range(5, 6);
    await feed.begin();
    expect(recent.holds(5)).toBe(false);
    feed.publish([]);
    expect(recent.holds(5)).toBe(true);
  });
});

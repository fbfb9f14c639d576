/**
 * The lease table on the machine's PostgreSQL (server/db/lease-repo.ts), and the probes' answers:
 * exactly one holder, takeover only after expiry, the batch fence, per-node progress; /api/readyz
 * says 503 with the reason while the store is away or not migrated, /api/healthz stays 200.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseLostError, LeaseRepo, ProgressRepo } from "@/server/db/lease-repo";
import { applyMigrations, pendingMigrations, readMigrations } from "@/server/db/migrate";
import { startReplica } from "../fixtures/replicas";
import { openTestStore, type TestStore } from "../fixtures/test-db";

describe("ingest leases on PostgreSQL", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore("postgres");
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it("has one holder at a time; another takes over only once the lease expired", async () => {
    const a = new LeaseRepo(store.db, "a", 2000);
    const b = new LeaseRepo(store.db, "b", 2000);
    const [ga, gb] = await Promise.all([a.acquire(["relay"]), b.acquire(["relay"])]);
    expect(ga.size + gb.size).toBe(1);
    const [first, second] = ga.size ? [a, b] : [b, a];
    expect([...(await second.acquire(["relay"]))]).toEqual([]);
    expect([...(await first.renew(["relay"]))]).toEqual(["relay"]);
    await new Promise((r) => setTimeout(r, 2300));
    // expired but not taken over: still the first's (no one else wrote)
    expect([...(await first.renew(["relay"]))]).toEqual(["relay"]);
    await new Promise((r) => setTimeout(r, 2300));
    expect([...(await second.acquire(["relay"]))]).toEqual(["relay"]);
    expect([...(await first.renew(["relay"]))]).toEqual([]); // taken over: gone for good
    expect([...(await first.acquire(["relay"]))]).toEqual([]);
    // a graceful release hands it over at once
    await second.release(["relay"]);
    expect([...(await first.acquire(["relay"]))]).toEqual(["relay"]);
  });

  it("fences a batch of a replica that lost its lease, and holds a takeover until a fenced batch commits", async () => {
    const a = new LeaseRepo(store.db, "fa", 1500);
    const b = new LeaseRepo(store.db, "fb", 1500);
    await a.acquire(["node:x"]);
    await expect(store.db.transaction((tx) => b.fence(tx, "node:x"))).rejects.toBeInstanceOf(LeaseLostError);
    // a's batch holds the row: b's takeover (once expired) waits for that commit, never interleaves
    let takeover: Promise<Set<string>> | undefined;
    let takeoverDone = 0;
    let batchDone = 0;
    await store.db.transaction(async (tx) => {
      await a.fence(tx, "node:x");
      await new Promise((r) => setTimeout(r, 1700)); // the lease expires while the batch is open
      takeover = b.acquire(["node:x"]).then((got) => ((takeoverDone = Date.now()), got));
      await new Promise((r) => setTimeout(r, 300));
      batchDone = Date.now();
    });
    expect([...(await takeover!)]).toEqual(["node:x"]);
    expect(takeoverDone).toBeGreaterThanOrEqual(batchDone);
    // and a's next batch is refused
    await expect(store.db.transaction((tx) => a.fence(tx, "node:x"))).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("keeps per-node resume points that only move forward", async () => {
    const p = new ProgressRepo(store.db);
    expect(await p.lastTs("n1")).toBeNull();
    await p.advance(store.db, "n1", 2n ** 62n);
    await p.advance(store.db, "n1", 5n);
    expect(await p.lastTs("n1")).toBe(2n ** 62n);
  });

  it("readiness lists the migrations a store lacks", async () => {
    const bare = await openTestStore("postgres", { migrate: false });
    try {
      const all = readMigrations().map((m) => m.name);
      expect(await pendingMigrations(bare.db)).toEqual(all);
      await applyMigrations(bare.db, readMigrations().slice(0, 2));
      expect(await pendingMigrations(bare.db)).toEqual(all.slice(2));
      await applyMigrations(bare.db);
      expect(await pendingMigrations(bare.db)).toEqual([]);
    } finally {
      await bare.cleanup();
    }
  });

  it("/api/readyz answers 503 with the reason while the store is away; /api/healthz 200", async () => {
    const r = await startReplica("no-store", { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/test", FLOWLENS_ROLE: "web", FLOWLENS_LAZY: "1", LOG_LEVEL: "silent" });
    try {
      expect((await fetch(`${r.url}/api/healthz`)).status).toBe(200);
      const ready = await fetch(`${r.url}/api/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { ready: boolean; reason: string };
      expect(body.ready).toBe(false);
      expect(body.reason).toMatch(/could not start|ECONNREFUSED|connect/i);
    } finally {
      await r.stop();
    }
  });
});

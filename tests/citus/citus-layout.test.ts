/**
 * The storage layout on a real Citus cluster (coordinator + 2 workers): what the migrations
 * distribute and how, that the writer's day partitions and retention work on distributed tables,
 * that flows spread over both workers while a context's rows stay on one shard, that a database
 * with rows is converted in place, and that the query timeout and cancel stop the work on the
 * workers, not only on the coordinator.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@/server/db/connection";
import { EventsRepo } from "@/server/db/events-repo";
import { NS_PER_DAY } from "@/server/domain/shared/time";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { applyMigrations } from "@/server/db/migrate";
import { QueryCancelledError, QueryTimeoutError } from "@/server/db/query-errors";
import { writeHistory } from "../fixtures/generated-history";
import { citusBaseUrl, citusSkipReason, dropSchema, freshSchemaName, openTestStore, type TestStore } from "../fixtures/test-db";
import { storedCount, waitFor } from "../fixtures/test-pipeline";

const skip = citusSkipReason();
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function layout(db: Database): Promise<Map<string, { method: string; column: string | null; colocation: number }>> {
  const rows = await db.query<{ name: string; method: string; column: string | null; colocation: number }>(
    `SELECT c.relname AS name, p.partmethod AS method, column_to_column_name(p.logicalrelid, p.partkey) AS column, p.colocationid AS colocation
     FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid WHERE c.relnamespace = to_regnamespace(current_schema())::oid`,
  );
  return new Map(rows.map((r) => [r.name, r]));
}

/** rows per shard of a table, with the worker port that holds it */
async function shardRows(db: Database, table: string): Promise<{ port: number; rows: number }[]> {
  const rows = await db.query<{ port: number; rows: string }>(
    `SELECT s.nodeport AS port, r.result AS rows FROM citus_shards s
     JOIN run_command_on_shards($1::regclass, 'SELECT count(*) FROM %s') r ON r.shardid = s.shardid
     WHERE s.table_name = $1::regclass`,
    [table],
  );
  return rows.map((r) => ({ port: r.port, rows: Number(r.rows) }));
}

describe.skipIf(skip !== null)(`the Flowlens layout on Citus${skip ? ` — skipped: ${skip}` : ""}`, () => {
  let store: TestStore;
  let writer: FlowWriter;
  const today = (nowNs() / NS_PER_DAY) * NS_PER_DAY;

  beforeAll(async () => {
    store = await openTestStore("citus");
    writer = new FlowWriter(store.db);
    // 20,000 flows of ~600 conversations over the last 3 days
    await writeHistory(writer, 20_000, today - 2n * NS_PER_DAY, nowNs() - 60_000_000_000n, { batch: 5000 });
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it("distributes flows by ctx_id, co-locates the rollups, copies the dimension tables to every node", async () => {
    const l = await layout(store.db);
    expect(l.get("flows")).toMatchObject({ method: "h", column: "ctx_id" });
    expect(l.get("flow_rollups")).toMatchObject({ method: "h", column: "ctx_id", colocation: l.get("flows")!.colocation });
    for (const t of ["endpoints", "policies", "flow_contexts", "summaries"]) expect(l.get(t), t).toMatchObject({ method: "n" });
    // read only on the coordinator: ordinary tables there
    for (const t of ["lost_events", "node_status_events", "gaps", "quarantine", "agent_events", "_prisma_migrations"]) expect(l.has(t), t).toBe(false);
    const nodes = await store.db.query<{ n: number }>("SELECT count(DISTINCT nodeport)::int AS n FROM citus_shards WHERE table_name = 'flows'::regclass");
    expect(nodes[0].n).toBe(2);
  });

  it("creates day partitions on demand as distributed tables and spreads each day's rows over both workers", async () => {
    expect(await storedCount(store.db)).toBe(20_000);
    const l = await layout(store.db);
    const parts = [...l.keys()].filter((n) => n.startsWith("flows_p")).sort();
    expect(parts.length).toBe(3);
    for (const p of parts) expect(l.get(p)).toMatchObject({ method: "h", column: "ctx_id", colocation: l.get("flows")!.colocation });
    const shards = await shardRows(store.db, parts[parts.length - 1]);
    const filled = shards.filter((s) => s.rows > 0);
    expect(new Set(filled.map((s) => s.port)).size).toBe(2);
    // no shard holds more than a quarter of the rows (hash of ~600 context ids over 32 shards)
    const total = filled.reduce((a, s) => a + s.rows, 0);
    expect(Math.max(...filled.map((s) => s.rows))).toBeLessThan(total / 4);
  });

  it("keeps a context's flows and rollups on one shard, so they join and recount on the worker", async () => {
    const spread = await store.db.query<{ ctx_id: number; shards: number }>(
      `SELECT ctx_id, count(DISTINCT get_shard_id_for_distribution_column('flows', ctx_id))::int AS shards FROM flows GROUP BY ctx_id ORDER BY count(*) DESC LIMIT 5`,
    );
    for (const s of spread) expect(s.shards).toBe(1);
    // the recount at start (INSERT … SELECT over flows ⨝ flow_contexts) runs and agrees with the writer's counts
    const before = await store.db.query<{ flows: string }>("SELECT sum(flows)::text AS flows FROM flow_rollups");
    expect(Number(before[0].flows)).toBe(20_000);
    await store.db.exec("DELETE FROM flow_rollups WHERE minute >= (SELECT max(minute) - 600 FROM flow_rollups)");
    await writer.repairRollups();
    const after = await store.db.query<{ flows: string }>("SELECT sum(flows)::text AS flows FROM flow_rollups");
    expect(Number(after[0].flows)).toBe(20_000);
  });

  it("drops whole days on every node for retention, and recreates a dropped day when written again", async () => {
    const old = today - 9n * NS_PER_DAY;
    await writeHistory(writer, 500, old, old + 3_600_000_000_000n);
    expect(await storedCount(store.db)).toBe(20_500);
    const dropped = await writer.dropBefore(today - 7n * NS_PER_DAY);
    expect(dropped).toHaveLength(1);
    expect(await storedCount(store.db)).toBe(20_000);
    const left = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM citus_shards WHERE table_name::text LIKE $1`, [`%${dropped[0]}%`]);
    expect(left[0].n).toBe(0);
    await writeHistory(writer, 10, old, old + 1_000_000_000n);
    expect(await storedCount(store.db)).toBe(20_010);
  });

  it("estimates the stored flows from the shards' statistics on the nodes (the status count past 2M rows)", async () => {
    await store.db.exec("ANALYZE flows");
    const exact = await storedCount(store.db);
    const estimate = await new EventsRepo(store.db).estimatedFlows();
    expect(estimate).toBeGreaterThan(exact * 0.8);
    expect(estimate).toBeLessThan(exact * 1.2);
  });

  it("applying the migrations again changes nothing", async () => {
    expect(await applyMigrations(store.db)).toEqual([]);
  });

  it("writers in two processes racing for the same new contexts and day store every flow once", async () => {
    const url = store.env.DATABASE_URL;
    const dbs = await Promise.all([openDatabase({ url }), openDatabase({ url })]);
    try {
      const day = today + NS_PER_DAY; // a day with no partition yet
      const before = await storedCount(store.db);
      await Promise.all(dbs.map((db) => writeHistory(new FlowWriter(db), 3000, day, day + 60_000_000_000n, { batch: 1000 })));
      expect(await storedCount(store.db)).toBe(before + 6000);
      const dup = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM (SELECT hash FROM flow_contexts GROUP BY hash HAVING count(*) > 1) d");
      expect(dup[0].n).toBe(0);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  describe("the query timeout and a cancel stop the work on the workers", () => {
    // every row sleeps on its worker: each shard's statement runs there for minutes unless stopped
    const SLOW = "SELECT count(*) FROM flows WHERE length(pg_sleep(0.2)::text) >= 0";
    const workerUrls = async () =>
      (await store.db.query<{ port: number }>("SELECT nodeport AS port FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0")).map(
        (r) => citusBaseUrl().replace(/:\d+\//, `:${r.port}/`),
      );
    async function sleepingOnWorkers(): Promise<number> {
      let n = 0;
      for (const u of await workerUrls()) {
        const c = new pg.Client({ connectionString: u });
        await c.connect();
        try {
          const r = await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
          );
          n += r.rows[0].n;
        } finally {
          await c.end();
        }
      }
      return n;
    }

    it("statement_timeout on the coordinator ends the shard queries", async () => {
      const db = await openDatabase({ url: store.env.DATABASE_URL, queryTimeoutMs: 1500 });
      try {
        const t0 = performance.now();
        const q = db.api.query(SLOW);
        q.catch(() => {});
        await waitFor(async () => (await sleepingOnWorkers()) > 0, "the shard queries to run", 1400);
        await expect(q).rejects.toBeInstanceOf(QueryTimeoutError);
        expect(performance.now() - t0).toBeLessThan(6000);
        await waitFor(async () => (await sleepingOnWorkers()) === 0, "the shard queries to end", 5000);
      } finally {
        await db.close();
      }
    });

    it("a cancelled request's query ends on the workers too", async () => {
      const db = await openDatabase({ url: store.env.DATABASE_URL, queryTimeoutMs: null });
      try {
        const abort = new AbortController();
        const q = db.api.query(SLOW, [], { signal: abort.signal });
        q.catch(() => {});
        await waitFor(async () => (await sleepingOnWorkers()) > 0, "the shard queries to run", 10_000);
        abort.abort();
        await expect(q).rejects.toBeInstanceOf(QueryCancelledError);
        // a loaded 2-core machine took more than 5 s once; uncancelled they would run for minutes
        await waitFor(async () => (await sleepingOnWorkers()) === 0, "the shard queries to end", 20_000);
      } finally {
        await db.close();
      }
    });
  });
});

describe.skipIf(skip !== null)("a PostgreSQL database that gets Citus later", () => {
  const schema = freshSchemaName();
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: `${citusBaseUrl()}?schema=${schema}` });
  });
  afterAll(async () => {
    await db?.close();
    await dropSchema(schema, citusBaseUrl());
  });

  it("is distributed in place at the next start, keeping its rows", async () => {
    // first started without the layout (FLOWLENS_CITUS=0): plain local tables with rows
    await applyMigrations(db, undefined, { citus: "off" });
    const t = (nowNs() / NS_PER_DAY) * NS_PER_DAY;
    await writeHistory(new FlowWriter(db), 3000, t - NS_PER_DAY, t);
    expect((await layout(db)).size).toBe(0);
    const applied = await applyMigrations(db, undefined, { citus: "auto", shardCount: 4 });
    expect(applied.sort()).toEqual(["citus:endpoints", "citus:flow_contexts", "citus:flow_rollups", "citus:flows", "citus:policies", "citus:summaries"]);
    expect(await storedCount(db)).toBe(3000);
    expect((await layout(db)).get("flows")).toMatchObject({ method: "h", column: "ctx_id" });
    // the coordinator's own copy of the rows was removed
    const local = await db.query<{ b: string }>(
      `SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::text AS b FROM pg_class c
       WHERE c.relnamespace = to_regnamespace(current_schema())::oid AND c.relkind = 'r' AND (c.relname LIKE 'flows_p%' OR c.relname = 'flow_contexts')`,
    );
    expect(Number(local[0].b)).toBe(0);
  });
});

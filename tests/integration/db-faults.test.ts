/**
 * The database goes away during ingest (issue: ingest never wedges), on a PostgreSQL server of the
 * test's own: restarted (`pg_ctl restart -m fast`, what `pg_ctlcluster … restart` runs), then
 * stopped for DB_FAULT_STOP_SECONDS (default 10; the 60 with DB_FAULT_STOP_SECONDS=60) and
 * started again, while a relay keeps sending. The ingest waits with its stream paused and its
 * queue bounded, says "unavailable" meanwhile, resumes by itself, and in the end every flow sent
 * is stored exactly once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import { buildFlow, responseOf, tcp } from "../fixtures/flow-builder";
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from "../fixtures/private-postgres";
import { startPipeline, waitFor, type Pipeline } from "../fixtures/test-pipeline";

const STOP_SECONDS = Number(process.env.DB_FAULT_STOP_SECONDS ?? 10);
const QUEUE_MAX = 2000;
const RATE = 400; // flows/s offered by the relay

describe.skipIf(!privatePostgresAvailable())("database faults during ingest", () => {
  let pg: PrivatePostgres | undefined;
  let db: Database | undefined;
  let relay: RelayServer | undefined;
  let p: Pipeline | undefined;
  let timer: NodeJS.Timeout | undefined;
  afterAll(async () => {
    clearInterval(timer);
    await p?.stop().catch(() => {});
    await relay?.stop();
    await db?.close().catch(() => {});
    pg?.destroy();
  });

  it(`pauses, stays bounded and resumes by itself across a restart and a ${STOP_SECONDS} s stop: 0 lost, 0 duplicated`, async () => {
    pg = await startPrivatePostgres();
    db = await openDatabase({ url: pg.url, ingestPoolMax: 4, apiPoolMax: 2 });
    await applyMigrations(db);
    relay = await startRelayServer({ ringSize: 500_000, announceNodes: false });
    const sent = new Set<string>();
    let port = 1;
    timer = setInterval(() => {
      for (let i = 0; i < RATE / 10; i++) {
        const f = buildFlow({ time: BigInt(Date.now()) * 1_000_000n, nodeName: "fault-node", l4: tcp(1024 + (port++ % 60000), 8080) });
        sent.add(f.uuid);
        relay!.publish(responseOf(f));
      }
    }, 100);
    p = startPipeline(db, relay.address, { queueMax: QUEUE_MAX, batchSize: 500 });
    const stored = async () => Number((await db!.query<{ n: string }>("SELECT count(*)::text AS n FROM flows"))[0].n);
    await waitFor(async () => (await stored()) > RATE, "flows stored before the faults");

    // 1. restart: every connection is cut
    const beforeRestart = p.ingest.stored;
    pg.restart();
    await waitFor(() => p!.ingest.stored > beforeRestart + RATE, "ingest going on after the restart", 30_000);

    // 2. stopped for a while: unavailable, queue bounded, stream paused
    pg.stop();
    await waitFor(() => p!.health.status.state === "unavailable", "the store reported unavailable", 15_000);
    expect(p.health.status.error).toBeTruthy();
    let maxDepth = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    const end = Date.now() + STOP_SECONDS * 1000;
    while (Date.now() < end) {
      maxDepth = Math.max(maxDepth, p.ingest.queueDepth);
      await new Promise((r) => setTimeout(r, 200));
    }
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect(maxDepth).toBeLessThanOrEqual(QUEUE_MAX + 500);
    expect(p.health.status.state).toBe("unavailable");
    pg.start();

    // 3. back by itself; stop sending and let it catch up
    await waitFor(() => p!.health.status.state === "ok", "the store reported ok again", 30_000);
    clearInterval(timer);
    await waitFor(async () => (await stored()) >= sent.size, `all ${sent.size} flows stored`, 120_000);
    await p.ingest.flush();
    const rows = await db.query<{ key: string }>("SELECT key::text AS key FROM flows");
    const keys = new Set(rows.map((r) => r.key));
    expect(rows.length).toBe(sent.size); // nothing twice
    expect([...sent].filter((k) => !keys.has(k))).toEqual([]); // nothing lost
    expect(p.ingest.quarantined).toBe(0);
    console.log(`db-faults: ${sent.size} flows, queue depth max ${maxDepth} (limit ${QUEUE_MAX}), heap growth during the stop ${heapGrowthMb.toFixed(1)} MB`);
  });
});

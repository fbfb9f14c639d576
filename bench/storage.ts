/**
 * npm run bench:storage — prints figures, asserts nothing: what a stored flow costs on disk, for
 * sizing (docs/deploy.md). The built-in demo cluster (its simulated traffic with the recorded
 * samples/hubble-otel flows mixed in) back-fills BENCH_MINUTES (default 20) of history through the
 * real ingest into a fresh schema of the machine's PostgreSQL; then, after VACUUM ANALYZE,
 * pg_total_relation_size (heap, TOAST and indexes) of each table group divided by the stored flows.
 * Env: BENCH_MINUTES, DATABASE_URL (default the local test database).
 */
import pg from "pg";
import { openDatabase } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { startDemoRelay } from "@/server/demo/demo-relay";
import { startPipeline, storedCount } from "@/tests/fixtures/test-pipeline";

const MINUTES = Number(process.env.BENCH_MINUTES ?? 20);
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_storage_${Date.now().toString(36)}`;
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  console.log(`bench:storage — demo cluster, ${MINUTES} min of history, PostgreSQL ${BASE.replace(/\/\/[^@]*@/, "//")} schema ${schema}`);
  const db = await openDatabase({ url });
  await applyMigrations(db);
  // Hubble's largest ring; the ingest follows the back-fill as it is published
  let backfilled = 0;
  const demo = await startDemoRelay({
    backfillMs: MINUTES * 60_000,
    ringSize: 65535,
    seed: 15,
    log: (m) => {
      console.log(m);
      backfilled = Number(/back-filled (\d+) flows/.exec(m)?.[1] ?? backfilled);
    },
  });
  const p = startPipeline(db, demo.address, { batchSize: 5000, flushMs: 250, queueMax: 50_000, initialHistory: 10_000_000 });
  await demo.ready;
  // the whole back-fill received (or nothing more arriving for 15 s: what the ring no longer had)
  let last = -1;
  let since = Date.now();
  while (p.ingest.received < backfilled) {
    if (p.ingest.received !== last) [last, since] = [p.ingest.received, Date.now()];
    else if (Date.now() - since > 15_000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // stop writes everything received
  await p.stop();
  await demo.stop();
  await db.exec("VACUUM ANALYZE");

  const flows = await storedCount(db);
  const groups: [string, string][] = [
    ["flows (day partitions: heap, TOAST, indexes)", "c.relname LIKE 'flows_p%'"],
    ["contexts, endpoints, policies, summaries", "c.relname IN ('flow_contexts', 'endpoints', 'policies', 'summaries')"],
    ["per-minute rollups (map, drops timelines)", "c.relname LIKE 'flow_rollups%'"],
    ["everything else (status, gaps, events, migrations)", "TRUE"],
  ];
  const bytes = new Map<string, number>();
  let counted = 0;
  for (const [name, cond] of groups) {
    const [row] = await db.query<{ b: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS b FROM pg_class c
       WHERE c.relnamespace = to_regnamespace(current_schema())::oid AND c.relkind IN ('r', 'm') AND ${cond}`,
    );
    const b = Number(row.b) - (cond === "TRUE" ? counted : 0);
    bytes.set(name, b);
    counted += b;
  }
  const [ctx] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM flow_contexts");
  console.log("");
  console.log(`back-filled ${fmt(backfilled)}, received ${fmt(p.ingest.received)}`);
  console.log(`stored flows: ${fmt(flows)}   distinct contexts: ${fmt(Number(ctx.n))} (${(flows / Number(ctx.n)).toFixed(0)} flows per context)`);
  for (const [name, b] of bytes) console.log(`  ${name.padEnd(52)} ${(b / flows).toFixed(0).padStart(5)} B/flow   (${fmt(b / 1024)} KiB)`);
  console.log(`  ${"total".padEnd(52)} ${(counted / flows).toFixed(0).padStart(5)} B/flow`);

  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  await admin.end();
  await db.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

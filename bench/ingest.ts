/**
 * npm run bench:ingest — prints figures, asserts nothing.
 *   1. sustained flows/s from a gRPC relay (own process) through the real ingest path into
 *      PostgreSQL, next to a plain binary COPY of the same rows into the same database, and the ratio;
 *   2. bytes per stored flow including indexes (and with the context/endpoint tables);
 *   3. peak RSS, then the same while the database is paused (flows table locked) for 30 s.
 * Env: BENCH_FLOWS (default 300000), BENCH_PAUSE_S (30), DATABASE_URL (default the local test db).
 */
import { spawn } from "node:child_process";
import readline from "node:readline";
import pg from "pg";
import { openDatabase } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { startPipeline, storedCount } from "@/tests/fixtures/test-pipeline";

const N = Number(process.env.BENCH_FLOWS ?? 300_000);
const PAUSE_S = Number(process.env.BENCH_PAUSE_S ?? 30);
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_${Date.now().toString(36)}`;
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  console.log(`bench:ingest — ${fmt(N)} flows, PostgreSQL ${BASE.replace(/\/\/[^@]*@/, "//")} schema ${schema}`);
  const child = spawn(process.execPath, ["--import", "tsx", "bench/bench-relay.ts", String(N)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: child.stdout! });
  const nextLine = () => new Promise<Record<string, unknown>>((r) => lines.once("line", (l) => r(JSON.parse(l))));
  const { address } = (await nextLine()) as { address: string };
  console.log(`relay ready at ${address} (separate process)`);

  const db = await openDatabase({ url });
  await applyMigrations(db);
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();

  // 1. ingest
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  const t0 = performance.now();
  const p = startPipeline(db, address, { batchSize: 5000, flushMs: 250, queueMax: 20_000, initialHistory: N });
  while ((await storedCount(db)) < N) await new Promise((r) => setTimeout(r, 100));
  const ingestS = (performance.now() - t0) / 1000;
  const ingestRate = N / ingestS;
  const ingestPeak = peakRss;

  // 2. size
  const size = async (rel: string) =>
    Number(
      (
        await db.query<{ b: string }>(
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS b FROM pg_class c
           WHERE c.relnamespace = to_regnamespace(current_schema())::oid AND c.relkind = 'r' AND c.relname ${rel}`,
        )
      )[0].b,
    );
  await db.exec("VACUUM ANALYZE flows");
  const flowBytes = await size("LIKE 'flows_p%'");
  const dimBytes = await size("IN ('flow_contexts', 'endpoints', 'policies', 'summaries')");

  // 3. plain COPY of the same rows into an identical table (same partitions and indexes)
  await db.exec(`CREATE TABLE flows_copy (LIKE flows INCLUDING ALL) PARTITION BY RANGE (ts)`);
  const parts = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid`,
  );
  for (const part of parts) await db.exec(`CREATE TABLE "${part.name}_copy" PARTITION OF flows_copy ${part.bound}`);
  const { to: copyTo, from: copyFrom } = await import("pg-copy-streams");
  const c = new pg.Client({ connectionString: BASE, options: `-c search_path=${schema}` });
  await c.connect();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = c.query(copyTo("COPY (SELECT * FROM flows) TO STDOUT (FORMAT binary)"));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve());
    s.on("error", reject);
  });
  const data = Buffer.concat(chunks);
  const t1 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const s = c.query(copyFrom("COPY flows_copy FROM STDIN (FORMAT binary)"));
    s.on("finish", () => resolve());
    s.on("error", reject);
    s.end(data);
  });
  const copyS = (performance.now() - t1) / 1000;
  const copyRate = N / copyS;
  await c.end();

  console.log("");
  console.log(`ingest (relay → split → batch → binary COPY): ${fmt(ingestRate)} flows/s  (${ingestS.toFixed(1)} s for ${fmt(N)})`);
  console.log(`plain binary COPY of the same rows:           ${fmt(copyRate)} flows/s  (${copyS.toFixed(1)} s)`);
  console.log(`ratio ingest / plain COPY:                    ${(ingestRate / copyRate).toFixed(2)}×   (target ≥ 0.5×, ≥ 25,000 flows/s)`);
  console.log(`bytes per stored flow (flows partitions + indexes): ${(flowBytes / N).toFixed(0)} B   (target ≤ 200 B)`);
  console.log(`  incl. contexts, endpoints, policies, summaries:   ${((flowBytes + dimBytes) / N).toFixed(0)} B`);
  console.log(`peak RSS during ingest: ${mb(ingestPeak)} (start ${mb(rssBefore)})`);

  // 4. the database pauses for PAUSE_S seconds while the relay keeps sending
  const more = Math.max(100_000, Math.floor(N / 2));
  await admin.query("BEGIN");
  await admin.query(`LOCK TABLE "${schema}".flows IN ACCESS EXCLUSIVE MODE`);
  peakRss = process.memoryUsage().rss;
  const rssPauseStart = peakRss;
  child.stdin!.write(`more ${more}\n`);
  await nextLine();
  let maxQueue = 0;
  const qs = setInterval(() => (maxQueue = Math.max(maxQueue, p.ingest.queueDepth)), 50);
  await new Promise((r) => setTimeout(r, PAUSE_S * 1000));
  const pausePeak = peakRss;
  const receivedDuringPause = p.ingest.received - N;
  await admin.query("COMMIT");
  const t2 = performance.now();
  while ((await storedCount(db)) < N + more) await new Promise((r) => setTimeout(r, 100));
  clearInterval(qs);
  console.log("");
  console.log(`database paused ${PAUSE_S} s while the relay offered ${fmt(more)} more flows:`);
  console.log(`  received during the pause: ${fmt(receivedDuringPause)} (the gRPC reader was paused at the queue limit)`);
  console.log(`  max queue depth: ${fmt(maxQueue)} flows (limit 20,000)`);
  console.log(`  peak RSS during the pause: ${mb(pausePeak)} (at pause start ${mb(rssPauseStart)})`);
  console.log(`  caught up ${fmt(more)} flows ${((performance.now() - t2) / 1000).toFixed(1)} s after the database came back; stored ${fmt(await storedCount(db))}, lost 0`);

  await p.stop();
  child.stdin!.end();
  await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  await admin.end();
  await db.close();
  clearInterval(sampler);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

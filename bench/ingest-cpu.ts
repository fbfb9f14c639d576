/**
 * npm run bench:ingest-cpu — CPU µs per flow of each stage of the ingest's own work, on the
 * benchmark flows (bench-flows.ts): split (splitResponse), dedup (RecentKeys), prepare (contexts
 * and summaries looked up, COPY binary encoding, rollups) and, unless BENCH_DB=0, the COPY into a
 * fresh schema of the local test database (the pg client's CPU only; the server's is not counted).
 * Process CPU (process.cpuUsage), not wall time: the machine's cores are shared, CPU time carries.
 * The first pass warms the caches (new contexts, partitions) and the JIT; ROUNDS passes follow and
 * the median per stage is printed.
 * Env: BENCH_FLOWS (20000), BENCH_ROUNDS (5), BENCH_DB (1), DATABASE_URL (the local test database).
 */
import { toBinary } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { openDatabase, type Database } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { FLOW_COLUMNS, FlowWriter } from "@/server/db/flows/flow-writer";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { RecentKeys } from "@/server/ingest/recent-keys";
import { benchFlows } from "./bench-flows";
import { dropSchema } from "@/tests/fixtures/test-db";

const N = Number(process.env.BENCH_FLOWS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const USE_DB = process.env.BENCH_DB !== "0";
const PG_BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const BATCH = 5000;

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const startNs = BigInt(Date.now()) * 1_000_000n - BigInt(N) * 20_000n;
  const responses = [...benchFlows(N, startNs)].map((r) => Buffer.from(toBinary(GetFlowsResponseSchema, r)));
  const schema = `bench_cpu_${Date.now().toString(36)}`;
  let db: Database | null = null;
  if (USE_DB) {
    db = await openDatabase({ url: `${PG_BASE}${PG_BASE.includes("?") ? "&" : "?"}schema=${schema}` });
    await applyMigrations(db);
  }
  const writer = db ? new FlowWriter(db) : null;
  const times: Record<string, number[]> = { split: [], dedup: [], prepare: [], copy: [] };

  for (let round = 0; round <= ROUNDS; round++) {
    const receivedNs = BigInt(Date.now()) * 1_000_000n;
    let t = cpuUs();
    const rows: FlowRow[] = new Array(N);
    for (let i = 0; i < N; i++) {
      const s = splitResponse(responses[i], receivedNs);
      if (s.kind !== "flow") throw new Error(`not a flow: ${s.kind}`);
      rows[i] = s.row;
    }
    const split = cpuUs() - t;

    t = cpuUs();
    const seen = new RecentKeys(10_000_000_000n);
    for (const r of rows) seen.add(r.key.toString("hex"), r.ts);
    const dedup = cpuUs() - t;

    let prepare = 0;
    let copy = 0;
    if (writer && db) {
      for (let i = 0; i < N; i += BATCH) {
        t = cpuUs();
        const p = await writer.prepare(rows.slice(i, i + BATCH));
        prepare += cpuUs() - t;
        t = cpuUs();
        // the flows of a round are the same flows again: copied into an emptied table
        await db.transaction((tx) => tx.copyIn("flows", FLOW_COLUMNS, p.data!));
        copy += cpuUs() - t;
      }
      await db.exec("TRUNCATE flows");
    }
    if (round === 0) continue; // warm-up
    times.split.push(split / N);
    times.dedup.push(dedup / N);
    times.prepare.push(prepare / N);
    times.copy.push(copy / N);
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const total = m.split + m.dedup + m.prepare + m.copy;
  console.log(`bench:ingest-cpu — ${N} flows × ${ROUNDS} rounds (median), CPU µs per flow`);
  for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(8)} ${v.toFixed(2)}   (all rounds: ${times[k].map((x) => x.toFixed(2)).join(" ")})`);
  console.log(`  total    ${total.toFixed(2)}`);
  if (db) {
    await db.close();
    await dropSchema(schema, PG_BASE);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

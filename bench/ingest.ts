/**
 * npm run bench:ingest — prints figures, asserts nothing. A per-node deployment on loopback: AGENTS
 * agents (bench-relay.ts processes, each its own node's flows, light senders) split over 1, 2 and 4
 * ingest processes (bench/ingest-proc.ts: the real ingest path, one stream per agent held).
 *   1. flows/s of a receive-only grpc-js client of the same streams (no decode, no store), and of
 *      the ingest into single PostgreSQL, for 1, 2 and 4 processes; `ingest/receive-only ratio`;
 *   2. the same ingest into a Citus cluster (coordinator + 2 workers on loopback), when one is
 *      available: BENCH_CITUS_URL, or started with cluster.sh (../shared/citus, CITUS_CLUSTER_SCRIPT);
 *   3. bytes per stored flow, CPU ms per 1,000 flows of each kind of process;
 *   4. peak RSS, then the same while the database is paused (flows locked) for BENCH_PAUSE_S s.
 * Env: BENCH_FLOWS (flows per run, default 200000), BENCH_AGENTS (4), BENCH_PROCS ("1,2,4"),
 * BENCH_PAUSE_S (15; 0 skips), DATABASE_URL (default the local test database), BENCH_CITUS=0 skips Citus.
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import readline from "node:readline";
import pg from "pg";
import { openDatabase, type Database } from "@/server/db/connection";
import { applyMigrations } from "@/server/db/migrate";
import { citusUnavailable, startCluster, type Cluster } from "@/tests/fixtures/citus-cluster";

const N = Number(process.env.BENCH_FLOWS ?? 200_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 4);
const PROCS = (process.env.BENCH_PROCS ?? "1,2,4").split(",").map(Number);
const PAUSE_S = Number(process.env.BENCH_PAUSE_S ?? 15);
const PG_BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const PER_AGENT = Math.ceil(N / AGENTS);
const TOTAL = PER_AGENT * AGENTS;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;

interface Line {
  [k: string]: unknown;
}

/** a child speaking JSON lines */
class Child {
  private readonly lines: readline.Interface;
  private readonly waiting: { test: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  constructor(readonly proc: ChildProcess) {
    this.lines = readline.createInterface({ input: proc.stdout! });
    this.lines.on("line", (text) => {
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        return;
      }
      const i = this.waiting.findIndex((w) => w.test(l));
      if (i >= 0) this.waiting.splice(i, 1)[0].resolve(l);
    });
  }
  static spawn(args: string[], env: Record<string, string> = {}): Child {
    return new Child(spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } }));
  }
  next(key: string): Promise<Line> {
    return new Promise((resolve) => this.waiting.push({ test: (l) => key in l, resolve }));
  }
  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }
  async end(): Promise<void> {
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin!.end();
    await exited;
  }
}

interface Run {
  rate: number;
  seconds: number;
  /** CPU ms per 1,000 flows, summed over the processes */
  cpuPerK: number;
  peakRss: number;
  procs: Child[];
}

/** Runs `procs` processes of `mode`, agents dealt round-robin, until every flow is in; returns the rate. */
async function run(mode: "ingest" | "receive", agents: string[], procs: number, url?: string, keep = false): Promise<Run> {
  const shares = Array.from({ length: procs }, (_, i) => agents.filter((_, j) => j % procs === i));
  const children = shares.map((share) => Child.spawn(["bench/ingest-proc.ts", mode, String(PER_AGENT), ...share], url ? { DATABASE_URL: url } : {}));
  await Promise.all(children.map((c) => c.next("ready")));
  const t0 = performance.now();
  const dones = children.map((c) => c.next("done"));
  for (const c of children) c.send("go");
  const results = await Promise.all(dones);
  const seconds = (performance.now() - t0) / 1000;
  if (!keep) await Promise.all(children.map((c) => c.end()));
  return {
    rate: TOTAL / seconds,
    seconds,
    cpuPerK: results.reduce((a, r) => a + (r.cpuMs as number), 0) / (TOTAL / 1000),
    peakRss: Math.max(...results.map((r) => r.peakRss as number)),
    procs: children,
  };
}

async function freshStore(base: string, tag: string): Promise<{ url: string; db: Database; schema: string }> {
  const schema = `bench_${tag}_${Date.now().toString(36)}`;
  const url = `${base}${base.includes("?") ? "&" : "?"}schema=${schema}`;
  const db = await openDatabase({ url });
  await applyMigrations(db);
  return { url, db, schema };
}

async function dropStore(base: string, s: { db: Database; schema: string }): Promise<void> {
  await s.db.close();
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`DROP SCHEMA "${s.schema}" CASCADE`);
  await c.end();
}

async function storedCount(db: Database): Promise<number> {
  return Number((await db.query<{ n: string }>("SELECT count(*)::text AS n FROM flows"))[0].n);
}

async function main() {
  console.log(`bench:ingest — ${fmt(TOTAL)} flows a run from ${AGENTS} agents (${fmt(PER_AGENT)} each), ingest processes ${PROCS.join(", ")}`);
  const relays = Array.from({ length: AGENTS }, (_, i) => Child.spawn(["bench/bench-relay.ts", String(PER_AGENT)], { BENCH_RELAY_NODE: `bench-node-${i}` }));
  const agents = (await Promise.all(relays.map((r) => r.next("address")))).map((l) => l.address as string);
  console.log(`agents ready (separate processes): ${agents.join(" ")}`);

  let cluster: Cluster | null = null;
  let citusBase = process.env.BENCH_CITUS_URL ?? null;
  if (!citusBase && process.env.BENCH_CITUS !== "0") {
    const why = citusUnavailable();
    if (why) console.log(`Citus: skipped (${why})`);
    else {
      cluster = await startCluster();
      citusBase = cluster.url;
    }
  }

  const table: { label: string; cells: Map<number, Run> }[] = [];
  const row = (label: string) => {
    const r = { label, cells: new Map<number, Run>() };
    table.push(r);
    return r;
  };
  const receive = row("receive-only (grpc-js, no decode/store)");
  const single = row("ingest → PostgreSQL");
  const citus = citusBase ? row("ingest → Citus (coordinator + 2 workers)") : null;
  let bytesPerFlow = 0;
  let dimBytesPerFlow = 0;
  let pauseReport: string[] = [];

  for (const procs of PROCS) {
    receive.cells.set(procs, await run("receive", agents, procs));
    console.log(`  receive-only ×${procs}: ${fmt(receive.cells.get(procs)!.rate)} flows/s`);
    const s = await freshStore(PG_BASE, "pg");
    const keep = procs === 1 && PAUSE_S > 0;
    const r = await run("ingest", agents, procs, s.url, keep);
    single.cells.set(procs, r);
    console.log(`  PostgreSQL ×${procs}: ${fmt(r.rate)} flows/s`);
    const stored = await storedCount(s.db);
    if (stored !== TOTAL) console.log(`  (PostgreSQL ×${procs}: stored ${fmt(stored)} of ${fmt(TOTAL)})`);
    if (procs === 1) {
      ({ bytesPerFlow, dimBytesPerFlow } = await sizes(s.db));
    }
    if (keep) pauseReport = await pausedDatabase(s, r.procs[0], relays);
    await dropStore(PG_BASE, s);
    if (citus && citusBase) {
      const c = await freshStore(citusBase, "citus");
      citus.cells.set(procs, await run("ingest", agents, procs, c.url));
      console.log(`  Citus ×${procs}: ${fmt(citus.cells.get(procs)!.rate)} flows/s`);
      const cStored = await storedCount(c.db);
      if (cStored !== TOTAL) console.log(`  (Citus ×${procs}: stored ${fmt(cStored)} of ${fmt(TOTAL)})`);
      await dropStore(citusBase, c);
    }
  }

  console.log("");
  console.log(`flows/s by ingest processes (${AGENTS} agents dealt among them; wall time until every flow is stored)`);
  const head = ["", ...PROCS.map((p) => `${p} proc${p > 1 ? "s" : ""}`)];
  const lines = [head, ...table.map((t) => [t.label, ...PROCS.map((p) => (t.cells.has(p) ? fmt(t.cells.get(p)!.rate) : "–"))])];
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log("  " + l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
  console.log("");
  const ratio = single.cells.get(1) && receive.cells.get(1) ? single.cells.get(1)!.rate / receive.cells.get(1)!.rate : NaN;
  console.log(`ingest/receive-only ratio: ${ratio.toFixed(2)}   (one process, PostgreSQL; target ≥ 0.6)`);
  for (const p of PROCS.slice(1)) {
    const base = single.cells.get(1)?.rate;
    if (base && single.cells.get(p)) console.log(`  PostgreSQL ×${p} / ×1: ${(single.cells.get(p)!.rate / base).toFixed(2)}`);
    if (citus?.cells.get(1) && citus.cells.get(p)) console.log(`  Citus ×${p} / ×1: ${(citus.cells.get(p)!.rate / citus.cells.get(1)!.rate).toFixed(2)}`);
  }
  if (citus) for (const p of PROCS) if (citus.cells.get(p) && single.cells.get(p)) console.log(`  Citus / PostgreSQL at ×${p}: ${(citus.cells.get(p)!.rate / single.cells.get(p)!.rate).toFixed(2)}`);
  console.log("CPU ms per 1,000 flows (all processes of the run): " +
    table.map((t) => `${t.label.split(" (")[0]} ${t.cells.get(1)?.cpuPerK.toFixed(0) ?? "–"}`).join(", ") + " (at ×1; the database's own CPU not included)");
  console.log(`bytes per stored flow (PostgreSQL, flows partitions + indexes): ${bytesPerFlow.toFixed(0)} B; with contexts, endpoints, policies, summaries: ${dimBytesPerFlow.toFixed(0)} B`);
  console.log(`peak RSS of an ingest process: ${PROCS.map((p) => `×${p} ${single.cells.get(p) ? mb(single.cells.get(p)!.peakRss) : "–"}`).join(", ")}`);
  console.log(`(${os.cpus().length} cores; agents, ingest processes and the database share them)`);
  for (const l of pauseReport) console.log(l);
  for (const r of relays) await r.end();
  await cluster?.stop();
}

async function sizes(db: Database): Promise<{ bytesPerFlow: number; dimBytesPerFlow: number }> {
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
  return { bytesPerFlow: flowBytes / TOTAL, dimBytesPerFlow: (flowBytes + dimBytes) / TOTAL };
}

/** the database pauses for PAUSE_S seconds while the agents keep sending (one ingest process) */
async function pausedDatabase(s: { db: Database; schema: string }, proc: Child, relays: Child[]): Promise<string[]> {
  // past the queue limit (20,000 a stream), so the readers must pause
  const more = 30_000;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  await admin.query("BEGIN");
  await admin.query(`LOCK TABLE "${s.schema}".flows IN ACCESS EXCLUSIVE MODE`);
  proc.send("stats");
  const before = await proc.next("stats");
  for (const r of relays) r.send(`more ${more}`);
  await Promise.all(relays.map((r) => r.next("published")));
  await new Promise((r) => setTimeout(r, PAUSE_S * 1000));
  proc.send("stats");
  const during = await proc.next("stats");
  await admin.query("COMMIT");
  await admin.end();
  const t = performance.now();
  proc.send(`wait ${TOTAL + more * relays.length}`);
  const waited = proc.next("waited");
  const stalled = await Promise.race([waited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 180_000))]);
  const caughtUp = (performance.now() - t) / 1000;
  if (stalled) {
    proc.send("stats");
    const st = await proc.next("stats");
    proc.proc.kill();
    return ["", `database paused ${PAUSE_S} s: NOT caught up 180 s after it came back; per stream: ${JSON.stringify(st.streams)}`];
  }
  await proc.end();
  return [
    "",
    `database paused ${PAUSE_S} s while the ${relays.length} agents offered ${fmt(more * relays.length)} more flows (one ingest process):`,
    `  received during the pause: ${fmt((during.received as number) - (before.received as number))} (the gRPC readers pause at the queue limit)`,
    `  max queue depth: ${fmt(during.maxQueue as number)} flows (limit 20,000 per stream)`,
    `  peak RSS: ${mb(during.peakRss as number)} (before the pause ${mb(before.peakRss as number)})`,
    `  caught up ${caughtUp.toFixed(1)} s after the database came back; stored ${fmt(await storedCount(s.db))} of ${fmt(TOTAL + more * relays.length)}`,
  ];
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

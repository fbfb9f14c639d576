/**
 * npm run bench:heavy — prints figures, asserts nothing.
 * A heavy request must not starve the system: with a large stored history, the built app (`npm
 * start`, real HTTP) ingests at a steady rate from a relay in its own process; the ingest rate is
 * measured alone, then while an unfiltered 30-day CSV export of the whole history is streamed over
 * HTTP and read at full speed, with /api/status polled every 100 ms throughout. Printed: ingest
 * rate alone vs during the export (target ≥ 0.8×), /api/status p50/p95 (target < 200 ms), export
 * rows/s, the server's RSS and event-loop lag, and whether the export's query was cancelled in
 * PostgreSQL when the reader disconnected.
 *
 * The history is written straight through the FlowWriter (tests/fixtures/generated-history.ts:
 * real contexts, partitions, binary COPY and rollups, without a Relay), spread over 30 days.
 * Env: BENCH_HEAVY_FLOWS (stored history, default 2,000,000), BENCH_HEAVY_RATE (ingest flows/s,
 * default 5,000), BENCH_HEAVY_PHASE_S (ingest alone, default 30), BENCH_HEAVY_EXPORT_S (how long
 * the export is read before disconnecting; 0 = to its end; default 90), DATABASE_URL,
 * BENCH_HEAVY_SCHEMA (reuse the history a run with BENCH_HEAVY_KEEP=1 left in that schema).
 *
 * The app and the relay run in sessions of their own, as they would on their own machines (Linux
 * shares the CPU between sessions first: in this one they would share a slice with this process).
 * The output says how busy the machine was (load, CPU pressure): on a shared machine the figures
 * are bounded by the CPU the app got.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import pg from "pg";
import { openDatabase } from "@/server/db/connection";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { applyMigrations } from "@/server/db/migrate";
import { writeHistory } from "@/tests/fixtures/generated-history";

const FLOWS = Number(process.env.BENCH_HEAVY_FLOWS ?? 2_000_000);
const RATE = Number(process.env.BENCH_HEAVY_RATE ?? 5000);
const PHASE_S = Number(process.env.BENCH_HEAVY_PHASE_S ?? 30);
const EXPORT_S = Number(process.env.BENCH_HEAVY_EXPORT_S ?? 90);
const WARMUP_S = 15;
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const ROOT = path.resolve(import.meta.dirname, "..");
const schema = process.env.BENCH_HEAVY_SCHEMA ?? `bench_heavy_${Date.now().toString(36)}`;
const KEEP = process.env.BENCH_HEAVY_KEEP === "1";
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;
const DAY_NS = 86_400_000_000_000n;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

interface Metrics {
  ingested: number;
  rss: number;
  heap: number;
  external: number;
  lagP99: number;
  cpuS: number;
}

async function metrics(base: string): Promise<Metrics> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  return {
    ingested: v("flowlens_flows_ingested_total"),
    rss: v("flowlens_process_process_resident_memory_bytes"),
    heap: v("flowlens_process_nodejs_heap_size_used_bytes"),
    external: v("flowlens_process_nodejs_external_memory_bytes"),
    lagP99: v("flowlens_process_nodejs_eventloop_lag_p99_seconds"),
    cpuS: v("flowlens_process_process_cpu_seconds_total"),
  };
}

/** /api/status every 100 ms (one at a time, as a page polls), plus /metrics every second */
function observe(base: string) {
  const statusMs: number[] = [];
  const samples: (Metrics & { at: number })[] = [];
  let running = true;
  let failures = 0;
  const status = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/api/status`);
        await res.arrayBuffer();
        if (!res.ok) failures++;
      } catch {
        failures++;
      }
      const ms = performance.now() - t0;
      statusMs.push(ms);
      await sleep(Math.max(0, 100 - ms));
    }
  })();
  const metricLoop = (async () => {
    while (running) {
      try {
        samples.push({ ...(await metrics(base)), at: performance.now() });
      } catch {
        // counted by the status poller's failures
      }
      await sleep(1000);
    }
  })();
  return {
    statusMs,
    samples,
    get failures() {
      return failures;
    },
    async stop() {
      running = false;
      await Promise.all([status, metricLoop]);
      samples.push({ ...(await metrics(base)), at: performance.now() });
    },
  };
}

function ingestRate(samples: { ingested: number; at: number }[]): number {
  const a = samples[0];
  const b = samples[samples.length - 1];
  return ((b.ingested - a.ingested) / (b.at - a.at)) * 1000;
}

/** the server's CPU use over the samples, in cores */
function cpuCores(samples: { cpuS: number; at: number }[]): number {
  const a = samples[0];
  const b = samples[samples.length - 1];
  return ((b.cpuS - a.cpuS) / (b.at - a.at)) * 1000;
}

const load = () => os.loadavg()[0].toFixed(1);

/** share of the last 10 s in which some task waited for a CPU (Linux PSI), in % */
function cpuPressure(): string {
  try {
    return `${/some avg10=([0-9.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? "?"} %`;
  } catch {
    return "n/a";
  }
}

/** newlines in a chunk (native search: this process must not be what slows the export down) */
function lines(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let n = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

async function main(): Promise<void> {
  console.log(`bench:heavy — ${fmt(FLOWS)} stored flows over 30 days, ingest at ${fmt(RATE)} flows/s, PostgreSQL ${BASE.replace(/\/\/[^@]*@/, "//")} schema ${schema}`);
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  let server: ChildProcess | undefined;
  let relay: ChildProcess | undefined;
  try {
    // 1. the history
    const db = await openDatabase({ url });
    await applyMigrations(db);
    const writer = new FlowWriter(db);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const t0 = performance.now();
    let shown = 0;
    const [{ any }] = await db.query<{ any: boolean }>("SELECT EXISTS (SELECT 1 FROM flows) AS any");
    if (any) console.log(`reusing the history in ${schema} (flows older than 30 days are not part of the export)`);
    else await writeHistory(writer, FLOWS, nowNs - 30n * DAY_NS, nowNs - 180_000_000_000n, {
      onProgress: (n) => {
        if (n - shown >= FLOWS / 10) {
          shown = n;
          console.log(`  history: ${fmt(n)} flows (${fmt(n / ((performance.now() - t0) / 1000))} flows/s)`);
        }
      },
    });
    const writeS = (performance.now() - t0) / 1000;
    if (!any) await db.exec("VACUUM ANALYZE flows");
    const [{ b }] = await db.query<{ b: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS b FROM pg_class c
       WHERE c.relnamespace = to_regnamespace(current_schema())::oid AND c.relkind = 'r' AND c.relname LIKE 'flows_p%'`,
    );
    const [{ n }] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM flows");
    const history = Number(n);
    await db.close();
    if (!any) console.log(`history stored: ${fmt(FLOWS)} flows in ${writeS.toFixed(0)} s (${fmt(FLOWS / writeS)} flows/s)`);
    console.log(`history: ${fmt(history)} flows, ${mb(Number(b))} with indexes`);

    // 2. the relay (own process) and the app (`npm start`: builds when the sources changed)
    relay = spawn(process.execPath, ["--import", "tsx", "bench/bench-relay.ts", "0"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"], detached: true });
    const relayOut = readline.createInterface({ input: relay.stdout! });
    const relayLine = () => new Promise<Record<string, unknown>>((r) => relayOut.once("line", (l) => r(JSON.parse(l))));
    const { address } = (await relayLine()) as { address: string };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { NODE_ENV: _nodeEnv, ...inherited } = process.env;
    const env: Record<string, string | undefined> = { ...inherited, DATABASE_URL: url, HUBBLE_SERVER: address, PORT: String(port), FLOWLENS_RETENTION: "off", LOG_LEVEL: "warn", FLOWLENS_GRPC_ADDR: "127.0.0.1:0" };
    const app = spawn(process.execPath, [path.join(ROOT, "scripts/start.mjs")], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "inherit", "inherit"], detached: true });
    server = app;
    const deadline = Date.now() + 900_000;
    for (;;) {
      if (app.exitCode !== null) throw new Error(`npm start exited with ${app.exitCode}`);
      if (Date.now() > deadline) throw new Error("npm start did not answer");
      try {
        if ((await fetch(`${base}/api/status`)).ok) break;
      } catch {
        // not up yet
      }
      await sleep(500);
    }
    console.log(`app up at ${base} (relay ${address}, separate processes)`);

    // 3. ingest alone, once it has caught up with what the relay sent (a start leaves a backlog)
    const sent = async () => {
      relay!.stdin!.write("stats\n");
      return (await relayLine()).sent as number;
    };
    const behind = async () => (await sent()) - (await metrics(base)).ingested;
    relay.stdin!.write(`rate ${RATE}\n`);
    await relayLine();
    await sleep(WARMUP_S * 1000);
    for (const until = Date.now() + 120_000; Date.now() < until && (await behind()) > RATE; ) await sleep(1000);
    const loadBefore = `${load()}, CPU pressure ${cpuPressure()}`;
    const behindBefore = await behind();
    const alone = observe(base);
    await sleep(PHASE_S * 1000);
    await alone.stop();
    const rateAlone = ingestRate(alone.samples);
    const behindAlone = await behind();

    // 4. the same while an unfiltered 30-day CSV export of everything is read at full speed
    const during = observe(base);
    const abort = new AbortController();
    const e0 = performance.now();
    let firstByteMs = NaN;
    let bytes = 0;
    let rows = -1; // the header line
    let complete = false;
    const res = await fetch(`${base}/api/flows?since=30d&format=csv`, { signal: abort.signal });
    firstByteMs = performance.now() - e0;
    if (!res.ok) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    const cap = EXPORT_S > 0 ? setTimeout(() => abort.abort(), EXPORT_S * 1000) : undefined;
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          complete = true;
          break;
        }
        bytes += value.length;
        rows += lines(value);
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    }
    clearTimeout(cap);
    const exportS = (performance.now() - e0) / 1000;
    await during.stop();
    const rateDuring = ingestRate(during.samples.filter((s) => s.at <= e0 + exportS * 1000 + 1000));
    const behindDuring = await behind();

    // 5. after the disconnect, the export's query must be gone from the server
    let cancelledMs = NaN;
    if (!complete) {
      const gone = performance.now();
      for (;;) {
        const { rows: active } = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'flowlens-api' AND state = 'active' AND query LIKE '%FROM flows f%ORDER BY f.ts DESC%' AND backend_start > now() - interval '1 day'",
        );
        if (active.length === 0) {
          cancelledMs = performance.now() - gone;
          break;
        }
        if (performance.now() - gone > 5000) break;
        await sleep(20);
      }
    }
    relay.stdin!.write("rate 0\n");

    const rss = (s: Metrics[]) => Math.max(...s.map((x) => x.rss).filter(Number.isFinite));
    const lag = (s: Metrics[]) => Math.max(...s.map((x) => x.lagP99).filter(Number.isFinite));
    console.log("");
    console.log(`machine: ${os.cpus().length} cores, load average ${loadBefore} before the measurements, ${load()}, CPU pressure ${cpuPressure()} after (other processes share them)`);
    console.log(`ingest alone (${PHASE_S} s):                ${fmt(rateAlone)} flows/s (offered ${fmt(RATE)}; behind the relay by ${fmt(behindBefore)} flows before, ${fmt(behindAlone)} after)`);
    console.log(`ingest during the export (${exportS.toFixed(0)} s):       ${fmt(rateDuring)} flows/s (behind by ${fmt(behindDuring)} flows after)`);
    console.log(`ratio during / alone:                    ${(rateDuring / rateAlone).toFixed(2)}×   (target ≥ 0.8×)`);
    console.log(`/api/status alone:        p50 ${pct(alone.statusMs, 50).toFixed(0)} ms, p95 ${pct(alone.statusMs, 95).toFixed(0)} ms (${alone.statusMs.length} polls, ${alone.failures} failed)`);
    console.log(`/api/status during export: p50 ${pct(during.statusMs, 50).toFixed(0)} ms, p95 ${pct(during.statusMs, 95).toFixed(0)} ms, max ${Math.max(...during.statusMs).toFixed(0)} ms (${during.statusMs.length} polls, ${during.failures} failed)   (target p95 < 200 ms)`);
    console.log(`export: ${fmt(rows)} rows, ${mb(bytes)} of CSV in ${exportS.toFixed(0)} s = ${fmt(rows / exportS)} rows/s, first byte after ${firstByteMs.toFixed(0)} ms, ${complete ? "read to its end" : `disconnected after ${EXPORT_S} s (of ${fmt(history)} rows)`}`);
    console.log(`server CPU: ${cpuCores(alone.samples).toFixed(2)} cores ingest alone, ${cpuCores(during.samples).toFixed(2)} during the export`);
    console.log(`server RSS: max ${mb(rss(alone.samples))} ingest alone, max ${mb(rss(during.samples))} during the export; event-loop lag p99 max ${(lag(alone.samples) * 1000).toFixed(0)} ms alone, ${(lag(during.samples) * 1000).toFixed(0)} ms during`);
    // memory over the export, in quarters: bounded means flat, not growing with the rows sent
    const quarter = (q: number) => during.samples[Math.min(during.samples.length - 1, Math.round((q * (during.samples.length - 1)) / 4))];
    console.log(
      `server memory over the export (RSS / JS heap used / external): ${[0, 1, 2, 3, 4].map((q) => `${mb(quarter(q).rss)} / ${mb(quarter(q).heap)} / ${mb(quarter(q).external)}`).join(" → ")}`,
    );
    if (!complete) console.log(`export's query in PostgreSQL after the disconnect: ${Number.isFinite(cancelledMs) ? `gone within ${cancelledMs.toFixed(0)} ms` : "STILL RUNNING after 5 s"}`);
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([exited, sleep(20_000)]);
    }
    relay?.stdin?.end();
    if (KEEP) console.log(`kept the history: BENCH_HEAVY_SCHEMA=${schema} reuses it (drop it when done)`);
    else await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => console.error(`dropping ${schema}: ${e}`));
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

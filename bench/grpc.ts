/**
 * npm run bench:grpc — prints figures, asserts nothing.
 * Streaming history over the Observer gRPC API (what `hubble observe --server <flowlens> --since …`
 * does) against the same rows exported by /api/flows?format=jsonl: a history of BENCH_FLOWS
 * (default 1,000,000) flows written straight through the FlowWriter (binary COPY), then
 * - GetFlows unfiltered (every stored flow) and with a namespace filter as the CLI sends it
 *   (`--namespace team-3`: source_pod "team-3/" OR destination_pod "team-3/"), read by a client in
 *   its own process: flows/s, time to first flow. Two clients: plain HTTP/2 counting gRPC frames
 *   (standing in for the Go hubble CLI; the target is judged with it) and grpc-js (whose own cost,
 *   ~10 µs a message, caps what it can show);
 * - /api/flows?format=jsonl for the same rows (route handler, body read to its end): rows/s;
 * - the server's RSS before, and its peak while streaming (sampled every 100 ms).
 * Env: DATABASE_URL (default the test PostgreSQL, a fresh schema dropped afterwards), BENCH_FLOWS,
 * BENCH_JSONL=0.
 * Target (issue 13): ≥ 100k flows/s unfiltered, first flow < 200 ms, memory bounded.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { GET as flowsGET } from "@/app/api/flows/route";
import { openDatabase } from "@/server/db/connection";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { applyMigrations } from "@/server/db/migrate";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { getRuntime } from "@/server/runtime";
import { writeHistory } from "@/tests/fixtures/generated-history";
import { dropSchema, freshSchemaName, PG_BASE_URL } from "@/tests/fixtures/test-db";

const N = Number(process.env.BENCH_FLOWS ?? 1_000_000);
/** BENCH_JSONL=0 leaves out the /api/flows comparison (profiling the gRPC side alone) */
const JSONL = process.env.BENCH_JSONL !== "0";
const ROOT = path.resolve(import.meta.dirname, "..");
const run = promisify(execFile);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString("en")}/s`;

async function main(): Promise<void> {
  const schema = process.env.DATABASE_URL ? null : freshSchemaName();
  const url = process.env.DATABASE_URL ?? `${PG_BASE_URL}?schema=${schema}`;
  const fromNs = BigInt(Date.now() - 2 * 86400_000) * 1_000_000n;
  const toNs = BigInt(Date.now() - 3600_000) * 1_000_000n;
  try {
    const db = await openDatabase({ url });
    await applyMigrations(db);
    const t0 = performance.now();
    await writeHistory(new FlowWriter(db), N, fromNs, toNs, {
      onProgress: (w) => {
        if (w % 200_000 === 0) process.stdout.write(`  written ${w.toLocaleString("en")}\n`);
      },
    });
    await db.query("ANALYZE flows");
    await db.close();
    console.log(`history: ${N.toLocaleString("en")} flows written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const relay = await startRelayServer({}); // an empty Relay: nothing new arrives while measuring
    Object.assign(process.env, { DATABASE_URL: url, HUBBLE_SERVER: relay.address, LOG_LEVEL: "warn", FLOWLENS_RETENTION: "off", FLOWLENS_GRPC_ADDR: "127.0.0.1:0" });
    const rt = await getRuntime();
    if (rt.grpc.state !== "serving") throw new Error(`gRPC not serving: ${JSON.stringify(rt.grpc)}`);
    const address = rt.grpc.address;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    const rssBefore = process.memoryUsage().rss;

    const grpcRead = async (req: object, client: "grpc-js" | "http2" = "grpc-js") => {
      peak = 0;
      const script = client === "grpc-js" ? "bench/grpc-read.ts" : "bench/grpc-read-raw.ts";
      const { stdout } = await run(process.execPath, ["--import", "tsx", script, address, JSON.stringify(req)], { cwd: ROOT, maxBuffer: 1 << 20 });
      return { ...(JSON.parse(stdout) as { flows: number; events: number; firstMs: number; totalMs: number }), peak };
    };
    const jsonl = async (params: string) => {
      peak = 0;
      const started = performance.now();
      const res = await flowsGET(new Request(`http://flowlens.bench/api/flows?format=jsonl&${params}`));
      let lines = 0;
      let first = -1;
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first < 0) first = performance.now() - started;
        for (const b of value) if (b === 10) lines++;
      }
      return { rows: lines, firstMs: first, totalMs: performance.now() - started, peak };
    };

    const everything = {};
    const ns = { whitelist: [{ sourcePod: ["team-3/"] }, { destinationPod: ["team-3/"] }] };
    console.log(`\nserver RSS before: ${mb(rssBefore)} (load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
    const show = (label: string, g: Awaited<ReturnType<typeof grpcRead>>) =>
      console.log(`${label.padEnd(44)} ${g.flows.toLocaleString("en")} flows in ${(g.totalMs / 1000).toFixed(1)} s = ${rate(g.flows, g.totalMs)}, first flow ${g.firstMs.toFixed(0)} ms, server RSS peak ${mb(g.peak)}`);
    // the first call after start also pays for connections, caches and compiling the code
    const cold = await grpcRead({ number: "1" }, "http2");
    console.log(`${"first call after start (--last 1):".padEnd(44)} first flow ${cold.firstMs.toFixed(0)} ms`);
    const since = `since=${new Date(Number(fromNs / 1_000_000n) - 1000).toISOString()}`;
    const g1 = await grpcRead(everything, "http2");
    show("gRPC GetFlows, unfiltered (HTTP/2 client):", g1);
    const g1js = await grpcRead(everything);
    show("gRPC GetFlows, unfiltered (grpc-js client):", g1js);
    const j1 = JSONL ? await jsonl(since) : null;
    if (j1) console.log(`${"/api/flows?format=jsonl, same rows:".padEnd(44)} ${j1.rows.toLocaleString("en")} rows in ${(j1.totalMs / 1000).toFixed(1)} s = ${rate(j1.rows, j1.totalMs)}, first row ${j1.firstMs.toFixed(0)} ms, RSS peak ${mb(j1.peak)}`);
    const g2 = await grpcRead(ns, "http2");
    show("gRPC GetFlows, --namespace team-3 (HTTP/2):", g2);
    const g2js = await grpcRead(ns);
    show("gRPC GetFlows, --namespace team-3 (grpc-js):", g2js);
    const j2 = JSONL ? await jsonl(`namespace=team-3&${since}`) : null;
    if (j2) console.log(`${"/api/flows?format=jsonl, same rows:".padEnd(44)} ${j2.rows.toLocaleString("en")} rows in ${(j2.totalMs / 1000).toFixed(1)} s = ${rate(j2.rows, j2.totalMs)}, first row ${j2.firstMs.toFixed(0)} ms, RSS peak ${mb(j2.peak)}`);
    const g3 = await grpcRead({ number: "20" }, "http2");
    console.log(`${"gRPC GetFlows --last 20 (HTTP/2):".padEnd(44)} first flow ${g3.firstMs.toFixed(0)} ms, all ${g3.totalMs.toFixed(0)} ms`);
    if (j1 && j2) console.log(`\nratios: gRPC (HTTP/2 client)/jsonl unfiltered ${(g1.flows / g1.totalMs / (j1.rows / j1.totalMs)).toFixed(1)}×, filtered ${(g2.flows / g2.totalMs / Math.max(1e-9, j2.rows / j2.totalMs)).toFixed(1)}×`);
    console.log(`target (issue 13): ≥ 100,000 flows/s unfiltered, first flow < 200 ms`);
    clearInterval(sampler);
    await rt.shutdown();
    await relay.stop();
  } finally {
    if (schema) await dropSchema(schema).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

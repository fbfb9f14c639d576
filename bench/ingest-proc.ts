/**
 * One process of `npm run bench:ingest`: an ingest process of a per-node deployment (one GetFlows
 * stream per agent it holds, each through the real ingest path into DATABASE_URL), or, with mode
 * `receive`, a receive-only grpc-js client of the same streams (the raw pass-through deserializer
 * the ingest uses: no decode, no store) — the transport's own limit.
 *
 *   tsx bench/ingest-proc.ts ingest|receive <flows per stream> <relay address>…
 *
 * Prints {"ready":true} once connected to the store, starts its streams on "go" (stdin) and prints
 * {"done":…} when every stream's flows are stored (received); "stats" prints its counters;
 * "wait N" answers once N flows are stored.
 */
import readline from "node:readline";
import { openDatabase, type Database } from "@/server/db/connection";
import { RelayClient } from "@/server/hubble/relay-client";
import { startPipeline, type Pipeline } from "@/tests/fixtures/test-pipeline";

const [mode, perStreamArg, ...addresses] = process.argv.slice(2);
const perStream = Number(perStreamArg);
const expected = perStream * addresses.length;
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

let db: Database | null = null;
const pipelines: Pipeline[] = [];
const clients: RelayClient[] = [];
let received = 0;
let maxQueue = 0;
let cpuAtGo = process.cpuUsage();

const stored = () => (mode === "receive" ? received : pipelines.reduce((a, p) => a + p.ingest.stored, 0));
const queueDepth = () => pipelines.reduce((a, p) => a + p.ingest.queueDepth, 0);
const stats = () => {
  const cpu = process.cpuUsage(cpuAtGo);
  return {
    received: mode === "receive" ? received : pipelines.reduce((a, p) => a + p.ingest.received, 0),
    stored: stored(),
    maxQueue,
    peakRss,
    cpuMs: (cpu.user + cpu.system) / 1000,
    streams: pipelines.map((p) => ({ received: p.ingest.received, stored: p.ingest.stored, queue: p.ingest.queueDepth, state: p.ingest.state })),
  };
};

function go(): void {
  cpuAtGo = process.cpuUsage();
  const t0 = performance.now();
  const watch = setInterval(() => {
    maxQueue = Math.max(maxQueue, queueDepth());
    if (stored() >= expected) {
      clearInterval(watch);
      say({ done: true, ms: performance.now() - t0, ...stats() });
    }
  }, 5);
  for (const address of addresses) {
    if (mode === "receive") {
      const c = new RelayClient(address);
      clients.push(c);
      const s = c.getFlows({ number: perStream, follow: true });
      s.on("data", () => received++);
      s.on("error", () => {});
    } else {
      pipelines.push(startPipeline(db!, address, { batchSize: 5000, flushMs: 250, queueMax: 20_000, initialHistory: perStream }));
    }
  }
}

async function main(): Promise<void> {
  if (mode !== "receive") {
    db = await openDatabase({ url: process.env.DATABASE_URL });
  }
  say({ ready: true });
  const waits: { n: number; resolve: () => void }[] = [];
  setInterval(() => {
    maxQueue = Math.max(maxQueue, queueDepth());
    for (const w of waits.splice(0)) {
      if (stored() >= w.n) w.resolve();
      else waits.push(w);
    }
  }, 20).unref();
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const [cmd, arg] = line.trim().split(" ");
    if (cmd === "go") go();
    else if (cmd === "stats") say({ stats: true, ...stats() });
    else if (cmd === "wait") waits.push({ n: Number(arg), resolve: () => say({ waited: true, ...stats() }) });
  });
  process.stdin.on("end", async () => {
    clearInterval(sampler);
    for (const p of pipelines) await p.stop();
    for (const c of clients) c.close();
    await db?.close();
    process.exit(0);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

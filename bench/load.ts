/**
 * npm run bench:load — prints figures, asserts nothing.
 * The real app (`npm start`, production build) on a fresh PostgreSQL schema, fed by a relay in its
 * own process at a steady rate (default 10,000 flows/s):
 *   1. baseline: ingest with nobody watching;
 *   2. the same with 50 SSE viewers of /api/live (different filters), 10 pollers of the /api/flows
 *      first page (one request a second each) and one viewer that never reads;
 * then the ingest rate of both and their ratio, for each viewer what it received against what its
 * filter matched (worked out here from the flows the relay sent, with the server's matcher) and what
 * was announced as skipped, whether any matching flow went missing unannounced, the server's RSS,
 * the /api/flows first-page latency, and what became of the viewer that never read.
 * Options: --seconds N (viewers phase, 60), --baseline-seconds N (30), --rate N (10000),
 * --viewers N (50), --pollers N (10), --cpu-prof DIR (run the built server under node --cpu-prof,
 * profile written to DIR when it stops; needs a build, e.g. from an earlier run).
 * Env: DATABASE_URL (default the local test database).
 */
import { spawn } from "node:child_process";
import os from "node:os";
import readline from "node:readline";
import { parseArgs } from "node:util";
import pg from "pg";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import { parseFlowQuery } from "@/server/domain/flows/flow-query";
import { startApp } from "../tests/e2e/app-server";
import { percentile, poller, startProfiled, treeCpu, treeRss, Viewer } from "./load-clients";
import { templateItem, templates, TEMPLATES } from "./load-flows";
import { VIEWER_FILTERS, POLLER_FILTERS } from "./load-filters";

const { values: opt } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    "baseline-seconds": { type: "string", default: "30" },
    rate: { type: "string", default: "10000" },
    viewers: { type: "string", default: "50" },
    pollers: { type: "string", default: "10" },
    "cpu-prof": { type: "string" },
  },
});
const SECONDS = Number(opt.seconds);
const BASE_SECONDS = Number(opt["baseline-seconds"]);
const RATE = Number(opt.rate);
const VIEWERS = Math.min(Number(opt.viewers), VIEWER_FILTERS.length);
const POLLERS = Number(opt.pollers);
const WARMUP_SECONDS = 5;

const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_load_${Date.now().toString(36)}`;
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;
const STEP_NS = BigInt(Math.round(1e9 / RATE));
const START_NS = BigInt(Date.now()) * 1_000_000n;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** live streams the server counts, and when that count last went down (a stream it dropped) */
const clients = { count: 0, droppedAt: 0 };
/** the live fan-out's conversion budget (flows/s), sampled while viewers are connected */
const budgets: number[] = [];

async function ingested(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^flowlens_flows_ingested_total (\d+)/m.exec(text);
  const c = Number(/^flowlens_live_clients (\d+)/m.exec(text)?.[1] ?? 0);
  if (c < clients.count) clients.droppedAt = Date.now();
  clients.count = c;
  const b = /^flowlens_live_budget (\d+)/m.exec(text);
  if (c > 0 && b) budgets.push(Number(b[1]));
  return m ? Number(m[1]) : 0;
}

async function main() {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`bench:load — ${fmt(RATE)} flows/s; baseline ${BASE_SECONDS} s, then ${SECONDS} s with ${VIEWERS} viewers, ${POLLERS} pollers and 1 stalled viewer`);
  console.log(`PostgreSQL ${BASE.replace(/\/\/[^@]*@/, "//")} schema ${schema}; ${os.cpus().length} cores, load average ${load}`);

  const relay = spawn(process.execPath, ["--import", "tsx", "bench/load-relay.ts", String(START_NS), String(STEP_NS)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: relay.stdout! });
  const nextLine = () => new Promise<Record<string, number | string>>((r) => lines.once("line", (l) => r(JSON.parse(l))));
  const { address } = (await nextLine()) as { address: string };
  const send = async (from: number, count: number) => {
    relay.stdin!.write(`send ${from} ${count} ${RATE}\n`);
    return (await nextLine()) as { done: number; sent: number; seconds: number; maxBacklog: number };
  };

  console.log("starting the app (npm start; builds first when the sources changed)…");
  const appEnv = { DATABASE_URL: url, HUBBLE_SERVER: address, LOG_LEVEL: "warn", FLOWLENS_RETENTION: "off" };
  const app = opt["cpu-prof"] ? await startProfiled(appEnv, opt["cpu-prof"]) : await startApp(appEnv);
  cleanup = async () => {
    relay.stdin!.end();
    const code = await app.stop();
    if (code !== 0) console.log(`app exited with ${code}:\n${app.logs().slice(-2000)}`);
  };
  const base = app.url;
  const rss: number[] = [];
  let phaseRss = 0;
  const rssTimer = setInterval(() => {
    const r = treeRss(app.pid, Boolean(opt["cpu-prof"]));
    rss.push(r);
    phaseRss = Math.max(phaseRss, r);
  }, 1000);

  /** sends `count` flows from `from` and waits until the server stored them; the stored rate */
  async function phase(from: number, count: number) {
    const before = await ingested(base);
    const cpu0 = { server: treeCpu(app.pid), relay: treeCpu(relay.pid!), bench: process.cpuUsage() };
    const t0 = performance.now();
    const sent = await send(from, count);
    while ((await ingested(base)) < before + count) await sleep(250);
    const seconds = (performance.now() - t0) / 1000;
    const b = process.cpuUsage(cpu0.bench);
    const cpu = { server: treeCpu(app.pid) - cpu0.server, relay: treeCpu(relay.pid!) - cpu0.relay, bench: (b.user + b.system) / 1e6 };
    return { rate: count / seconds, seconds, sent, cpu };
  }
  const cpuLine = (c: { server: number; relay: number; bench: number }, seconds: number) =>
    `CPU used: server ${c.server.toFixed(1)} s (${((100 * c.server) / seconds).toFixed(0)} % of a core), relay ${c.relay.toFixed(1)} s, this bench ${c.bench.toFixed(1)} s`;

  // 0. warm-up (JIT, partitions, caches) and 1. baseline
  let next = 0;
  await phase(next, RATE * WARMUP_SECONDS);
  next += RATE * WARMUP_SECONDS;
  phaseRss = 0;
  const baseline = await phase(next, RATE * BASE_SECONDS);
  next += RATE * BASE_SECONDS;
  const baselineRss = phaseRss;
  console.log(`baseline: ${fmt(baseline.rate)} flows/s stored (${fmt(RATE * BASE_SECONDS)} flows in ${baseline.seconds.toFixed(1)} s; relay backlog max ${fmt(baseline.sent.maxBacklog)})`);
  console.log(`  ${cpuLine(baseline.cpu, baseline.seconds)}`);

  // 2. viewers, pollers and a stalled viewer
  const count = RATE * SECONDS;
  const from = next;
  const viewers = VIEWER_FILTERS.slice(0, VIEWERS).map((q) => new Viewer(q, false, from, count, { startNs: START_NS, stepNs: STEP_NS }));
  const stalled = new Viewer("", true, from, count, { startNs: START_NS, stepNs: STEP_NS });
  for (const v of [...viewers, stalled]) v.start(base);
  const t0 = Date.now();
  while (![...viewers, stalled].every((v) => v.connected)) {
    if (Date.now() - t0 > 30_000) throw new Error("viewers did not connect");
    await sleep(50);
  }
  const latencies: number[] = [];
  const pollErrors = { n: 0 };
  let polling = true;
  const pollers = Array.from({ length: POLLERS }, (_, i) => poller(base, POLLER_FILTERS[i % POLLER_FILTERS.length], () => !polling, latencies, pollErrors));
  phaseRss = 0;
  const stalledAt = Date.now();
  const loaded = await phase(from, count);
  polling = false;
  await Promise.all(pollers);
  // let the last batch reach every viewer and pending skips be announced (the hub ticks every second)
  let last = -1;
  for (;;) {
    await sleep(1500);
    const total = viewers.reduce((n, v) => n + v.received + v.spans.length, 0);
    if (total === last) break;
    last = total;
  }
  const loadedRss = phaseRss;
  for (const v of [...viewers, stalled]) v.stop();
  clearInterval(rssTimer);

  // 3. what each filter matched, from the flows the relay sent (flow i is template i % TEMPLATES)
  const tpl = templates();
  const rows: string[] = [];
  let silentTotal = 0;
  let wrongTotal = 0;
  const header = ["viewer filter", "matched", "received", "skipped:slow", "skipped:rate", "missing", "unannounced"];
  for (const v of viewers) {
    const parsed = parseFlowQuery(new URLSearchParams(v.query));
    if (!parsed.ok) throw new Error(`${v.query}: ${parsed.error}`);
    const match = compileMatcher(parsed.query.filter);
    const hit = new Uint8Array(TEMPLATES);
    for (let k = 0; k < TEMPLATES; k++) hit[k] = match(templateItem(tpl[k], k)) ? 1 : 0;
    let matched = 0;
    let wrong = 0;
    let missing = 0;
    let unannounced = 0;
    for (let j = 0; j < count; j++) {
      const m = hit[(from + j) % TEMPLATES];
      matched += m;
      if (v.got[j] && !m) wrong++;
      if (m && !v.got[j]) {
        missing++;
        if (!v.spans.some((s) => s.first <= from + j && from + j <= s.last)) unannounced++;
      }
    }
    const slow = v.spans.filter((s) => s.reason === "slow").reduce((n, s) => n + s.count, 0);
    const rate = v.spans.filter((s) => s.reason === "rate").reduce((n, s) => n + s.count, 0);
    // a count can cover only as many flows as it says
    const silent = unannounced + Math.max(0, missing - unannounced - slow - rate);
    silentTotal += silent;
    wrongTotal += wrong + v.outside + v.duplicates;
    rows.push([v.query || "(all flows)", fmt(matched), fmt(v.received), fmt(slow), fmt(rate), fmt(missing), fmt(silent)].join("\t"));
  }

  const ratio = loaded.rate / baseline.rate;
  console.log(`with viewers: ${fmt(loaded.rate)} flows/s stored (${fmt(count)} flows in ${loaded.seconds.toFixed(1)} s; relay backlog max ${fmt(loaded.sent.maxBacklog)})`);
  console.log(`  ${cpuLine(loaded.cpu, loaded.seconds)}`);
  console.log("");
  console.log(`ingest rate without viewers: ${fmt(baseline.rate)} flows/s`);
  console.log(`ingest rate with ${VIEWERS} viewers + ${POLLERS} pollers: ${fmt(loaded.rate)} flows/s`);
  console.log(`ratio: ${ratio.toFixed(3)}   (target ≥ 0.9: ${ratio >= 0.9 ? "met" : "MISSED"})`);
  console.log("");
  console.log(header.join("\t"));
  for (const r of rows) console.log(r);
  console.log("");
  console.log(
    silentTotal === 0 && wrongTotal === 0
      ? `nothing went silently missing: every flow that matched a viewer's filter was delivered or announced as skipped; no viewer got a flow it did not match`
      : `SILENTLY MISSING: ${fmt(silentTotal)} matching flows neither delivered nor announced; ${fmt(wrongTotal)} deliveries that were not expected (not matching, duplicated or outside the run)`,
  );
  // every reading viewer was still connected then, so a drop in the count is the stalled one
  const droppedAfter = clients.droppedAt > stalledAt ? ((clients.droppedAt - stalledAt) / 1000).toFixed(0) : undefined;
  console.log(
    droppedAfter
      ? `stalled viewer (never read): dropped by the server ${droppedAfter} s after it connected (its queue released)${stalled.closedAt ? "" : "; its TCP connection stays open until the client goes away (Next.js's response writer waits for the socket to drain)"}`
      : `stalled viewer (never read): still served after ${((Date.now() - stalledAt) / 1000).toFixed(0)} s`,
  );
  if (budgets.length) {
    const sorted = [...budgets].sort((a, b) => a - b);
    console.log(`live conversion budget while viewers were connected: min ${fmt(sorted[0])}, median ${fmt(percentile(sorted, 50))}, max ${fmt(sorted.at(-1)!)} flows/s (it shrinks while the server's event loop is busy)`);
  }
  console.log(`server RSS: max ${mb(baselineRss)} during the baseline, max ${mb(loadedRss)} with viewers (samples every 1 s: ${rss.filter((_, i) => i % Math.max(1, Math.ceil(rss.length / 12)) === 0).map((r) => (r / 1048576).toFixed(0)).join(" ")} MB)`);
  console.log(`/api/flows first page (limit 100) under load: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, max ${percentile(latencies, 100).toFixed(0)} ms over ${latencies.length} requests${pollErrors.n ? `, ${pollErrors.n} failed` : ""}`);
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);

}

let cleanup = async () => {};

async function dropSchema() {
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void (async () => {
      await cleanup().catch(() => {});
      await dropSchema().catch(() => {});
      process.exit(130);
    })();
  });
}

main().then(
  async () => {
    await cleanup();
    await dropSchema();
    process.exit(0);
  },
  async (e) => {
    console.error(e);
    await cleanup().catch(() => {});
    await dropSchema().catch(() => {});
    process.exit(1);
  },
);

/**
 * npm run bench:graph — prints figures, asserts nothing.
 * The map for one hour over 10M stored flows, timed at GraphRepo.graph (what GET /api/graph calls).
 *
 * The 10M flows are NOT ingested one by one: the map never reads raw flows, so the bench writes
 * what ingesting them would leave behind — real flow contexts (protobuf bytes, resolved through
 * DimensionRepo like the writer does) and their per-minute rollup rows — directly into a fresh
 * PostgreSQL schema. Shape: BENCH_GRAPH_WORKLOADS workloads (default 1,000) in 50 namespaces,
 * BENCH_GRAPH_EDGES workload edges (default 5,000, power-law: a few hubs), 2 pod pairs per edge and
 * a reply context for each, 4 % dropping contexts, 20 % of edges with HTTP, each context active in
 * 3 of 4 minutes; the flow counts of the rows add up to exactly BENCH_GRAPH_FLOWS (default 10M).
 * Then the open-page cases: the writer committing rollups every second while the map refreshes (the
 * newest minutes are kept in memory from the writer's feed), the window sliding by a minute, and
 * the first call after a start, cold and after the start-up warm-up.
 * Env: BENCH_GRAPH_FLOWS, BENCH_GRAPH_WORKLOADS, BENCH_GRAPH_EDGES, BENCH_GRAPH_RUNS, DATABASE_URL.
 */
import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { FlowSchema, IPVersion, Verdict, type Endpoint } from "@/proto/gen/flow/flow_pb";
import { openDatabase } from "@/server/db/connection";
import type { NewContext } from "@/server/db/flows/dimension-repo";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import type { Rollup } from "@/server/domain/flows/flow-rollup";
import { GraphRepo } from "@/server/db/graph/graph-repo";
import { GraphCatalog } from "@/server/db/graph/graph-catalog";
import { NS_PER_MINUTE } from "@/server/domain/shared/time";
import { ContextCatalog } from "@/server/db/flows/context-catalog";
import { applyMigrations } from "@/server/db/migrate";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { buildFlow, endpoint, responseOf, tcp } from "../tests/fixtures/flow-builder";
import { startPipeline } from "../tests/fixtures/test-pipeline";

const FLOWS = Number(process.env.BENCH_GRAPH_FLOWS ?? 10_000_000);
const WORKLOADS = Number(process.env.BENCH_GRAPH_WORKLOADS ?? 1000);
const EDGES = Number(process.env.BENCH_GRAPH_EDGES ?? 5000);
const RUNS = Number(process.env.BENCH_GRAPH_RUNS ?? 15);
const NAMESPACES = 50;
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_graph_${Date.now().toString(36)}`;
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;
const START_MINUTE = Math.floor(Date.parse("2026-11-20T12:00:00Z") / 60_000);

let seed = 11;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function ep(w: number, pod: number): Endpoint {
  const ns = `team-${w % NAMESPACES}`;
  const app = `svc-${w}`;
  return {
    $typeName: "flow.Endpoint",
    ID: 1 + ((w * 7 + pod) % 60000),
    identity: 20000 + w,
    namespace: ns,
    labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`, "k8s:io.cilium.k8s.policy.cluster=default"],
    podName: `${app}-7d9f8b6c5d-p${pod}x2k`,
    workloads: [{ $typeName: "flow.Workload", name: app, kind: "Deployment" }],
    clusterName: "default",
  };
}

function context(src: Endpoint, dst: Endpoint, verdict: Verdict, reply: boolean): NewContext {
  const f = create(FlowSchema, {
    verdict,
    nodeName: `node-${src.identity % 7}`,
    IP: { source: `10.${src.identity % 250}.0.${src.ID % 250}`, destination: `10.${dst.identity % 250}.1.${dst.ID % 250}`, ipVersion: IPVersion.IPv4 },
    source: reply ? dst : src,
    destination: reply ? src : dst,
    isReply: reply,
    ...(verdict === Verdict.DROPPED ? { dropReasonDesc: 133, ingressDeniedBy: [{ name: "default-deny", namespace: dst.namespace, kind: "CiliumNetworkPolicy" }] } : {}),
  });
  const raw = Buffer.from(toBinary(FlowSchema, f));
  return { hash: createHash("md5").update(raw).digest(), raw, responseNodeName: null };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const db = await openDatabase({ url });
  await applyMigrations(db);
  const writer = new FlowWriter(db);
  const dims = writer.dimensions;

  // power-law edges: the client is uniform, the server skewed toward a few hubs (DNS-like, APIs)
  const pairs = new Set<string>();
  while (pairs.size < EDGES) {
    const a = Math.floor(rnd() * WORKLOADS);
    const b = Math.floor(WORKLOADS * rnd() ** 2.5);
    if (a !== b) pairs.add(`${a}:${b}`);
  }
  const contexts: NewContext[] = [];
  const meta: { l7: boolean; port: number }[] = [];
  for (const p of pairs) {
    const [a, b] = p.split(":").map(Number);
    const l7 = rnd() < 0.2;
    const port = 8000 + (b % 100);
    for (let pod = 0; pod < 2; pod++) {
      const verdict = rnd() < 0.04 ? Verdict.DROPPED : Verdict.FORWARDED;
      contexts.push(context(ep(a, pod), ep(b, pod), verdict, false));
      meta.push({ l7, port });
      if (verdict === Verdict.FORWARDED) {
        contexts.push(context(ep(a, pod), ep(b, pod), verdict, true));
        meta.push({ l7, port });
      }
    }
  }
  for (let i = 0; i < contexts.length; i += 2000) await dims.resolveContexts(contexts.slice(i, i + 2000));
  const ids = await db.query<{ id: number; hash: string }>("SELECT id, encode(hash, 'hex') AS hash FROM flow_contexts");
  const idOf = new Map(ids.map((r) => [r.hash, r.id]));
  const ctxIds = contexts.map((c) => idOf.get(c.hash.toString("hex"))!);

  // rollup rows: each context in 3 of 4 minutes; flows spread so they sum to exactly FLOWS
  const rows: [number, number, number, boolean][] = [];
  for (let m = 0; m < 60; m++) for (let i = 0; i < ctxIds.length; i++) if ((i + m) % 4 !== 0) rows.push([START_MINUTE + m, ctxIds[i], meta[i].port, meta[i].l7]);
  const per = Math.floor(FLOWS / rows.length);
  const extra = FLOWS - per * rows.length;
  const c = new pg.Client({ connectionString: BASE });
  await c.connect();
  await c.query(`SET search_path = "${schema}"`);
  const CHUNK = 50_000;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    await c.query(
      `INSERT INTO flow_rollups (minute, ctx_id, l4, port, flows, first_ts, last_ts, http_requests, http_status, dns_requests, dns_rcodes, latency_hist)
       SELECT u.m, u.c, 1, u.p, u.f, u.m::int8 * 60000000000 + 1000, u.m::int8 * 60000000000 + 59000000000,
         CASE WHEN u.l7 THEN u.f / 2 ELSE 0 END,
         CASE WHEN u.l7 THEN ARRAY[0, u.f / 2 - u.f / 20, 0, u.f / 40, u.f / 40, 0] ELSE '{0,0,0,0,0,0}'::int[] END,
         0, '{0,0,0,0,0,0,0}'::int[],
         CASE WHEN u.l7 THEN array_fill(0, ARRAY[10]) || ARRAY[u.f / 4, u.f / 8, u.f / 16] || array_fill(0, ARRAY[13]) ELSE array_fill(0, ARRAY[26]) END
       FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::bool[]) AS u(m, c, p, f, l7)`,
      [part.map((r) => r[0]), part.map((r) => r[1]), part.map((r) => r[2]), part.map((_, j) => per + (i + j < extra ? 1 : 0)), part.map((r) => r[3])],
    );
  }
  await c.query("ANALYZE flow_rollups");
  const check = await c.query<{ n: string; f: string }>("SELECT count(*)::text AS n, sum(flows)::text AS f FROM flow_rollups");
  const setupS = (performance.now() - t0) / 1000;
  console.log(`bench:graph — rollups equivalent to ${fmt(Number(check.rows[0].f))} flows over 1 hour, generated directly (no raw flows ingested)`);
  console.log(`  ${fmt(WORKLOADS)} workloads in ${NAMESPACES} namespaces, ${fmt(EDGES)} workload edges, ${fmt(contexts.length)} contexts, ${fmt(Number(check.rows[0].n))} rollup rows (setup ${setupS.toFixed(1)} s)`);

  const repo = new GraphRepo(db, new GraphCatalog(new ContextCatalog(dims)), { feed: writer.rollupFeed });
  const sinceNs = BigInt(START_MINUTE) * NS_PER_MINUTE;
  const untilNs = sinceNs + 60n * NS_PER_MINUTE;
  const q = { filter: {}, sinceNs, untilNs, hideNoise: true };
  let t = performance.now();
  const first = await repo.graph(q);
  console.log(`  first call after a start, nothing warmed (decodes ${fmt(contexts.length)} contexts, reads the hour): ${(performance.now() - t).toFixed(0)} ms → ${fmt(first.nodes.length)} nodes, ${fmt(first.edges.length)} edges, ${fmt(first.totals.flows)} flows`);
  {
    // what a restarted server does: GraphRepo.warm() runs in the background a second after start
    const restarted = new FlowWriter(db);
    const other = new GraphRepo(db, new GraphCatalog(new ContextCatalog(restarted.dimensions)), { feed: restarted.rollupFeed });
    t = performance.now();
    await other.warm(Number(untilNs / 1_000_000n));
    const warmMs = performance.now() - t;
    t = performance.now();
    await other.graph(q);
    console.log(`  after a start: background warm-up ${warmMs.toFixed(0)} ms, then the first map ${(performance.now() - t).toFixed(0)} ms`);
  }
  const time = async (label: string, qq: Parameters<GraphRepo["graph"]>[0], before?: (i: number) => Promise<void>) => {
    const ms: number[] = [];
    let out = first;
    for (let i = 0; i < RUNS; i++) {
      await before?.(i);
      t = performance.now();
      out = await repo.graph(qq);
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    const pct = (p: number) => ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)];
    if (process.env.BENCH_GRAPH_ALL) console.log(ms.map((x) => x.toFixed(0)).join(" "));
    console.log(`  ${label}: p50 ${pct(50).toFixed(0)} ms, p95 ${pct(95).toFixed(0)} ms over ${RUNS} runs (${fmt(out.edges.length)} edges, ${fmt(out.totals.flows)} flows)`);
  };
  await time("1 h, whole cluster", q);
  await time("1 h, namespace team-3", { ...q, filter: { namespace: ["team-3"] } });
  await time("1 h, verdict DROPPED", { ...q, filter: { verdict: [2] } });
  await time("live 5 m", { ...q, sinceNs: untilNs - 5n * NS_PER_MINUTE });
  // ~1 s of ingest at 10M flows/h: 2,800 flows over ~2,000 (context, port) rows of the newest minute (fewer contexts: all)
  const commit = (minute: number) => async () => {
    const delta: Rollup[] = [];
    const picked = new Set<number>();
    while (picked.size < Math.min(2000, ctxIds.length)) picked.add(Math.floor(rnd() * ctxIds.length));
    let k = 0;
    for (const i of picked) {
      k++;
      const ts = BigInt(minute) * NS_PER_MINUTE + 30_000_000_000n;
      delta.push({ minute, ctxId: ctxIds[i], l4: 1, port: meta[i].port, flows: 1 + (k % 3 === 0 ? 1 : 0), firstTs: ts, lastTs: ts, httpRequests: 0, httpStatus: [0, 0, 0, 0, 0, 0], dnsRequests: 0, dnsRcodes: [0, 0, 0, 0, 0, 0, 0], latencyHist: new Array(26).fill(0) });
    }
    await writer.writeRollups(delta);
  };
  const loads = repo.recentLoads;
  await time("1 h, live: a rollup commit (2,000 rows) before each refresh", q, commit(START_MINUTE + 59));
  console.log(`    (newest minutes loaded from SQL ${repo.recentLoads - loads} times during those refreshes: commits are added in memory)`);
  const slid = { ...q, sinceNs: sinceNs + NS_PER_MINUTE, untilNs: untilNs + NS_PER_MINUTE };
  await commit(START_MINUTE + 60)();
  t = performance.now();
  await repo.graph(slid);
  console.log(`  1 h window slid by one minute (a minute settles, the settled part is folded again): ${(performance.now() - t).toFixed(0)} ms once a minute`);
  for (let k = 2; k <= 4; k++) {
    await commit(START_MINUTE + 59 + k)();
    t = performance.now();
    await repo.graph({ ...q, sinceNs: sinceNs + BigInt(k) * NS_PER_MINUTE, untilNs: untilNs + BigInt(k) * NS_PER_MINUTE });
    console.log(`    slid by ${k} minutes: ${(performance.now() - t).toFixed(0)} ms`);
  }
  await time("1 h slid, live: a rollup commit before each refresh", slid, commit(START_MINUTE + 60));
  console.log("  target: 1 h whole cluster p50/p95 < 300 ms");
  await liveLatency(db);
  if (process.env.BENCH_GRAPH_KEEP) console.log(`  kept schema ${schema}`);
  else await c.query(`DROP SCHEMA "${schema}" CASCADE`);
  await c.end();
  await db.close();
}

/**
 * From a flow reaching the Relay to the map's answer holding it: a real gRPC relay, the real ingest
 * (production batch settings) under 2,000 background flows/s, and GraphRepo with the writer's feed;
 * the answer is polled every 20 ms. The page adds its own refresh interval on top.
 */
async function liveLatency(db: Awaited<ReturnType<typeof openDatabase>>): Promise<void> {
  const relay = await startRelayServer({ ringSize: 50_000, announceNodes: false });
  const pipe = startPipeline(db, relay.address, { batchSize: 5000, flushMs: 250 });
  const repo = new GraphRepo(db, new GraphCatalog(new ContextCatalog(pipe.writer.dimensions)), { feed: pipe.writer.rollupFeed });
  const client = endpoint({ ns: "bench", app: "client" });
  const server = endpoint({ ns: "bench", app: "server" });
  const nowNs = () => BigInt(Date.now()) * 1_000_000n;
  const background = setInterval(() => {
    const t = nowNs();
    relay.publishMany(Array.from({ length: 200 }, (_, i) => responseOf(buildFlow({ time: t + BigInt(i), source: client, destination: server, l4: tcp(30000 + i, 8080) }))));
  }, 100);
  const ms: number[] = [];
  for (let k = 0; k < 20; k++) {
    await new Promise((r) => setTimeout(r, 150 + ((k * 37) % 100)));
    const probe = endpoint({ ns: "bench", app: `probe-${k}` });
    const t0 = performance.now();
    relay.publish(responseOf(buildFlow({ time: nowNs(), source: probe, destination: server, l4: tcp(40000, 8080) })));
    for (;;) {
      const until = nowNs() + NS_PER_MINUTE;
      const g = await repo.graph({ filter: { namespace: ["bench"] }, sinceNs: until - 5n * NS_PER_MINUTE, untilNs: until, live: true });
      if (g.nodes.some((n) => n.label === `probe-${k}`)) break;
      if (performance.now() - t0 > 10_000) throw new Error("the probe's edge never appeared");
      await new Promise((r) => setTimeout(r, 20));
    }
    ms.push(performance.now() - t0);
  }
  clearInterval(background);
  await pipe.stop();
  await relay.stop();
  ms.sort((a, b) => a - b);
  console.log(`  live: a new edge in the map's answer after reaching the Relay (2,000 flows/s around it): p50 ${ms[9].toFixed(0)} ms, max ${ms[19].toFixed(0)} ms over 20 flows (+ the page's refresh interval)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * npm run bench:dns — prints figures, asserts nothing.
 * Stores BENCH_DNS_QUERIES DNS queries (default 100,000: a request and a response flow each, so
 * twice as many rows) spread over 10 minutes in a fresh PostgreSQL schema, then times the real
 * route handlers of GET /api/dns (whole range → server-side buckets; a 2 s zoom → marks) and
 * GET /api/dns/summary: the first call (reads and analyses), later calls on the same data (a
 * different range each time, but the same minutes: the pairing and grouping are reused), a live
 * refresh after new queries arrived (analysed again), and a filter change; with response sizes,
 * a breakdown of one analysis and the process's peak RSS.
 *
 * Traffic: 40 client workloads in 8 namespaces, 2 CoreDNS pods; per lookup A and usually AAAA;
 * 55 % in-cluster names answered by the first search domain, 30 % external names through the whole
 * ndots:5 walk, 8 % names that do not exist, 4 % SERVFAIL upstream, 3 % lost queries re-sent.
 * Then the /dns page itself in Chromium on that data (npm start, BENCH_DNS_BROWSER=0 skips it).
 * Env: BENCH_DNS_QUERIES, BENCH_DNS_BROWSER, DATABASE_URL (default the local test database).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { GET as dnsGET } from "@/app/api/dns/route";
import { GET as summaryGET } from "@/app/api/dns/summary/route";
import { FlowType, IPVersion, L7FlowType, TrafficDirection, Verdict, type Endpoint } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { openDatabase } from "@/server/db/connection";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { applyMigrations } from "@/server/db/migrate";
import { startRelayServer } from "@/server/demo/relay/relay-server";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { getRuntime } from "@/server/runtime";
import { paddedMinutes } from "@/server/db/dns/dns-repo";
import { DnsMinuteCounts } from "@/server/db/dns/dns-minute-counts";
import { baseAnalysis, selectView } from "@/server/domain/dns/dns-analysis";
import { parseDnsQuery } from "@/server/domain/dns/dns-params";
import { dnsListBody, dnsSummaryBody } from "@/server/domain/dns/dns-response";
import pg from "pg";
import { launchBrowser, startApp } from "../tests/e2e/app-server";

const N = Number(process.env.BENCH_DNS_QUERIES ?? 100_000);
const BASE = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const schema = `bench_dns_${Date.now().toString(36)}`;
const url = `${BASE}${BASE.includes("?") ? "&" : "?"}schema=${schema}`;
const START_NS = BigInt(Date.parse("2026-11-20T12:00:00Z")) * 1_000_000n;
const SPAN_MS = 10 * 60_000;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];

function ep(ns: string, app: string, pod: string, extra: string[] = []): Endpoint {
  return {
    $typeName: "flow.Endpoint",
    ID: 1 + Math.floor(rnd() * 4000),
    identity: 20000 + app.length * 97,
    namespace: ns,
    labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`, "k8s:io.cilium.k8s.policy.cluster=default", ...extra],
    podName: pod,
    workloads: [{ $typeName: "flow.Workload", name: app, kind: "Deployment" }],
    clusterName: "default",
  };
}

const NAMESPACES = Array.from({ length: 8 }, (_, i) => `team-${i}`);
const CLIENTS = Array.from({ length: 40 }, (_, i) => {
  const ns = NAMESPACES[i % 8];
  const app = `svc-${i}`;
  return { ns, ip: `10.244.${i % 3}.${10 + i}`, ep: ep(ns, app, `${app}-7d9f8b6c5-x${i}q2z`) };
});
const SERVERS = [0, 1].map((i) => ({ ip: `10.244.${i}.5`, ep: ep("kube-system", "coredns", `coredns-5d78c9869d-k${i}8zq`, ["k8s:k8s-app=kube-dns"]) }));
const EXTERNAL = ["api.stripe.com", "pypi.org", "github.com", "storage.googleapis.com", "sqs.eu-west-1.amazonaws.com", "registry.npmjs.org"];

type Client = (typeof CLIENTS)[number];
type Server = (typeof SERVERS)[number];

function flowBytes(client: Client, server: Server, atNs: bigint, query: string, qtype: string, reply: null | { rcode: number; ips: string[]; latencyNs: bigint }, port: number): Buffer {
  const request = reply === null;
  const [src, dst] = request ? [client, server] : [server, client];
  const flow = {
    time: { seconds: atNs / 1_000_000_000n, nanos: Number(atNs % 1_000_000_000n) },
    uuid: crypto.randomUUID(),
    verdict: Verdict.FORWARDED,
    IP: { source: src.ip, destination: dst.ip, ipVersion: IPVersion.IPv4 },
    l4: { protocol: { case: "UDP", value: { sourcePort: request ? port : 53, destinationPort: request ? 53 : port } } },
    source: src.ep,
    destination: dst.ep,
    Type: FlowType.L7,
    nodeName: `kind-worker${client.ip.split(".")[2]}`,
    l7: {
      type: request ? L7FlowType.REQUEST : L7FlowType.RESPONSE,
      latencyNs: reply?.latencyNs ?? 0n,
      record: { case: "dns", value: { query, qtypes: [qtype], ips: reply?.ips ?? [], rcode: reply?.rcode ?? 0, ttl: reply ? 30 : 0, observationSource: "proxy" } },
    },
    eventType: { type: 129 },
    trafficDirection: TrafficDirection.EGRESS,
    isReply: !request,
    Summary: request ? `DNS Query ${query} ${qtype}` : `DNS Answer (Proxy ${query} ${qtype})`,
  };
  const resp = create(GetFlowsResponseSchema, { responseTypes: { case: "flow", value: flow as never }, nodeName: flow.nodeName, time: flow.time as never });
  return Buffer.from(toBinary(GetFlowsResponseSchema, resp));
}

/** Rows for ~N queries, in time order. */
function* generate(): Generator<FlowRow> {
  let queries = 0;
  let port = 20000;
  const gapNs = BigInt(Math.floor((SPAN_MS * 1e6) / (N / 2.6))); // ~2.6 queries per lookup
  let t = START_NS;
  while (queries < N) {
    const client = pick(CLIENTS);
    const server = pick(SERVERS);
    const r = rnd();
    const qtypes = rnd() < 0.7 ? ["A", "AAAA"] : ["A"];
    const candidates: { name: string; rcode: number; lost?: boolean }[] = [];
    if (r < 0.55) candidates.push({ name: `svc-${Math.floor(rnd() * 40)}.${client.ns}.svc.cluster.local.`, rcode: 0 });
    else {
      const name = r < 0.85 ? pick(EXTERNAL) : r < 0.93 ? `missing-${Math.floor(rnd() * 50)}.example` : pick(EXTERNAL);
      for (const s of [`${client.ns}.svc.cluster.local`, "svc.cluster.local", "cluster.local"]) candidates.push({ name: `${name}.${s}.`, rcode: 3 });
      candidates.push({ name: `${name}.`, rcode: r < 0.85 ? 0 : r < 0.93 ? 3 : r < 0.97 ? 2 : 0, lost: r >= 0.97 });
    }
    let at = t;
    for (const c of candidates) {
      for (const qtype of qtypes) {
        const p = port++ % 40000 + 20000;
        const latencyNs = BigInt(Math.floor((c.rcode === 2 ? 400 : c.name.endsWith("cluster.local.") ? 1 : 15) * 1e6 * (0.5 + rnd())));
        yield splitRow(flowBytes(client, server, at, c.name, qtype, null, p));
        queries++;
        let sent = at;
        if (c.lost) {
          sent = at + 5_000_000_000n;
          yield splitRow(flowBytes(client, server, sent, c.name, qtype, null, p));
          queries++;
        }
        yield splitRow(flowBytes(client, server, sent + latencyNs, c.name, qtype, { rcode: c.rcode, ips: c.rcode === 0 ? ["10.96.12.7"] : [], latencyNs }, p));
        at = sent + latencyNs + 50_000n;
      }
    }
    t += gapNs;
  }
}

function splitRow(bytes: Buffer): FlowRow {
  const s = splitResponse(bytes);
  if (s.kind !== "flow") throw new Error("not a flow");
  return s.row;
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  console.log(`  ${what.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms`);
  return { ms, value };
}

async function get(handler: (r: Request) => Promise<Response>, path: string): Promise<{ status: number; bytes: number; body: Record<string, unknown> }> {
  const res = await handler(new Request(new URL(path, "http://bench.local")));
  const text = await res.text();
  return { status: res.status, bytes: text.length, body: JSON.parse(text) };
}

async function main() {
  console.log(`bench:dns — ${fmt(N)} DNS queries over 10 minutes, PostgreSQL schema ${schema}`);
  const db = await openDatabase({ url });
  await applyMigrations(db);
  const writer = new FlowWriter(db);
  const t0 = performance.now();
  let batch: FlowRow[] = [];
  let rows = 0;
  for (const row of generate()) {
    batch.push(row);
    if (batch.length === 5000) {
      await writer.write(batch);
      rows += batch.length;
      batch = [];
    }
  }
  if (batch.length) await writer.write(batch);
  rows += batch.length;
  await db.close();
  console.log(`stored ${fmt(rows)} DNS flows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // the real runtime on that schema, with an idle relay, so the route handlers run as in production
  const relay = await startRelayServer({ announceNodes: false });
  Object.assign(process.env, { DATABASE_URL: url, HUBBLE_SERVER: relay.address, LOG_LEVEL: "silent", FLOWLENS_RETENTION: "off", FLOWLENS_GRPC_ADDR: "127.0.0.1:0" });
  await getRuntime();

  const since = new Date(Number(START_NS / 1_000_000n)).toISOString();
  const until = (shiftMs: number) => new Date(Number(START_NS / 1_000_000n) + SPAN_MS + 60_000 + shiftMs).toISOString();
  // brushing: a different 2 s each time, inside minutes 4–5 of the range
  const zoomAt = (i: number, endMs: number) => new Date(Number(START_NS / 1_000_000n) + 300_000 + i * 7000 + endMs).toISOString();
  let shift = 0; // a different range each call (same minutes), so nothing answers from an exact-request cache
  const results: Record<string, number[]> = {};
  const sizes: Record<string, number> = {};
  const run = async (name: string, handler: (r: Request) => Promise<Response>, path: () => string) => {
    const r = await timed(name, () => get(handler, path()));
    if (r.value.status !== 200) throw new Error(`${name}: ${r.value.status} ${JSON.stringify(r.value.body).slice(0, 300)}`);
    (results[name] ??= []).push(r.ms);
    sizes[name] = r.value.bytes;
    return r.value.body;
  };
  console.log("timings (first call includes decoding every context once):");
  for (let i = 0; i < 4; i++) {
    const list = await run("GET /api/dns whole range, width=1200", dnsGET, () => `/api/dns?since=${since}&until=${until(shift++)}&width=1200`);
    if (i === 0) {
      const tl = list.timeline as { mode: string; cells?: unknown[] };
      console.log(`    → ${fmt(list.total as number)} queries, timeline ${tl.mode}${tl.cells ? ` (${fmt(tl.cells.length)} cells)` : ""}`);
    }
    const s = await run("GET /api/dns/summary whole range", summaryGET, () => `/api/dns/summary?since=${since}&until=${until(shift++)}`);
    if (i === 0) {
      const totals = s.totals as { queries: number; wasted: number };
      console.log(`    → ${fmt(totals.queries)} queries, ${fmt(totals.wasted)} wasted on search paths, ${(s.findings as unknown[]).length} workloads with ndots findings`);
    }
    const zoom = await run("GET /api/dns 2 s zoom, width=1200", dnsGET, () => `/api/dns?since=${zoomAt(i, 0)}&until=${zoomAt(i, 2000)}&width=1200`);
    if (i === 0) console.log(`    → ${fmt(zoom.total as number)} queries, timeline ${(zoom.timeline as { mode: string }).mode}`);
    const both = await timed("page load: /api/dns + /summary together (one shared read)", () =>
      Promise.all([get(dnsGET, `/api/dns?since=${since}&until=${until(shift)}&width=1200`), get(summaryGET, `/api/dns/summary?since=${since}&until=${until(shift)}`)]),
    );
    shift++;
    (results["page load (both, shared read)"] ??= []).push(both.ms);
  }
  // a live page: new queries arrive between refreshes, so the newest minute changed and the
  // pairing and grouping must be done again (the other minutes' messages stay cached)
  const rt = await getRuntime();
  const repo = rt.repos.dns;
  let extraAt = START_NS + BigInt(SPAN_MS - 5_000) * 1_000_000n;
  for (let i = 0; i < 4; i++) {
    const rows: FlowRow[] = [];
    for (let k = 0; k < 20; k++) {
      const c = pick(CLIENTS);
      const s = pick(SERVERS);
      extraAt += 10_000_000n;
      rows.push(splitRow(flowBytes(c, s, extraAt, `svc-1.${c.ns}.svc.cluster.local.`, "A", null, 30000 + k)));
      rows.push(splitRow(flowBytes(c, s, extraAt + 1_000_000n, `svc-1.${c.ns}.svc.cluster.local.`, "A", { rcode: 0, ips: ["10.96.1.1"], latencyNs: 1_000_000n }, 30000 + k)));
    }
    await rt.writer.write(rows);
    const built = repo.basesBuilt;
    const both = await timed("live refresh: 20 new queries, then /api/dns + /summary", () =>
      Promise.all([get(dnsGET, `/api/dns?since=${since}&until=${until(shift)}&width=1200`), get(summaryGET, `/api/dns/summary?since=${since}&until=${until(shift)}`)]),
    );
    shift++;
    if (repo.basesBuilt !== built + 1) throw new Error(`expected one new base analysis, got ${repo.basesBuilt - built}`);
    (results["live refresh (new data, both)"] ??= []).push(both.ms);
  }
  // a filter change on the same data: the base is reused, only the view and the bodies are new
  for (let i = 0; i < 4; i++) {
    const built = repo.basesBuilt;
    await run("filter change: workload + status, same data", dnsGET, () => `/api/dns?since=${since}&until=${until(shift++)}&width=1200&workload=team-${i}/svc-${i}&status=NXDOMAIN`);
    if (repo.basesBuilt !== built) throw new Error("a filter change analysed the data again");
  }

  // where the time of a request that must analyse again goes
  console.log("\nbreakdown of one whole-range analysis (messages cached):");
  const parsed = parseDnsQuery(new URLSearchParams({ since, until: until(shift++), width: "1200" }), "list");
  if (!parsed.ok) throw new Error(parsed.error);
  const { c0: m0, c1: m1 } = paddedMinutes(parsed.query.sinceNs, parsed.query.untilNs, parsed.query.timeoutMs);
  await timed("per-minute DNS row counts, SQL (is the data unchanged?)", () => new DnsMinuteCounts(rt.db).counts(m0, m1));
  await timed("per-minute DNS row counts, remembered (the writer wrote elsewhere)", () => repo.chunkCounts(m0, m1));
  const messages = await timed("counts + cached messages of the minutes read", () => repo.messagesOfMinutes(m0, m1));
  const base = await timed("pairing + search-path grouping (base analysis)", async () => baseAnalysis(messages.value, { horizonMs: Date.now(), timeoutMs: parsed.query.timeoutMs }));
  const view = await timed("view: range, filters, lookups of the kept queries", async () =>
    selectView(base.value, { sinceMs: Number(parsed.query.sinceNs / 1_000_000n), untilMs: Number(parsed.query.untilNs / 1_000_000n), workloads: [], search: null, statuses: [] }),
  );
  await timed("list body (timeline buckets, 100 queries with answers)", async () => dnsListBody(view.value, parsed.query, () => null));
  await timed("summary body (series, servers, failing names, findings)", async () => dnsSummaryBody(view.value, { ...parsed.query, buckets: 60 }));
  console.log(`  (${fmt(messages.value.length)} messages → ${fmt(base.value.queries.length)} queries, ${fmt(base.value.lookups.length)} lookups)`);

  if (process.env.BENCH_DNS_BROWSER !== "0") await browserTimings(since, until(shift++));

  console.log("\nsummary (first call, then the median of calls 2–4; targets: same data < 300 ms, new data < 1 s):");
  for (const [name, ms] of Object.entries(results)) {
    const warm = [...ms.slice(1)].sort((a, b) => a - b)[1];
    console.log(`  ${name.padEnd(58)} first ${ms[0].toFixed(0).padStart(5)} ms  then ${warm.toFixed(0).padStart(5)} ms${sizes[name] ? `  ${(sizes[name] / 1024).toFixed(0)} KiB` : ""}`);
  }
  console.log(`peak RSS ${mb(peakRss)}`);

  await (await getRuntime()).shutdown();
  await relay.stop();
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  await admin.end();
  clearInterval(sampler);
}

/**
 * The page itself on these 100k queries: `npm start` on the bench schema (an idle Relay) and
 * Debian's Chromium, timed from navigation to the drawn timeline and findings, then a brush.
 */
async function browserTimings(since: string, until: string): Promise<void> {
  console.log("\nthe /dns page in Chromium (npm start on this schema):");
  const relay = await startRelayServer({ announceNodes: false });
  const app = await startApp({ DATABASE_URL: url, HUBBLE_SERVER: relay.address, FLOWLENS_RETENTION: "off" });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.addInitScript(() => {
      const w = window as unknown as { __longest: number };
      w.__longest = 0;
      new PerformanceObserver((l) => l.getEntries().forEach((e) => (w.__longest = Math.max(w.__longest, e.duration)))).observe({ type: "longtask" });
    });
    const longest = () => page.evaluate(() => (window as unknown as { __longest: number }).__longest);
    // how long the API took for the requests of each step (request sent → response ended)
    let api: string[] = [];
    let stepStart = Date.now();
    page.on("requestfinished", (r) => {
      const u = new URL(r.url());
      if (!u.pathname.startsWith("/api/dns")) return;
      const t = r.timing();
      api.push(`${u.pathname.replace("/api/", "")} ${Math.round(t.responseEnd - t.requestStart)} (sent at +${Math.round(t.startTime + t.requestStart - stepStart)})`);
    });
    const apiTimes = () => {
      const out = api.length ? `; API ms: ${api.join(", ")}` : "";
      api = [];
      return out;
    };
    const open = async (what: string) => {
      stepStart = Date.now();
      const t0 = performance.now();
      await page.goto(`${app.url}/dns?since=${since}&until=${until}`);
      await page.locator('[data-testid="dns-timeline"][data-mode="buckets"] [data-testid="dns-cell"]').first().waitFor({ timeout: 120_000 });
      await page.getByTestId("dns-finding").first().waitFor({ timeout: 120_000 });
      const ms = performance.now() - t0;
      console.log(`  ${what.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  (longest task ${(await longest()).toFixed(0)} ms, ${await page.getByTestId("dns-cell").count()} cells${apiTimes()})`);
    };
    await open("open /dns on the whole range (server caches cold)");
    await open("open /dns on the whole range again (reload)");
    // brush 1 % of the plot: ~6 s, few enough queries to come back as marks
    const plot = (await page.getByTestId("dns-brush").boundingBox())!;
    stepStart = Date.now();
    const t0 = performance.now();
    await page.mouse.move(plot.x + plot.width * 0.5, plot.y + 5);
    await page.mouse.down();
    await page.mouse.move(plot.x + plot.width * 0.51, plot.y + 5, { steps: 3 });
    await page.mouse.up();
    await page.locator('[data-testid="dns-timeline"][data-mode="marks"] [data-testid="dns-mark"]').first().waitFor({ timeout: 60_000 });
    const ms = performance.now() - t0;
    console.log(`  ${"brush ~6 s → every query drawn as a mark".padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  (longest task ${(await longest()).toFixed(0)} ms, ${await page.getByTestId("dns-mark").count()} marks${apiTimes()})`);
    // the server's memory with this range's messages and analyses cached (prom-client's own gauge)
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    const rss = Number(/^flowlens_process_process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1] ?? NaN);
    console.log(`  ${"server RSS after these (messages + analyses cached)".padEnd(58)} ${mb(rss).padStart(9)}`);
  } finally {
    await browser.close();
    await app.stop();
    await relay.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * npm run bench:map — prints figures, asserts nothing.
 * Renders the real /map page (npm start, Debian's Chromium) with a synthetic 1,000-node /
 * 5,000-edge graph served in place of /api/graph (Playwright route interception, so the page's own
 * code — cytoscape instance, two-level layout, incremental sync, styles — is what gets timed).
 * Prints: time from navigation to the map's elements being in cytoscape, to the first painted
 * frame after that, to a settled layout (no node moved for 1 s), a zoom/pan frame, an incremental
 * update (counts of 500 edges change), and for comparison one whole-graph fcose run.
 * Graph: 50 namespaces, power-law degrees with a DNS-like hub, ~25 % cross-namespace edges, 5 %
 * all-dropped and 10 % mixed edges. Env: BENCH_MAP_NODES, BENCH_MAP_EDGES, BENCH_MAP_RUNS.
 */
import type { Page } from "playwright-core";
import type { GraphEdge, GraphNode, GraphResponse } from "@/server/domain/graph-types";
import { launchBrowser, startApp } from "../tests/e2e/app-server";

const NODES = Number(process.env.BENCH_MAP_NODES ?? 1000);
const EDGES = Number(process.env.BENCH_MAP_EDGES ?? 5000);
const RUNS = Number(process.env.BENCH_MAP_RUNS ?? 3);
const NAMESPACES = 50;

let seed = 5;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

function synthetic(bump = 0): GraphResponse {
  seed = 5;
  const nodes: GraphNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const ns = `team-${i % NAMESPACES}`;
    nodes.push({ id: `w:default/${ns}/svc-${i}`, kind: "workload", label: `svc-${i}`, namespace: ns, cluster: "default", workload: `Deployment/svc-${i}` });
  }
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  while (edges.length < EDGES) {
    const a = Math.floor(rnd() * NODES);
    // a quarter of edges cross namespaces; the rest stay inside the client's namespace; servers skewed to hubs
    const cross = rnd() < 0.25;
    let b = cross ? Math.floor(NODES * rnd() ** 2.5) : (a % NAMESPACES) + NAMESPACES * Math.floor((NODES / NAMESPACES) * rnd() ** 2);
    b = Math.min(NODES - 1, b);
    if (a === b) continue;
    const id = `${nodes[a].id}->${nodes[b].id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const r = rnd();
    const state = r < 0.05 ? "dropped" : r < 0.15 ? "mixed" : "forwarded";
    const flows = Math.floor(10 + 10_000 * rnd() ** 4) + (edges.length < 500 ? bump : 0);
    edges.push({
      id,
      source: nodes[a].id,
      target: nodes[b].id,
      flows,
      replies: Math.floor(flows / 2),
      verdicts: { forwarded: state === "dropped" ? 0 : flows, dropped: state === "forwarded" ? 0 : 5, audit: 0, error: 0, other: 0 },
      delivered: state === "dropped" ? 0 : flows,
      state,
      ports: [{ protocol: "TCP", port: 8000 + (b % 100), flows }],
      l7: { httpRequests: 0, httpStatus: [0, 0, 0, 0, 0, 0], dnsRequests: 0, dnsRcodes: [0, 0, 0, 0, 0, 0, 0], p50Ms: null, p95Ms: null, latencySamples: 0 },
      dropReasons: {},
      allowedBy: [],
      deniedBy: [],
      firstSeen: "1763899200000000000",
      lastSeen: "1763902800000000000",
    });
  }
  return {
    nodes,
    edges,
    hidden: { flows: 0, nodes: 0 },
    window: { sinceNs: "1763899200000000000", untilNs: "1763902800000000000", live: false },
    totals: { flows: edges.reduce((s, e) => s + e.flows, 0), nodes: NODES, edges: EDGES },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function renderOnce(page: Page, url: string): Promise<Record<string, number>> {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction((n) => ((window as unknown as { __flowlensMap?: { nodes(): { length: number } } }).__flowlensMap?.nodes().length ?? 0) >= n, NODES, { timeout: 300_000, polling: 50 });
  const inCy = Date.now() - t0;
  // two animation frames after the elements are in: the first frame that shows them
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const painted = Date.now() - t0;
  // settled: no node moved for a full second
  const settledAt = await page.evaluate(async () => {
    type Cy = { nodes(): { map<T>(f: (n: { position(): { x: number; y: number } }) => T): T[] } };
    const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
    const snap = () => cy.nodes().map((n) => `${Math.round(n.position().x)},${Math.round(n.position().y)}`).join(";");
    let last = snap();
    let stableSince = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const now = snap();
      if (now !== last) {
        last = now;
        stableSince = performance.now();
      } else if (performance.now() - stableSince >= 1000) return stableSince;
    }
  });
  const navStart = await page.evaluate(() => performance.timeOrigin);
  const marks = await page.evaluate(() => {
    const last = (n: string) => performance.getEntriesByName(n).slice(-1)[0]?.startTime ?? NaN;
    return { layout: last("map:layout-end") - last("map:layout-start"), sync: last("map:sync-end") - last("map:layout-end"), paint: last("map:painted") - last("map:sync-end") };
  });
  const settled = Math.max(painted, Math.round(navStart + settledAt - t0));
  // one zoom/pan frame
  const zoomMs = await page.evaluate(async () => {
    type Cy = { zoom(z?: number): number; panBy(p: { x: number; y: number }): void };
    const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
    const t = performance.now();
    cy.zoom(cy.zoom() * 1.3);
    cy.panBy({ x: 40, y: 20 });
    await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
    return performance.now() - t;
  });
  return { inCy, painted, settled, zoomMs, layoutMs: marks.layout, syncMs: marks.sync, paintMs: marks.paint };
}

async function main(): Promise<void> {
  const app = await startApp();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a __name helper that evaluate()d callbacks would miss
    await page.addInitScript("window.__name = (f) => f;");
    let body = JSON.stringify(synthetic());
    await page.route("**/api/graph*", (route) => route.fulfill({ status: 200, contentType: "application/json", body }));
    // a fixed range: no polling while timing the first render
    const url = `${app.url}/map?since=2026-11-23T12:00:00Z&until=2026-11-23T13:00:00Z`;
    console.log(`bench:map — /map in Chromium (software canvas, 2 shared cores): ${NODES.toLocaleString("en-US")} nodes / ${EDGES.toLocaleString("en-US")} edges in ${NAMESPACES} namespaces`);
    const runs: Record<string, number>[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await renderOnce(page, url));
    const m = (k: string) => median(runs.map((r) => r[k]));
    console.log(`  elements in cytoscape (fetch + two-level layout + sync): ${m("inCy")} ms (median of ${RUNS})`);
    console.log(`  first paint with the map:                               ${m("painted")} ms`);
    console.log(`  settled layout (no node moved for 1 s):                 ${m("settled")} ms (positions are final at first paint: no animation)`);
    console.log(`    of which two-level layout ${m("layoutMs").toFixed(0)} ms, adding elements ${m("syncMs").toFixed(0)} ms, first render ${m("paintMs").toFixed(0)} ms`);
    console.log(`  zoom/pan frame (textureOnViewport):                     ${m("zoomMs").toFixed(0)} ms`);

    // incremental update: the same page refetches; 500 edges' counts change
    body = JSON.stringify(synthetic(1000));
    const upd = await page.evaluate(async () => {
      type Cy = { nodes(): { length: number } };
      const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
      const t = performance.now();
      const r = await fetch("/api/graph?x=1");
      void (await r.text());
      return { fetchMs: performance.now() - t, nodes: cy.nodes().length };
    });
    // trigger the page's own refetch path: switching to live polls /api/graph (served by the route)
    const t1 = Date.now();
    await page.getByTestId("map-window-1h").click();
    await page.waitForFunction(() => {
      type Cy = { edges(): { filter(f: (e: { data(k: string): number }) => boolean): { length: number } } };
      const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
      return cy.edges().filter((e) => e.data("flows") > 1000).length > 0;
    }, null, { timeout: 120_000, polling: 20 });
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    console.log(`  incremental update of 500 edges (refetch → repainted):  ${Date.now() - t1} ms (response transfer alone ${upd.fetchMs.toFixed(0)} ms)`);

    // comparison: one whole-graph fcose over the compound graph (what the two-level layout avoids)
    const fcose = await page.evaluate(async () => {
      type Cy = { layout(o: Record<string, unknown>): { run(): void; one(e: string, f: () => void): void } };
      const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
      const t = performance.now();
      await new Promise<void>((r) => {
        const l = cy.layout({ name: "fcose", quality: "default", animate: false, randomize: true });
        l.one("layoutstop", () => r());
        l.run();
      });
      await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      return performance.now() - t;
    });
    console.log(`  for comparison, one whole-graph fcose (compound):       ${fcose.toFixed(0)} ms`);
  } finally {
    await browser.close();
    await app.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * npm run bench:map — prints figures, asserts nothing.
 * Renders the real /map page (npm start, Debian's Chromium) with a synthetic 1,000-node /
 * 5,000-edge graph served in place of /api/graph (Playwright route interception, so the page's own
 * code — data fetch and parse, namespace view, two-level layout, incremental sync, styles,
 * cytoscape's painting — is what gets timed).
 * For the namespace view the page opens on, and for the every-workload view (`view=workloads`):
 *  - where the time to the first frame goes (page load, /api/graph answered, layout, adding
 *    elements, first render) and the first paint, wall clock from navigation;
 *  - settled layout (no node moved for 1 s);
 *  - zoom/pan: frames while the user wheels and drags (cytoscape draws a texture of the graph
 *    then, textureOnViewport), and the full redraw when the gesture ends.
 * Then on the namespace view: an incremental live update (counts of 500 edges change: main-thread
 * time, longest task, nodes moved) and expanding one namespace by double-click.
 * Graph: bench/map-graph.ts. Env: BENCH_MAP_NODES, BENCH_MAP_EDGES, BENCH_MAP_RUNS.
 */
import type { Page } from "playwright-core";
import path from "node:path";
import { OUTPUT, launchBrowser, startApp } from "../tests/e2e/app-server";
import { syntheticGraph } from "./map-graph";

const SHAPE = { nodes: Number(process.env.BENCH_MAP_NODES ?? 1000), edges: Number(process.env.BENCH_MAP_EDGES ?? 5000), namespaces: 50 };
const RUNS = Number(process.env.BENCH_MAP_RUNS ?? 3);

type Cy = {
  nodes(sel?: string): { length: number; map<T>(f: (n: CyNode) => T): T[] } & CyNode[];
  edges(): { length: number };
  zoom(z?: number): number;
  panBy(p: { x: number; y: number }): void;
  getElementById(id: string): CyNode;
};
type CyNode = { id(): string; position(): { x: number; y: number }; renderedPosition(): { x: number; y: number }; data(k: string): unknown };
declare global {
  interface Window {
    __flowlensMap?: Cy;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const twoFrames = (page: Page) => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));

async function renderOnce(page: Page, url: string): Promise<Record<string, number>> {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(() => (window.__flowlensMap?.nodes().length ?? 0) > 0 && performance.getEntriesByName("map:painted").length > 0, null, {
    timeout: 300_000,
    polling: 50,
  });
  await twoFrames(page);
  const painted = Date.now() - t0;
  // settled: no node moved for a full second
  const settledAt = await page.evaluate(async () => {
    const cy = window.__flowlensMap!;
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
  const settled = Math.max(painted, Math.round(navStart + settledAt - t0));
  // milestones since navigation start, from the page's own clock and marks
  const at = await page.evaluate(() => {
    const first = (n: string) => performance.getEntriesByName(n)[0]?.startTime ?? NaN;
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const api = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/graph")) as PerformanceResourceTiming | undefined;
    const cy = window.__flowlensMap!;
    return {
      dcl: nav.domContentLoadedEventEnd,
      apiStart: api?.startTime ?? NaN,
      apiEnd: api?.responseEnd ?? NaN,
      layoutStart: first("map:layout-start"),
      layoutEnd: first("map:layout-end"),
      syncEnd: first("map:sync-end"),
      paint: first("map:painted"),
      elements: cy.nodes().length + cy.edges().length,
    };
  });
  const frames = await zoomPan(page);
  return { painted, settled, ...at, ...frames };
}

/** frame times while wheeling and dragging over the canvas, and the redraw after the gesture */
async function zoomPan(page: Page): Promise<Record<string, number>> {
  const box = (await page.getByTestId("map-canvas").boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __frameLoop: boolean };
    w.__frames = [];
    w.__frameLoop = true;
    let last = performance.now();
    const tick = (t: number) => {
      w.__frames.push(t - last);
      last = t;
      if (w.__frameLoop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 6; i++) {
    await page.mouse.wheel(0, -120);
    await page.waitForTimeout(30);
  }
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    await page.mouse.move(cx + i * 15, cy + i * 8);
    await page.waitForTimeout(30);
  }
  await page.mouse.up();
  const gesture = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __frameLoop: boolean };
    w.__frameLoop = false;
    return w.__frames.slice(1);
  });
  // the full redraw at the new viewport, as when the gesture ends (no texture)
  const redrawMs = await page.evaluate(async () => {
    const cy = window.__flowlensMap!;
    const t = performance.now();
    cy.zoom(cy.zoom() * 1.1);
    await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
    return performance.now() - t;
  });
  // the first frame draws the texture; the ones after it are what moving feels like
  return { frameFirst: gesture[0] ?? NaN, frameMedian: median(gesture.slice(1)), frameMax: Math.max(...gesture.slice(1)), redrawMs };
}

function printRender(title: string, runs: Record<string, number>[]): void {
  const m = (k: string) => median(runs.map((r) => r[k]));
  const f = (k: string) => `${m(k).toFixed(0)} ms`;
  console.log(`\n  ${title} — ${m("elements").toLocaleString("en-US")} elements on the canvas (median of ${runs.length})`);
  console.log(`    first paint with the map (wall clock from navigation):  ${m("painted")} ms`);
  console.log(`    settled layout (no node moved for 1 s):                 ${m("settled")} ms`);
  console.log(
    `    where it goes, ms since navigation start: page DOM ready ${f("dcl")}; /api/graph asked ${f("apiStart")}, answered ${f("apiEnd")};` +
      ` layout ${f("layoutStart")}→${f("layoutEnd")}; elements added ${f("syncEnd")}; first render ${f("paint")}`,
  );
  console.log(
    `    zoom/pan frames (wheel + drag, textureOnViewport): first ${f("frameFirst")} (draws the texture), then median ${f("frameMedian")}, max ${f("frameMax")}`,
  );
  console.log(`    full redraw at a new zoom (as after a gesture):         ${f("redrawMs")}`);
}

async function positions(page: Page): Promise<Map<string, string>> {
  const list = await page.evaluate(() => window.__flowlensMap!.nodes().map((n) => [n.id(), `${Math.round(n.position().x)},${Math.round(n.position().y)}`] as [string, string]));
  return new Map(list);
}

function moved(before: Map<string, string>, after: Map<string, string>, except?: string): number {
  let n = 0;
  for (const [id, p] of before) if (id !== except && after.has(id) && after.get(id) !== p) n++;
  return n;
}

/** main-thread cost of the next sync + paint, and the longest task meanwhile */
async function watchNextSync(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __syncs: number; __longest: number; __obs?: PerformanceObserver };
    w.__syncs = performance.getEntriesByName("map:sync-end").length;
    w.__longest = 0;
    w.__obs?.disconnect();
    w.__obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => (w.__longest = Math.max(w.__longest, e.duration))));
    w.__obs.observe({ type: "longtask" });
  });
}

async function nextSync(page: Page): Promise<{ syncMs: number; paintMs: number; longest: number }> {
  await page.waitForFunction(() => performance.getEntriesByName("map:sync-end").length > (window as unknown as { __syncs: number }).__syncs, null, { timeout: 120_000, polling: 20 });
  await twoFrames(page);
  await page.waitForTimeout(300); // let the long-task observer report
  return page.evaluate(() => {
    const last = (n: string) => performance.getEntriesByName(n).slice(-1)[0]?.startTime ?? NaN;
    const w = window as unknown as { __longest: number };
    return { syncMs: last("map:sync-end") - last("map:layout-start"), paintMs: last("map:painted") - last("map:sync-end"), longest: w.__longest };
  });
}

async function main(): Promise<void> {
  // the browser first: if it cannot start, no server is left running
  const browser = await launchBrowser();
  const app = await startApp().catch(async (e) => {
    await browser.close();
    throw e;
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a __name helper that evaluate()d callbacks would miss
    await page.addInitScript("window.__name = (f) => f;");
    let body = JSON.stringify(syntheticGraph(SHAPE));
    // a selection asks for its series alone (only=series): a small answer, as the server gives
    const series = JSON.stringify({ series: { startNs: "0", bucketNs: "60000000000", counts: Array.from({ length: 60 }, (_, i) => 100 + (i % 7)) } });
    await page.route("**/api/graph*", (route) =>
      route.fulfill({ status: 200, contentType: "application/json", body: new URL(route.request().url()).searchParams.get("only") === "series" ? series : body }),
    );
    // a fixed range: no polling while timing the first render
    const url = `${app.url}/map?since=2026-11-23T12:00:00Z&until=2026-11-23T13:00:00Z`;
    console.log(
      `bench:map — /map in Chromium (software canvas, 2 shared cores): ${SHAPE.nodes.toLocaleString("en-US")} workloads / ` +
        `${SHAPE.edges.toLocaleString("en-US")} edges in ${SHAPE.namespaces} namespaces; /api/graph answer ${(body.length / 1e6).toFixed(1)} MB`,
    );

    const full: Record<string, number>[] = [];
    for (let i = 0; i < RUNS; i++) full.push(await renderOnce(page, `${url}&view=workloads`));
    printRender("every workload (view=workloads, the old view)", full);

    const overview: Record<string, number>[] = [];
    for (let i = 0; i < RUNS; i++) overview.push(await renderOnce(page, url));
    printRender("namespace view (what the page opens on at this size)", overview);

    // expanding one namespace: double-click the busiest collapsed namespace
    await page.goto(url);
    await page.waitForFunction(() => performance.getEntriesByName("map:painted").length > 0, null, { timeout: 120_000 });
    await twoFrames(page);
    const target = await page.evaluate(() => {
      const cy = window.__flowlensMap!;
      const ns = cy.nodes("[?agg]");
      const pick = ns[0];
      const p = pick.renderedPosition();
      const box = document.querySelector("[data-testid=map-canvas]")!.getBoundingClientRect();
      return { id: pick.id(), x: box.left + p.x, y: box.top + p.y, nodes: cy.nodes().length };
    });
    let before = await positions(page);
    await watchNextSync(page);
    const tx = Date.now();
    await page.mouse.dblclick(target.x, target.y);
    const exp = await nextSync(page);
    const expandWall = Date.now() - tx;
    let after = await positions(page);
    const shot = path.join(OUTPUT, "bench-map-overview-expanded.png");
    await page.screenshot({ path: shot });
    console.log(
      `\n  expanding one namespace (${target.id}, double-click → painted): ${expandWall} ms wall clock; sync ${exp.syncMs.toFixed(0)} ms + repaint ${exp.paintMs.toFixed(0)} ms,` +
        ` longest main-thread task ${exp.longest.toFixed(0)} ms; ${after.size - before.size} nodes added, ${moved(before, after, target.id)} others moved (screenshot ${path.relative(process.cwd(), shot)})`,
    );

    // incremental update: switching to live polls /api/graph (served by the route); 500 edges' counts change
    body = JSON.stringify(syntheticGraph(SHAPE, 1000));
    before = await positions(page);
    await watchNextSync(page);
    const t1 = Date.now();
    await page.getByTestId("map-window-1h").click();
    const upd = await nextSync(page);
    const wall = Date.now() - t1;
    after = await positions(page);
    console.log(
      `  incremental update, counts of 500 edges (click → refetch → repainted): ${wall} ms wall clock; sync ${upd.syncMs.toFixed(0)} ms + repaint ${upd.paintMs.toFixed(0)} ms,` +
        ` longest main-thread task ${upd.longest.toFixed(0)} ms (includes parsing the ${(body.length / 1e6).toFixed(1)} MB answer); ${moved(before, after)} nodes moved`,
    );
  } finally {
    await browser.close();
    await app.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

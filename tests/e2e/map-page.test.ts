/**
 * /map in Chromium on `npm start` with the demo cluster: the shop's frontend → backend → database
 * path is on the map, the misconfigured frontend → database edge is drawn in the drop colour,
 * clicking an edge opens its details with its stored flows, and a screenshot is saved.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { OUTPUT, useChromiumApp, waitForJson } from "./app-server";

const FE = "w:default/shop/frontend";
const BE = "w:default/shop/backend";
const DB = "w:default/shop/database";

describe("service map in Chromium", () => {
  // the demo back-fills ten minutes of history: wait until the shop path and a drop are stored
  const ui = useChromiumApp({ width: 1440, height: 900 }, async () => {
    await waitForJson<GraphResponse>(
      `${ui.url}/api/graph?window=15m`,
      (g) => g.edges.some((e) => e.id === `${FE}->${BE}`) && g.edges.some((e) => e.id === `${BE}->${DB}`) && g.edges.some((e) => e.id === `${FE}->${DB}`),
      "the shop path in /api/graph",
    );
  });

  it("answers 400 naming the parameter for bad input", async () => {
    const r = await fetch(`${ui.url}/api/graph?window=soon`);
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ parameter: "window" });
  });

  it("draws the shop path with the dropped edge in the drop colour", async () => {
    await ui.page.goto(`${ui.url}/map?window=15m`);
    await ui.page.getByTestId("map-canvas").waitFor();
    await ui.page.waitForFunction(() => Number(document.querySelector("[data-testid=map-canvas]")?.getAttribute("data-rendered") ?? 0) > 3, null, { timeout: 60_000 });
    const seen = await ui.page.evaluate(
      ({ fe, be, db }) => {
        type Cy = { getElementById(id: string): { empty(): boolean; data(k: string): unknown; style(k: string): string; parent(): { id(): string } } };
        const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
        const edge = (a: string, b: string) => cy.getElementById(`${a}->${b}`);
        const bad = getComputedStyle(document.querySelector("[data-testid=map-canvas]")!).getPropertyValue("--bad").trim();
        const probe = document.createElement("span");
        probe.style.color = bad;
        document.body.appendChild(probe);
        const badRgb = getComputedStyle(probe).color.replace(/\s/g, "");
        probe.remove();
        return {
          feBe: !edge(fe, be).empty(),
          beDb: !edge(be, db).empty(),
          feDbState: edge(fe, db).data("state"),
          feDbColour: edge(fe, db).style("line-color").replace(/\s/g, ""),
          beDbColour: edge(be, db).style("line-color").replace(/\s/g, ""),
          badRgb,
          shopBox: cy.getElementById(fe).parent().id(),
        };
      },
      { fe: FE, be: BE, db: DB },
    );
    expect(seen.feBe).toBe(true);
    expect(seen.beDb).toBe(true);
    expect(seen.shopBox).toBe("ns:default/shop");
    expect(seen.feDbState).toBe("dropped");
    expect(seen.feDbColour).toBe(seen.badRgb);
    expect(seen.beDbColour).not.toBe(seen.badRgb);
    // live: the page re-reads the window every second, so the demo's new flows show up by themselves
    const before = await ui.page.getByTestId("map-totals").innerText();
    expect(before).toMatch(/edges/);
    await expect.poll(() => ui.page.getByTestId("map-totals").innerText(), { timeout: 10_000, interval: 250 }).not.toBe(before);
  });

  it("opens an edge's details and flows on click, and saves a screenshot", async () => {
    const at = await ui.page.evaluate((id) => {
      type Cy = { getElementById(id: string): { renderedMidpoint(): { x: number; y: number } } };
      const cy = (window as unknown as { __flowlensMap: Cy }).__flowlensMap;
      const box = document.querySelector("[data-testid=map-canvas]")!.getBoundingClientRect();
      const m = cy.getElementById(id).renderedMidpoint();
      return { x: box.left + m.x, y: box.top + m.y };
    }, `${FE}->${DB}`);
    await ui.page.mouse.click(at.x, at.y);
    const panel = ui.page.getByTestId("map-panel");
    await panel.waitFor({ timeout: 15_000 });
    expect(await ui.page.getByTestId("map-panel-title").innerText()).toMatch(/frontend\s*→\s*database/);
    expect(await ui.page.getByTestId("map-panel-state").innerText()).toMatch(/all dropped/);
    await ui.page.getByTestId("map-panel-flow").first().waitFor({ timeout: 30_000 });
    const first = await ui.page.getByTestId("map-panel-flow").first().innerText();
    expect(first).toMatch(/DROPPED/);
    expect(new URL(ui.page.url()).searchParams.get("sel")).toBe(`${FE}->${DB}`);
    const href = await ui.page.getByTestId("map-panel-flows-link").getAttribute("href");
    expect(href).toContain("from-pod=shop%2Ffrontend-");
    expect(href).toContain("to-pod=shop%2Fdatabase-");
    // the edge's flows/s, asked for on its own (the graph is not fetched again for a selection)
    await expect.poll(() => ui.page.getByTestId("map-panel-rate").innerText(), { timeout: 30_000 }).toMatch(/peak [\d.]+\/s/);
    await ui.page.getByTestId("map-sparkline").waitFor();
    await ui.page.screenshot({ path: path.join(OUTPUT, "map.png"), fullPage: false });
  });

  it("a selected namespace shows its flows/s too", async () => {
    await ui.page.goto(`${ui.url}/map?window=15m&sel=${encodeURIComponent("ns:default/shop")}`);
    await ui.page.getByTestId("map-panel").waitFor({ timeout: 30_000 });
    expect(await ui.page.getByTestId("map-panel-title").innerText()).toBe("shop");
    await expect.poll(() => ui.page.getByTestId("map-panel-rate").innerText(), { timeout: 30_000 }).toMatch(/peak [\d.]+\/s/);
  });
});

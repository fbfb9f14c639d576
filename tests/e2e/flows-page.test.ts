/**
 * The README's start command in a real browser: the demo cluster's flows reach /flows, a verdict
 * filter narrows them to drops, a drop's details show the policy, and SIGTERM stops cleanly.
 */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowPage, StatusReport } from "@/server/domain/flow-item";
import { OUTPUT, launchBrowser, startApp, waitForJson, type AppServer } from "./app-server";

describe("flow explorer in Chromium", () => {
  let app: AppServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = await startApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // the demo back-fills ten minutes of history, drops included
    await waitForJson<FlowPage>(`${app.url}/api/flows?verdict=DROPPED&limit=1`, (p) => p.flows.length > 0, "stored drops");
  });

  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
  });

  it("shows the relay state and stored flows in the status header", async () => {
    const status = await waitForJson<StatusReport>(`${app.url}/api/status`, (s) => s.storage.flows > 0, "flows in status");
    expect(status.relay.state).toBe("demo");
    expect(status.storage.kind).toBe("embedded");
    await page.goto(`${app.url}/flows`);
    await page.getByTestId("status-header").waitFor();
    await expect.poll(() => page.getByTestId("relay-state").innerText(), { timeout: 20_000 }).toMatch(/demo/i);
    await page.getByTestId("flow-row").first().waitFor({ timeout: 30_000 });
  });

  it("filters to DROPPED, opens a drop's details with its policy, and saves a screenshot", async () => {
    await page.goto(`${app.url}/flows`);
    await page.getByTestId("filter-bar").waitFor();
    const verdict = page.getByTestId("filter-verdict");
    const option = page.getByTestId("verdict-DROPPED");
    if ((await option.count()) > 0) await option.first().click();
    else await verdict.selectOption("DROPPED");
    await page.getByTestId("filter-apply").click();
    await expect.poll(() => new URL(page.url()).searchParams.getAll("verdict").join(","), { timeout: 10_000 }).toContain("DROPPED");
    const rows = page.getByTestId("flow-row");
    await rows.first().waitFor({ timeout: 30_000 });
    const n = Math.min(await rows.count(), 10);
    expect(n).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) expect(await rows.nth(i).innerText()).toMatch(/DROPPED/);

    // a policy drop from the shop namespace carries the denying policy
    await page.goto(`${app.url}/flows?verdict=DROPPED&drop-reason-desc=POLICY_DENIED&namespace=shop`);
    await rows.first().waitFor({ timeout: 30_000 });
    await rows.first().click();
    const drawer = page.getByTestId("flow-drawer");
    await drawer.waitFor();
    expect(await drawer.innerText()).toMatch(/POLICY_DENIED/);
    expect(await page.getByTestId("drawer-policies").innerText()).toMatch(/default-deny|shop\//);
    await page.screenshot({ path: path.join(OUTPUT, "flows-dropped-drawer.png"), fullPage: false });
  });

  it("exports the current filter as JSONL in hubble's form", async () => {
    const r = await fetch(`${app.url}/api/flows?verdict=DROPPED&last=5&format=jsonl`);
    expect(r.status).toBe(200);
    const lines = (await r.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.flow.verdict).toBe("DROPPED");
  });
});

/**
 * The README's start command in a real browser: the demo cluster's flows reach /flows, a verdict
 * filter narrows them to drops, a drop's details show the policy, and SIGTERM stops cleanly.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { FlowPage, StatusReport } from "@/server/domain/flows/flow-item";
import { OUTPUT, useChromiumApp, waitForJson } from "./app-server";

describe("flow explorer in Chromium", () => {
  // the demo back-fills ten minutes of history once it has generated it (seconds after the start):
  // wait for the kind of drop the tests open, not just any flow the live traffic brought first
  const ui = useChromiumApp({ width: 1440, height: 900 }, async () => {
    await waitForJson<FlowPage>(
      `${ui.url}/api/flows?verdict=DROPPED&drop-reason-desc=POLICY_DENIED&namespace=shop&limit=1`,
      (p) => p.flows.length > 0,
      "a stored POLICY_DENIED drop in shop",
    );
  });

  it("shows the relay state and stored flows in the status header", async () => {
    const status = await waitForJson<StatusReport>(`${ui.url}/api/status`, (s) => s.storage.flows > 0, "flows in status");
    expect(status.relay.state).toBe("demo");
    expect(status.storage.kind).toBe("embedded");
    await ui.page.goto(`${ui.url}/flows`);
    await ui.page.getByTestId("status-header").waitFor();
    await expect.poll(() => ui.page.getByTestId("relay-state").innerText(), { timeout: 20_000 }).toMatch(/demo/i);
    await ui.page.getByTestId("flow-row").first().waitFor({ timeout: 30_000 });
  });

  it("filters to DROPPED, opens a drop's details with its policy, and saves a screenshot", async () => {
    await ui.page.goto(`${ui.url}/flows`);
    await ui.page.getByTestId("filter-bar").waitFor();
    const verdict = ui.page.getByTestId("filter-verdict");
    const option = ui.page.getByTestId("verdict-DROPPED");
    if ((await option.count()) > 0) await option.first().click();
    else await verdict.selectOption("DROPPED");
    await ui.page.getByTestId("filter-apply").click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.getAll("verdict").join(","), { timeout: 10_000 }).toContain("DROPPED");
    const rows = ui.page.getByTestId("flow-row");
    await rows.first().waitFor({ timeout: 30_000 });
    const n = Math.min(await rows.count(), 10);
    expect(n).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) expect(await rows.nth(i).innerText()).toMatch(/DROPPED/);

    // a policy drop from the shop namespace carries the denying policy
    await ui.page.goto(`${ui.url}/flows?verdict=DROPPED&drop-reason-desc=POLICY_DENIED&namespace=shop`);
    await rows.first().waitFor({ timeout: 30_000 });
    await rows.first().click();
    const drawer = ui.page.getByTestId("flow-drawer");
    await drawer.waitFor();
    expect(await drawer.innerText()).toMatch(/POLICY_DENIED/);
    expect(await ui.page.getByTestId("drawer-policies").innerText()).toMatch(/default-deny|shop\//);
    await ui.page.screenshot({ path: path.join(OUTPUT, "flows-dropped-drawer.png"), fullPage: false });
  });

  it("exports the current filter as JSONL in hubble's form", async () => {
    const r = await fetch(`${ui.url}/api/flows?verdict=DROPPED&last=5&format=jsonl`);
    expect(r.status).toBe(200);
    const lines = (await r.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.flow.verdict).toBe("DROPPED");
  });
});

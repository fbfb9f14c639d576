/**
 * /dns in Chromium on `npm start` with the demo cluster: the backend's ndots:5 NXDOMAIN burst for
 * api.stripe.com is found, explained with its fix, and drawn as one group on the timeline; hover
 * shows the query; a filter that matches nothing explains the Cilium DNS rule. Screenshot saved.
 * FLOWLENS_E2E_URL points the test at an already running Flowlens instead of starting one.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DnsSummaryBody } from "@/server/domain/dns/dns-response";
import { OUTPUT, useChromiumApp, waitForJson } from "./app-server";

describe("DNS page in Chromium", () => {
  // the demo back-fills ten minutes, with backend → api.stripe.com lookups through the search path
  const ui = useChromiumApp({ width: 1440, height: 1000 }, async () => {
    await waitForJson<DnsSummaryBody>(
      `${ui.url}/api/dns/summary?since=15m`,
      (s) => s.findings.some((f) => f.workload === "shop/backend" && f.names.some((n) => n.name === "api.stripe.com")),
      "an ndots finding for shop/backend",
    );
  });

  it("explains the backend's NXDOMAIN burst with the ndots fix", async () => {
    await ui.page.goto(`${ui.url}/dns`);
    const finding = ui.page.locator('[data-testid="dns-finding"][data-workload="shop/backend"]');
    await finding.waitFor({ timeout: 60_000 });
    const text = await finding.innerText();
    expect(text).toMatch(/NXDOMAIN tries of search domains \(ndots:5\)/);
    expect(text).toMatch(/api\.stripe\.com/);
    expect(await finding.getByTestId("dns-finding-fix").innerText()).toMatch(/ndots:1/);
    expect(text).toMatch(/value: "1"/);
    expect(Number((await ui.page.getByTestId("dns-wasted").innerText()).replace(/,/g, ""))).toBeGreaterThan(0);
    // the other panels are there and filled
    await ui.page.getByTestId("dns-top-failing").waitFor();
    expect(await ui.page.getByTestId("dns-top-failing").innerText()).toMatch(/search-path try for api\.stripe\.com/);
    expect(await ui.page.getByTestId("dns-server-row").count()).toBeGreaterThan(0);
    await ui.page.getByTestId("dns-rates").waitFor();
    await ui.page.screenshot({ path: path.join(OUTPUT, "dns-overview.png"), fullPage: true });
  });

  it("zooms to a burst: the walk is one group of NXDOMAIN marks, and hover shows the query", async () => {
    const finding = ui.page.locator('[data-testid="dns-finding"][data-workload="shop/backend"]');
    await finding.getByTestId("dns-finding-show").click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.get("workload"), { timeout: 20_000 }).toBe("shop/backend");
    expect(new URL(ui.page.url()).searchParams.get("until")).not.toBeNull();
    // the view changed without a server round trip; the title follows it
    await expect.poll(() => ui.page.title(), { timeout: 10_000 }).toMatch(/^DNS · shop\/backend — Flowlens$/);
    const timeline = ui.page.getByTestId("dns-timeline");
    // the previous view stays on screen until the zoomed one arrives: wait for backend's lane alone
    const laneNames = () => ui.page.$$eval('[data-testid="dns-lane"]', (els) => els.map((e) => e.lastChild?.textContent ?? ""));
    await expect.poll(laneNames, { timeout: 60_000 }).toEqual(["shop/backend"]);
    await expect.poll(() => timeline.getAttribute("data-mode"), { timeout: 30_000 }).toBe("marks");
    const burst = ui.page.locator('[data-testid="dns-burst"]').first();
    await burst.waitFor({ timeout: 30_000 });
    const nx = ui.page.locator('[data-testid="dns-mark"][data-status="NXDOMAIN"]');
    expect(await nx.count()).toBeGreaterThanOrEqual(3);

    const box = (await nx.first().boundingBox())!;
    await ui.page.mouse.move(box.x + Math.max(1, box.width / 2), box.y + box.height / 2);
    const tip = ui.page.getByTestId("dns-tooltip");
    await tip.waitFor({ timeout: 10_000 });
    const tipText = await tip.innerText();
    expect(tipText).toMatch(/NXDOMAIN/);
    expect(tipText).toMatch(/svc\.cluster\.local\./);
    await ui.page.screenshot({ path: path.join(OUTPUT, "dns.png"), fullPage: true });
  });

  it("a clicked mark keeps its card open, and its link shows the query's own flows in /flows", async () => {
    const nx = ui.page.locator('[data-testid="dns-mark"][data-status="NXDOMAIN"]').first();
    const box = (await nx.boundingBox())!;
    await ui.page.mouse.click(box.x + Math.max(1, box.width / 2), box.y + box.height / 2);
    const pinned = ui.page.getByTestId("dns-pinned");
    await pinned.waitFor({ timeout: 10_000 });
    const name = (await pinned.innerText()).match(/(\S+svc\.cluster\.local\.)/)![1];
    await ui.page.mouse.move(5, 5); // leaving the plot keeps a pinned card
    await ui.page.waitForTimeout(200);
    expect(await pinned.isVisible()).toBe(true);
    await ui.page.screenshot({ path: path.join(OUTPUT, "dns-pinned-query.png") });
    const back = ui.page.url();
    await pinned.getByTestId("dns-pinned-flows").click();
    await ui.page.waitForURL(/\/flows\?/, { timeout: 30_000 });
    expect(new URL(ui.page.url()).searchParams.getAll("uuid")).toHaveLength(2);
    const rows = ui.page.getByTestId("flow-row");
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    for (const text of await rows.allInnerTexts()) expect(text).toContain(name);
    await ui.page.getByTestId("flow-drawer").waitFor({ timeout: 30_000 });
    await ui.page.goto(back);
    await ui.page.locator('[data-testid="dns-mark"]').first().waitFor({ timeout: 30_000 });
  });

  it("brushing narrows the range in the URL", async () => {
    const before = new URL(ui.page.url()).searchParams;
    const span = Date.parse(before.get("until")!) - Date.parse(before.get("since")!);
    const plot = (await ui.page.getByTestId("dns-brush").boundingBox())!;
    await ui.page.mouse.move(plot.x + plot.width * 0.3, plot.y + 5);
    await ui.page.mouse.down();
    await ui.page.mouse.move(plot.x + plot.width * 0.6, plot.y + 5, { steps: 5 });
    await ui.page.mouse.up();
    await expect
      .poll(() => {
        const p = new URL(ui.page.url()).searchParams;
        return Date.parse(p.get("until")!) - Date.parse(p.get("since")!);
      }, { timeout: 20_000 })
      .toBeLessThan(span * 0.5);
  });

  it("follows the clock: new demo queries arrive without a reload, and Paused holds the range", async () => {
    await ui.page.goto(`${ui.url}/dns?since=5m`);
    const totals = ui.page.getByTestId("dns-totals");
    await totals.waitFor({ timeout: 60_000 });
    const updated = () => ui.page.getByTestId("dns-updated").innerText();
    const first = await updated();
    const queries = async () => Number((await totals.locator("dd").first().innerText()).replace(/,/g, ""));
    const before = await queries();
    await expect.poll(updated, { timeout: 20_000, interval: 500 }).not.toBe(first);
    await expect.poll(queries, { timeout: 30_000, interval: 1000 }).not.toBe(before);
    await ui.page.getByTestId("dns-live").click();
    await ui.page.waitForURL(/live=off/);
    expect(await ui.page.getByTestId("dns-live").innerText()).toMatch(/Paused/);
    await expect.poll(async () => ui.page.getByTestId("dns-refresh").isEnabled(), { timeout: 20_000 }).toBe(true);
    const held = await updated();
    await ui.page.waitForTimeout(7000);
    expect(await updated()).toBe(held);
  });

  it("offers the newest part of a range that holds too many DNS flows to analyse", async () => {
    // the server's answer for such a range (its 1M cap is out of the demo's reach), as /api/dns gives it
    const fitsSince = new Date(Date.now() - 5 * 60_000).toISOString();
    const tooMany = { error: "the range holds 3,200,000 DNS requests and responses; the DNS view pairs at most 1,000,000 at once — choose a shorter range", parameter: "since", fitsSince };
    await ui.page.route("**/api/dns**", (route) => route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify(tooMany) }));
    await ui.page.goto(`${ui.url}/dns?since=24h`);
    const banner = ui.page.getByTestId("dns-error");
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.innerText()).toMatch(/since: the range holds 3,200,000 DNS requests/);
    await ui.page.unrouteAll();
    await ui.page.getByTestId("dns-fit-range").click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.get("since"), { timeout: 10_000 }).toBe(fitsSince);
    await ui.page.getByTestId("dns-totals").waitFor({ timeout: 30_000 });
  });

  it("explains that DNS visibility needs a Cilium DNS rule when nothing matches", async () => {
    await ui.page.goto(`${ui.url}/dns?namespace=no-such-namespace`);
    const empty = ui.page.getByTestId("dns-empty");
    await empty.waitFor({ timeout: 60_000 });
    expect(await empty.innerText()).toMatch(/DNS proxy/);
    expect(await ui.page.getByTestId("dns-rule").innerText()).toMatch(/matchPattern: "\*"/);
  });
});

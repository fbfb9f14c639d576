/**
 * /drops and /policies in Chromium on the demo cluster (npm start, embedded store): the shop
 * namespace's default-deny drops appear with the policy name, a group shows its WHO…WHY and the
 * suggested rule, the audit export answers, and before/after at the demo's first policy change
 * (backend-to-db deleted) shows backend → database becoming dropped. Screenshots go to
 * test-output/e2e/.
 */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { OUTPUT, launchBrowser, startApp, waitForJson, type AppServer } from "./app-server";

interface Moment {
  atNs: string;
  gone: string[];
}

const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z");

describe("drops and policies in Chromium", () => {
  let app: AppServer;
  let browser: Browser;
  let page: Page;
  let deleted: Moment;

  beforeAll(async () => {
    app = await startApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // the demo back-fills ten minutes with a policy change every three: wait for "backend-to-db deleted"
    const r = await waitForJson<{ moments: Moment[] }>(
      `${app.url}/api/policies`,
      (p) => p.moments.some((m) => m.gone.includes("shop/backend-to-db")),
      "the demo's backend-to-db deletion",
      240_000,
    );
    deleted = r.moments.find((m) => m.gone.includes("shop/backend-to-db"))!;
  });

  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
  });

  it("shows shop's default-deny drops with the policy name, why, and the rule that would allow them", async () => {
    await page.goto(`${app.url}/drops?namespace=shop&drop-reason-desc=POLICY_DENIED`);
    await page.getByTestId("drop-group").first().waitFor({ timeout: 60_000 });
    await page.getByTestId("drops-timeline").locator("rect").first().waitFor();
    expect(await page.getByTestId("timeline-reason").allInnerTexts()).toEqual([expect.stringMatching(/^POLICY_DENIED \d+/)]);
    const named = page.getByTestId("drop-group").filter({ has: page.getByTestId("group-policy").filter({ hasText: "shop/default-deny" }) });
    await expect.poll(() => named.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await named.first().click();
    await expect.poll(() => new URL(page.url()).searchParams.get("group"), { timeout: 10_000 }).toBeTruthy();
    const detail = page.getByTestId("drop-detail");
    await detail.waitFor();
    expect(await page.getByTestId("why-why").innerText()).toMatch(/shop\/default-deny .*selects/);
    expect(await page.getByTestId("why-who").innerText()).not.toBe("");
    expect(await page.getByTestId("detail-policy").first().innerText()).toMatch(/NetworkPolicy shop\/default-deny/);
    const cnp = parse(await page.getByTestId("rule-cilium").locator("pre").innerText());
    expect(cnp).toMatchObject({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { namespace: "shop" } });
    expect(cnp.spec.endpointSelector.matchLabels).toBeTruthy();
    expect(await page.getByTestId("rule-cilium-copy").isVisible()).toBe(true);
    await page.screenshot({ path: path.join(OUTPUT, "drops-default-deny-rule.png"), fullPage: false });
    await page.getByTestId("rule-cilium").scrollIntoViewIfNeeded();
    await page.getByTestId("drop-detail").screenshot({ path: path.join(OUTPUT, "drops-suggested-rule-yaml.png") });

    // "open these flows" lands on /flows with the group's filter, and lists drops only
    const href = await page.getByTestId("group-flows-link").getAttribute("href");
    const q = new URLSearchParams(href!.split("?")[1]);
    expect(q.get("verdict")).toBe("DROPPED");
    const flows = await (await fetch(`${app.url}/api/flows?${q.toString()}&limit=5`)).json();
    expect(flows.flows.length).toBeGreaterThan(0);
    for (const f of flows.flows) expect(f.flow.drop_reason_desc).toBe("POLICY_DENIED");
  });

  it("shows the explicit deny by name and sorts by a column in the URL", async () => {
    await page.goto(`${app.url}/drops?namespace=shop&drop-reason-desc=POLICY_DENY`);
    await page.getByTestId("drop-group").first().waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("group-policy").first().innerText()).toMatch(/shop\/deny-external-egress/);
    await page.getByTestId("sort-destination").click();
    await expect.poll(() => new URL(page.url()).searchParams.get("sort"), { timeout: 10_000 }).toBe("destination");
  });

  it("exports what the reviewer sees, with the filter and the export time", async () => {
    const r = await fetch(`${app.url}/api/drops?namespace=shop&format=csv`);
    expect(r.status).toBe(200);
    const [header, first] = (await r.text()).split("\r\n");
    expect(header.split(",").slice(0, 7)).toEqual(["exported_at", "filter", "who", "what", "when", "where", "why"]);
    expect(first).toContain("namespace=shop");
  });

  it("before/after the demo's policy change shows backend → database becoming dropped", async () => {
    await page.goto(`${app.url}/policies`);
    await page.getByTestId("policy-row").first().waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("policy-name").allInnerTexts()).toEqual(expect.arrayContaining(["shop/default-deny", "shop/backend-to-db"]));
    // with no moment picked, the latest change is compared right away
    await page.getByTestId("before-after").waitFor({ timeout: 30_000 });
    const moment = page.locator(`[data-testid="moment"][data-at="${iso(deleted.atNs)}"]`);
    await moment.waitFor({ timeout: 30_000 });
    expect(await moment.innerText()).toMatch(/− .*shop\/backend-to-db/);
    await moment.click();
    const section = page.getByTestId("diff-became-dropped");
    await section.waitFor({ timeout: 30_000 });
    const rows = await section.getByTestId("diff-edge").allInnerTexts();
    expect(rows.some((t) => /shop\/Deployment\/backend\s+shop\/StatefulSet\/database|shop\/\S+\/backend\s+shop\/\S+\/database/.test(t) && /TCP\/5432/.test(t))).toBe(true);
    await page.getByTestId("before-after").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUTPUT, "policies-before-after.png"), fullPage: true });
  });

  it("suggests a policy set for shop with DNS egress and a coverage preview", async () => {
    await page.goto(`${app.url}/policies?suggest=shop&since=15m`);
    const yaml = page.getByTestId("suggest-yaml");
    await yaml.waitFor({ timeout: 60_000 });
    const text = await yaml.locator("pre").innerText();
    expect(text).toContain("name: allow-dns-egress");
    expect(text).toContain("kube-dns");
    await page.getByTestId("coverage-row").first().waitFor();
    expect(await page.locator('[data-testid="coverage-row"][data-outcome="allowed"]').count()).toBeGreaterThan(0);
    await page.getByTestId("suggestion").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUTPUT, "policies-suggestion.png"), fullPage: false });
  });
});

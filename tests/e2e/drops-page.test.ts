/**
 * /drops and /policies in Chromium on the demo cluster (npm start, embedded store): the shop
 * namespace's default-deny drops appear with the policy name, a group shows its WHO…WHY and the
 * suggested rule, the audit export answers, and before/after at the demo's first policy change
 * (backend-to-db deleted) shows backend → database becoming dropped. Screenshots go to
 * test-output/e2e/.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { OUTPUT, useChromiumApp, waitForJson } from "./app-server";

interface Moment {
  atNs: string;
  gone: string[];
}

const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z");

describe("drops and policies in Chromium", () => {
  let deleted: Moment;
  // the demo back-fills ten minutes with a policy change every three: wait for "backend-to-db deleted"
  const ui = useChromiumApp({ width: 1600, height: 1000 }, async () => {
    const r = await waitForJson<{ moments: Moment[] }>(
      `${ui.url}/api/policies`,
      (p) => p.moments.some((m) => m.gone.includes("shop/backend-to-db")),
      "the demo's backend-to-db deletion",
      240_000,
    );
    deleted = r.moments.find((m) => m.gone.includes("shop/backend-to-db"))!;
  });

  it("shows shop's default-deny drops with the policy name, why, and the rule that would allow them", async () => {
    await ui.page.goto(`${ui.url}/drops?namespace=shop&drop-reason-desc=POLICY_DENIED`);
    await ui.page.getByTestId("drop-group").first().waitFor({ timeout: 60_000 });
    await ui.page.getByTestId("drops-timeline").locator("rect").first().waitFor();
    expect(await ui.page.getByTestId("timeline-reason").allInnerTexts()).toEqual([expect.stringMatching(/^POLICY_DENIED \d+/)]);
    const named = ui.page.getByTestId("drop-group").filter({ has: ui.page.getByTestId("group-policy").filter({ hasText: "shop/default-deny" }) });
    await expect.poll(() => named.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await named.first().click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.get("group"), { timeout: 10_000 }).toBeTruthy();
    const detail = ui.page.getByTestId("drop-detail");
    await detail.waitFor();
    expect(await ui.page.getByTestId("why-why").innerText()).toMatch(/shop\/default-deny .*selects/);
    expect(await ui.page.getByTestId("why-who").innerText()).not.toBe("");
    expect(await ui.page.getByTestId("detail-policy").first().innerText()).toMatch(/NetworkPolicy shop\/default-deny/);
    const cnp = parse(await ui.page.getByTestId("rule-cilium").locator("pre").innerText());
    expect(cnp).toMatchObject({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { namespace: "shop" } });
    expect(cnp.spec.endpointSelector.matchLabels).toBeTruthy();
    expect(await ui.page.getByTestId("rule-cilium-copy").isVisible()).toBe(true);
    await ui.page.screenshot({ path: path.join(OUTPUT, "drops-default-deny-rule.png"), fullPage: false });
    await ui.page.getByTestId("rule-cilium").scrollIntoViewIfNeeded();
    await ui.page.getByTestId("drop-detail").screenshot({ path: path.join(OUTPUT, "drops-suggested-rule-yaml.png") });

    // "open these flows" lands on /flows with the group's filter, and lists drops only
    const href = await ui.page.getByTestId("group-flows-link").getAttribute("href");
    const q = new URLSearchParams(href!.split("?")[1]);
    expect(q.get("verdict")).toBe("DROPPED");
    const flows = await (await fetch(`${ui.url}/api/flows?${q.toString()}&limit=5`)).json();
    expect(flows.flows.length).toBeGreaterThan(0);
    for (const f of flows.flows) expect(f.flow.drop_reason_desc).toBe("POLICY_DENIED");
  });

  it("shows the explicit deny by name and sorts by a column in the URL", async () => {
    await ui.page.goto(`${ui.url}/drops?namespace=shop&drop-reason-desc=POLICY_DENY`);
    await ui.page.getByTestId("drop-group").first().waitFor({ timeout: 60_000 });
    expect(await ui.page.getByTestId("group-policy").first().innerText()).toMatch(/shop\/deny-external-egress/);
    await ui.page.getByTestId("sort-destination").click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.get("sort"), { timeout: 10_000 }).toBe("destination");
  });

  it("exports what the reviewer sees, with the filter and the export time", async () => {
    const r = await fetch(`${ui.url}/api/drops?namespace=shop&format=csv`);
    expect(r.status).toBe(200);
    const [header, first] = (await r.text()).split("\r\n");
    expect(header.split(",").slice(0, 7)).toEqual(["exported_at", "filter", "who", "what", "when", "where", "why"]);
    expect(first).toContain("namespace=shop");
  });

  it("before/after the demo's policy change shows backend → database becoming dropped", async () => {
    await ui.page.goto(`${ui.url}/policies`);
    await ui.page.getByTestId("policy-row").first().waitFor({ timeout: 60_000 });
    expect(await ui.page.getByTestId("policy-name").allInnerTexts()).toEqual(expect.arrayContaining(["shop/default-deny", "shop/backend-to-db"]));
    // with no moment picked, the latest change is compared right away
    await ui.page.getByTestId("before-after").waitFor({ timeout: 30_000 });
    const moment = ui.page.locator(`[data-testid="moment"][data-at="${iso(deleted.atNs)}"]`);
    await moment.waitFor({ timeout: 30_000 });
    expect(await moment.innerText()).toMatch(/− .*shop\/backend-to-db/);
    await moment.click();
    const section = ui.page.getByTestId("diff-became-dropped");
    await section.waitFor({ timeout: 30_000 });
    const rows = await section.getByTestId("diff-edge").allInnerTexts();
    expect(rows.some((t) => /shop\/Deployment\/backend\s+shop\/StatefulSet\/database|shop\/\S+\/backend\s+shop\/\S+\/database/.test(t) && /TCP\/5432/.test(t))).toBe(true);
    await ui.page.getByTestId("before-after").scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: path.join(OUTPUT, "policies-before-after.png"), fullPage: true });
  });

  it("suggests a policy set for shop with DNS egress and a coverage preview", async () => {
    await ui.page.goto(`${ui.url}/policies?suggest=shop&since=15m`);
    const yaml = ui.page.getByTestId("suggest-yaml");
    await yaml.waitFor({ timeout: 60_000 });
    const text = await yaml.locator("pre").innerText();
    expect(text).toContain("name: allow-dns-egress");
    expect(text).toContain("kube-dns");
    await ui.page.getByTestId("coverage-row").first().waitFor();
    expect(await ui.page.locator('[data-testid="coverage-row"][data-outcome="allowed"]').count()).toBeGreaterThan(0);
    await ui.page.getByTestId("suggestion").scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: path.join(OUTPUT, "policies-suggestion.png"), fullPage: false });
  });
});

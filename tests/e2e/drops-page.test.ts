/**
 * /drops and /policies in Chromium on the demo cluster (npm start, embedded store): the shop
 * namespace's default-deny drops appear with the policy name, a group shows its WHO…WHY and the
 * suggested rule, the audit export answers, /drops, the map and the export count a denied packet
 * once and agree, before/after at the demo's policy changes shows backend → database becoming
 * dropped (backend-to-db deleted) and prometheus → backend becoming allowed (allow-metrics-scrape
 * added), and the suggestion allows nothing that was not delivered. Screenshots go to
 * test-output/e2e/.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { OUTPUT, useChromiumApp, waitForJson } from "./app-server";

interface Moment {
  atNs: string;
  gone: string[];
  appeared: string[];
  changes: { policy: string; action: string }[];
}

/** the moment a policy was added or deleted, by the agents' events or, without them, by the flows */
const isChange = (m: Moment, policy: string, action: "updated" | "deleted") =>
  m.changes.some((c) => c.policy === policy && c.action === action) || (action === "deleted" ? m.gone : m.appeared).includes(policy);

const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z");

describe("drops and policies in Chromium", () => {
  let deleted: Moment;
  let added: Moment;
  // the demo back-fills ten minutes with a policy change every three: backend-to-db deleted, added
  // again, allow-metrics-scrape added
  const ui = useChromiumApp({ width: 1600, height: 1000 }, async () => {
    const r = await waitForJson<{ moments: Moment[] }>(
      `${ui.url}/api/policies`,
      (p) => p.moments.some((m) => isChange(m, "shop/backend-to-db", "deleted")) && p.moments.some((m) => isChange(m, "shop/allow-metrics-scrape", "updated")),
      "the demo's backend-to-db deletion and allow-metrics-scrape addition",
      240_000,
    );
    deleted = r.moments.find((m) => isChange(m, "shop/backend-to-db", "deleted"))!;
    added = r.moments.find((m) => isChange(m, "shop/allow-metrics-scrape", "updated"))!;
    // the agents' events arrive at once, the back-filled flows take a while: compare only once the
    // flows of the window after the last change are stored
    const needMs = Number(BigInt(added.atNs) / 1_000_000n) + 75_000;
    await waitForJson<{ flows: { time?: string }[] }>(`${ui.url}/api/flows?limit=1`, (f) => Date.parse(f.flows[0]?.time ?? "") > needMs, "flows stored past the window after the last change", 300_000);
  });

  it("shows shop's default-deny drops with the policy name, why, and the rule that would allow them", async () => {
    await ui.page.goto(`${ui.url}/drops?namespace=shop&drop-reason-desc=POLICY_DENIED`);
    await ui.page.getByTestId("drop-group").first().waitFor({ timeout: 60_000 });
    await ui.page.getByTestId("drops-timeline").locator("rect").first().waitFor();
    expect(await ui.page.getByTestId("timeline-reason").allInnerTexts()).toEqual([expect.stringMatching(/^POLICY_DENIED \d+/)]);
    const named = ui.page.getByTestId("drop-group").filter({ has: ui.page.locator('[data-testid="group-policy"][data-named="true"]').filter({ hasText: "shop/default-deny" }) });
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
    // one-minute windows: the demo's last change is a minute before it started
    await ui.page.goto(`${ui.url}/policies?window=1m`);
    await ui.page.getByTestId("policy-row").first().waitFor({ timeout: 60_000 });
    expect(await ui.page.getByTestId("policy-name").allInnerTexts()).toEqual(expect.arrayContaining(["shop/default-deny", "shop/backend-to-db"]));
    // with no moment picked, the latest change is compared right away
    await ui.page.getByTestId("before-after").waitFor({ timeout: 30_000 });
    const moment = ui.page.locator(`[data-testid="moment"][data-at="${iso(deleted.atNs)}"]`);
    await moment.waitFor({ timeout: 30_000 });
    expect(await moment.innerText()).toMatch(/− shop\/backend-to-db/);
    await moment.click();
    await expect.poll(() => new URL(ui.page.url()).searchParams.get("at"), { timeout: 30_000 }).toBe(iso(deleted.atNs));
    const section = ui.page.getByTestId("diff-became-dropped");
    await section.waitFor({ timeout: 60_000 });
    const rows = await section.getByTestId("diff-edge").allInnerTexts();
    expect(rows.some((t) => /shop\/Deployment\/backend\s+shop\/StatefulSet\/database|shop\/\S+\/backend\s+shop\/\S+\/database/.test(t) && /TCP\/5432/.test(t))).toBe(true);
    await ui.page.getByTestId("before-after").scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: path.join(OUTPUT, "policies-before-after.png"), fullPage: true });
  });

  it("before/after adding allow-metrics-scrape shows prometheus → backend becoming allowed, with the evidence", async () => {
    await ui.page.goto(`${ui.url}/policies?window=1m&at=${encodeURIComponent(iso(added.atNs))}`);
    const moment = ui.page.locator(`[data-testid="moment"][data-at="${iso(added.atNs)}"]`);
    await moment.waitFor({ timeout: 60_000 });
    expect(await moment.innerText()).toMatch(/\+ shop\/allow-metrics-scrape/);
    const section = ui.page.getByTestId("diff-became-allowed");
    await section.waitFor({ timeout: 30_000 });
    const row = section.getByTestId("diff-edge").filter({ hasText: "TCP/9090" });
    expect(await row.innerText()).toMatch(/prometheus/);
    expect(await row.getByTestId("diff-before").getAttribute("data-state")).toBe("denied");
    expect(await row.getByTestId("diff-after").getAttribute("data-state")).toMatch(/^(delivered|mixed)$/);
    expect(await row.getByTestId("diff-after").innerText()).toMatch(/server's ingress: \d+ allowed by shop\/allow-metrics-scrape/);
    // nothing became dropped by adding an allow rule
    expect(await ui.page.getByTestId("diff-became-dropped").count()).toBe(0);
    const flows = await row.getByTestId("diff-after-flows").getAttribute("href");
    const listed = await (await fetch(`${ui.url}/api/flows?${flows!.split("?")[1]}&limit=5`)).json();
    expect(listed.flows.length).toBeGreaterThan(0);
    await ui.page.getByTestId("before-after").scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: path.join(OUTPUT, "policies-became-allowed.png"), fullPage: true });
  });

  it("counts a denied packet once: /drops, the map and the export agree", async () => {
    // a settled past window (whole minutes, ended three minutes ago)
    const until = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000;
    const range = `since=${new Date(until - 6 * 60_000).toISOString()}&until=${new Date(until).toISOString()}`;
    const drops = await (await fetch(`${ui.url}/api/drops?${range}&verdict=DROPPED`)).json();
    const verdicts = await (await fetch(`${ui.url}/api/drops?${range}&verdict=DROPPED&type=policy-verdict`)).json();
    const events = await (await fetch(`${ui.url}/api/drops?${range}&verdict=DROPPED&type=drop`)).json();
    expect(drops.total).toBeGreaterThan(0);
    // every policy-denied packet was reported twice; it counts once
    expect(drops.total).toBeLessThan(verdicts.total + events.total);
    expect(drops.total).toBeGreaterThanOrEqual(Math.max(events.total, verdicts.total));
    const map = await (await fetch(`${ui.url}/api/graph?${range}&noise=off`)).json();
    expect(map.edges.reduce((s: number, e: { verdicts: { dropped: number } }) => s + e.verdicts.dropped, 0)).toBe(drops.total);
    const exported = (await (await fetch(`${ui.url}/api/drops?${range}&verdict=DROPPED&format=jsonl`)).text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(exported.reduce((n: number, row: { group: { count: number } }) => n + row.group.count, 0)).toBe(drops.total);
    const raw = (await (await fetch(`${ui.url}/api/drops?${range}&verdict=DROPPED&format=jsonl&rows=raw`)).text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(raw.filter((row: { packet: string }) => row.packet === "counted").length).toBe(drops.total);
    await ui.page.goto(`${ui.url}/drops?${range}&verdict=DROPPED`);
    await expect.poll(() => ui.page.getByTestId("drops-summary").innerText(), { timeout: 60_000 }).toBe(`${drops.total.toLocaleString()} denied packets in ${drops.groupCount.toLocaleString()} groups`);
    // the demo's lost events are said to be simulated where a user reads them
    expect(await ui.page.getByTestId("status-lost-events").innerText()).toMatch(/\(simulated\)/);
    await ui.page.screenshot({ path: path.join(OUTPUT, "drops-denied-packets.png"), fullPage: false });
  });

  it("suggests a policy set for shop from delivered traffic: DNS egress, toFQDNs, nothing the database denied", async () => {
    await ui.page.goto(`${ui.url}/policies?suggest=shop&since=15m`);
    const yaml = ui.page.getByTestId("suggest-yaml");
    await yaml.waitFor({ timeout: 60_000 });
    const docs = parseAllDocuments(await yaml.locator("pre").innerText()).map((d) => d.toJS());
    expect(docs.map((d) => d.metadata.name)).toContain("allow-dns-egress");
    const frontend = docs.find((d) => d.metadata.name === "frontend-allow");
    // frontend → database leaves the frontend FORWARDED but the database drops it: no rule for it
    expect(JSON.stringify(frontend.spec.egress)).not.toContain("database");
    expect(JSON.stringify(docs.find((d) => d.metadata.name === "backend-allow").spec.egress)).toContain("api.stripe.com");
    await ui.page.getByTestId("coverage-row").first().waitFor();
    expect(await ui.page.locator('[data-testid="coverage-row"][data-outcome="allowed"]').count()).toBeGreaterThan(0);
    const feDb = ui.page.getByTestId("coverage-row").filter({ hasText: "shop/StatefulSet/database" }).filter({ hasText: "shop/Deployment/frontend" });
    expect(await feDb.first().getAttribute("data-outcome")).toBe("dropped");
    await ui.page.getByTestId("suggestion").scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: path.join(OUTPUT, "policies-suggestion.png"), fullPage: false });
  });

  it("says there is nothing to suggest for a namespace without traffic", async () => {
    await ui.page.goto(`${ui.url}/policies?suggest=nonexistent&since=15m`);
    const empty = ui.page.getByTestId("suggest-empty");
    await empty.waitFor({ timeout: 60_000 });
    expect(await empty.innerText()).toMatch(/No traffic to or from a pod of namespace "nonexistent"/);
    expect(await ui.page.getByTestId("suggest-yaml").count()).toBe(0);
  });
});

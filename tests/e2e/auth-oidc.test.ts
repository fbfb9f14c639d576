/**
 * Sign-in through a real OpenID Connect issuer (oidc-provider on loopback) in Chromium: `npm start`
 * with FLOWLENS_OIDC_* and an access file, three users in different groups — alice (shop-team:
 * auditor on shop), bob (monitoring-team: viewer on monitoring), carol (platform: admin) — and
 * mallory, whose group no rule names. Each signs in through the issuer's login and consent pages;
 * /flows, /map, /drops, /dns and /policies then show only their namespaces (the data the pages
 * loaded, read back through the same session, and the pages' text); a viewer's export is refused;
 * carol's /audit page lists alice's export, the sign-ins and mallory's refused one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import Provider from "oidc-provider";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTPUT, freePort, launchBrowser, startApp, type AppServer } from "./app-server";

const USERS: Record<string, { email: string; name: string; groups: string[] }> = {
  alice: { email: "alice@example.com", name: "Alice", groups: ["shop-team"] },
  bob: { email: "bob@example.com", name: "Bob", groups: ["monitoring-team"] },
  carol: { email: "carol@example.com", name: "Carol", groups: ["platform"] },
  mallory: { email: "mallory@example.com", name: "Mallory", groups: ["contractors"] },
};

const ACCESS = `
rules:
  - group: shop-team
    role: auditor
    namespaces: [shop]
  - group: monitoring-team
    role: viewer
    namespaces: [monitoring]
  - group: platform
    role: admin
    namespaces: ["*"]
`;

/** namespaces of the demo's recorded flows: they never talk to shop or monitoring */
const NEVER = ["bookinfo", "istio-system"];

interface FlowJson {
  source?: { namespace?: string };
  destination?: { namespace?: string };
}

let idp: Server;
let app: AppServer;
let browser: Browser;
let dir: string;

async function startIssuer(port: number, appPort: number): Promise<Server> {
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: "flowlens",
        client_secret: "flowlens-test-secret",
        redirect_uris: [`http://127.0.0.1:${appPort}/auth/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], email: ["email"], profile: ["name"], groups: ["groups"] },
    scopes: ["openid", "email", "profile", "groups"],
    cookies: { keys: ["flowlens-e2e-cookie-key"] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id: string) {
      const u = USERS[id];
      if (!u) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...u }) };
    },
  });
  return new Promise((resolve) => {
    const s = provider.listen(port, "127.0.0.1", () => resolve(s));
  });
}

beforeAll(async () => {
  const [idpPort, appPort] = [await freePort(), await freePort()];
  idp = await startIssuer(idpPort, appPort);
  dir = mkdtempSync(path.join(os.tmpdir(), "flowlens-auth-"));
  const accessFile = path.join(dir, "access.yaml");
  writeFileSync(accessFile, ACCESS);
  app = await startApp(
    {
      FLOWLENS_OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
      FLOWLENS_OIDC_CLIENT_ID: "flowlens",
      FLOWLENS_OIDC_CLIENT_SECRET: "flowlens-test-secret",
      FLOWLENS_PUBLIC_URL: `http://127.0.0.1:${appPort}`,
      FLOWLENS_AUTH_CONFIG: accessFile,
      HOST: "127.0.0.1",
    },
    { port: appPort },
  );
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await new Promise((r) => idp?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens /flows in a fresh browser, signs in at the issuer as `user`, lands back on /flows. */
async function signIn(user: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
  const page = await context.newPage();
  await page.goto(`${app.url}/flows?since=1h`);
  await page.waitForURL(/\/interaction\//, { timeout: 30_000 });
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', "any");
  await page.click("button[type=submit]");
  // consent, then back to Flowlens
  await page.waitForURL(/\/interaction\/|\/flows|\/auth\/callback/, { timeout: 30_000 });
  if (page.url().includes("/interaction/")) await page.click("button[type=submit]");
  return { context, page };
}

/** GET through the signed-in browser session (the cookie goes along) */
async function apiAs(page: Page, pathAndQuery: string): Promise<{ status: number; text: string }> {
  return page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, text: await r.text() };
  }, pathAndQuery);
}

async function flowsAs(page: Page, q = "since=1h&limit=1000"): Promise<FlowJson[]> {
  const r = await apiAs(page, `/api/flows?${q}`);
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { flows: { flow: FlowJson }[] }).flows.map((f) => f.flow);
}

const sees = (allowed: string) => (f: FlowJson) => f.source?.namespace === allowed || f.destination?.namespace === allowed;

describe("sign-in through a real OIDC issuer", () => {
  it("carol (admin) sees every namespace, the recorded ones included (the checks below can fail)", async () => {
    const { context, page } = await signIn("carol");
    await page.waitForURL(/\/flows/, { timeout: 30_000 });
    await expect.poll(async () => (await page.getByTestId("access-user").innerText()).trim(), { timeout: 30_000 }).toBe("carol@example.com");
    await expect.poll(async () => (await flowsAs(page, "since=1h&namespace=bookinfo&limit=5")).length, { timeout: 120_000, interval: 2000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await apiAs(page, "/api/graph?window=1h")).text, { timeout: 60_000, interval: 2000 }).toContain("bookinfo");
    await context.close();
  });

  for (const [user, ns, role] of [
    ["alice", "shop", "auditor"],
    ["bob", "monitoring", "viewer"],
  ] as const) {
    it(`${user} (${role} on ${ns}) sees only flows from or to ${ns}, on every page`, async () => {
      const { context, page } = await signIn(user);
      await page.waitForURL(/\/flows/, { timeout: 30_000 });
      expect(await page.getByTestId("access-scope").innerText()).toBe(ns);
      expect(await page.getByTestId("access-badge").innerText()).toContain(role);

      // the data behind the pages, read back through the same session
      const flows = await flowsAs(page);
      expect(flows.length).toBeGreaterThan(0);
      expect(flows.filter((f) => !sees(ns)(f))).toEqual([]);
      for (const [api, check] of [
        ["/api/graph?window=1h", (t: string) => NEVER.every((n) => !t.includes(n))],
        ["/api/drops?since=1h", (t: string) => NEVER.every((n) => !t.includes(n))],
        ["/api/dns?since=15m", (t: string) => NEVER.every((n) => !t.includes(n))],
        ["/api/policies?since=1h", (t: string) => (JSON.parse(t) as { policies: { namespace?: string }[] }).policies.every((p) => p.namespace === ns)],
      ] as const) {
        const r = await apiAs(page, api);
        expect(r.status, api).toBe(200);
        expect(check(r.text), `${api}: ${r.text.slice(0, 300)}`).toBe(true);
      }

      // the pages themselves
      for (const p of ["/flows?since=1h", "/map?window=1h", "/drops?since=1h", "/dns?since=15m", "/policies?since=1h"]) {
        await page.goto(`${app.url}${p}`);
        // the pages poll (live): wait for their first answers rather than for a quiet network
        await page.waitForLoadState("load");
        await page.waitForTimeout(4000);
        const text = await page.locator("main").innerText();
        for (const n of NEVER) expect(text, `${user} on ${p}`).not.toContain(n);
        await page.screenshot({ path: path.join(OUTPUT, `auth-${user}-${p.slice(1).split("?")[0]}.png`) });
      }
      await page.goto(`${app.url}/flows?since=1h`);
      const rows = page.getByTestId("flow-row");
      await rows.first().waitFor({ timeout: 60_000 }).catch(() => {});
      const shown = await page.locator("main").innerText();
      expect(shown).toContain(ns);
      // the page offers exports only to a role that may export
      await page.getByTestId(role === "auditor" ? "export-csv" : "export-not-allowed").waitFor({ timeout: 30_000 });

      // exports: an auditor may, a viewer may not
      const exported = await apiAs(page, `/api/flows?since=1h&namespace=${ns}&format=jsonl`);
      if (role === "auditor") {
        expect(exported.status).toBe(200);
        const lines = exported.text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { flow: FlowJson });
        expect(lines.length).toBeGreaterThan(0);
        expect(lines.filter((l) => !sees(ns)(l.flow))).toEqual([]);
      } else {
        expect(exported.status).toBe(403);
      }
      // not an admin: the audit log is not theirs
      expect((await apiAs(page, "/api/audit")).status).toBe(403);
      await context.close();
    });
  }

  it("mallory, in no group of the access file, is refused and recorded", async () => {
    const { context, page } = await signIn("mallory");
    await page.getByTestId("auth-problem").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("auth-problem").innerText()).toBe("No access");
    expect((await apiAs(page, "/api/flows")).status).toBe(401);
    await context.close();
  });

  it("carol's /audit lists the sign-ins, mallory's refusal and alice's export; sign-out ends the session", async () => {
    const { context, page } = await signIn("carol");
    await page.waitForURL(/\/flows/, { timeout: 30_000 });
    await page.goto(`${app.url}/audit`);
    await page.getByTestId("audit-row").first().waitFor({ timeout: 30_000 });
    const rows = async (action: string) => page.locator(`[data-testid="audit-row"][data-action="${action}"]`).allInnerTexts();
    expect((await rows("sign-in")).join("\n")).toMatch(/alice@example\.com[\s\S]*|bob@example\.com/);
    expect((await rows("sign-in-failed")).join("\n")).toContain("mallory@example.com");
    const exports = (await rows("export")).join("\n");
    expect(exports).toContain("alice@example.com");
    expect(exports).toMatch(/"rows":[1-9]/);
    expect(exports).toContain("namespace=shop");
    await page.screenshot({ path: path.join(OUTPUT, "auth-audit.png") });
    const jsonl = await apiAs(page, "/api/audit?format=jsonl");
    expect(jsonl.status).toBe(200);
    expect(jsonl.text.split("\n").filter(Boolean).map((l) => JSON.parse(l).action)).toEqual(expect.arrayContaining(["sign-in", "sign-in-failed", "export"]));

    // state-changing requests need the CSRF token: a bare POST with the cookie is refused
    const bare = await page.evaluate(async () => (await fetch("/api/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"x","role":"viewer","namespaces":["shop"]}' })).status);
    expect(bare).toBe(403);

    await page.goto(`${app.url}/flows`);
    await page.getByTestId("sign-out").click();
    await page.getByTestId("signed-out").waitFor({ timeout: 30_000 });
    expect((await apiAs(page, "/api/flows")).status).toBe(401);
    await context.close();
  });
});

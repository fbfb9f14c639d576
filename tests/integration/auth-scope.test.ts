/**
 * Who may see which flows, through the real route handlers on real PostgreSQL with sign-in on
 * (FLOWLENS_AUTH=on, API tokens): a token scoped to `shop` never gets anything of a flow that is
 * neither from nor to `shop` — from any route, with any parameter (table-driven) — while an admin
 * token gets those same things (so every check can fail). Also: unknown, expired and revoked tokens
 * answer 401; a viewer gets 403 on exports; the audit log records the export with its row count;
 * the audit log refuses changes.
 *
 * Flows that `shop` must never see carry markers found nowhere else (the `gateway` workload, the
 * 10.9.0.0/16 addresses, the name `secret-bank.example`, the path /secret-ledger, the policy
 * `payments/secret-deny`, the node `node-secret`, the world address 198.51.100.66).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, beforeAll } from "vitest";
import { DropReason, IPVersion, TrafficDirection, type Flow } from "@/proto/gen/flow/flow_pb";
import { GET as dnsGET } from "@/app/api/dns/route";
import { GET as dnsSummaryGET } from "@/app/api/dns/summary/route";
import { GET as dropsGET } from "@/app/api/drops/route";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as graphGET } from "@/app/api/graph/route";
import { GET as liveGET } from "@/app/api/live/route";
import { GET as policiesGET } from "@/app/api/policies/route";
import { GET as diffGET } from "@/app/api/policies/diff/route";
import { GET as suggestGET } from "@/app/api/policies/suggest/route";
import { GET as quarantineGET } from "@/app/api/quarantine/route";
import { GET as statusEventsGET } from "@/app/api/status/events/route";
import { GET as statusGET } from "@/app/api/status/route";
import { GET as auditGET } from "@/app/api/audit/route";
import { GET as tokensGET, POST as tokensPOST } from "@/app/api/tokens/route";
import { DELETE as tokenDELETE } from "@/app/api/tokens/[id]/route";
import { GET as metricsGET } from "@/app/metrics/route";
import { authRepoFor } from "@/server/db/auth-repo";
import { grpcAuthorize } from "@/server/auth/grpc-auth";
import type { FlowItem, FlowJson } from "@/server/domain/flows/flow-item";
import { call, parseCsv, SseReader, useApiRuntime } from "../fixtures/api-harness";
import { buildFlow, dnsRequest, dnsResponse, drop, endpoint, hostEndpoint, httpResponse, responseOf, tcp, udp, worldEndpoint } from "../fixtures/flow-builder";
import { waitFor } from "../fixtures/test-pipeline";
import { observerClient } from "../fixtures/grpc-client";
import * as grpc from "@grpc/grpc-js";

type Handler = (request: Request) => Promise<Response>;

const SINCE = "2026-11-25T10:00:00Z";
const UNTIL = "2026-11-25T11:00:00Z";
const RANGE = `since=${SINCE}&until=${UNTIL}`;
const at = (min: number, sec = 0) => BigInt(Date.parse(SINCE) + min * 60_000 + sec * 1000) * 1_000_000n;
const v4 = (source: string, destination: string) => ({ source, destination, ipVersion: IPVersion.IPv4 });

const frontend = endpoint({ ns: "shop", app: "frontend", pod: "frontend-0" });
const api = endpoint({ ns: "shop", app: "api", pod: "api-0" });
const ledger = endpoint({ ns: "payments", app: "ledger", pod: "ledger-0" });
const gateway = endpoint({ ns: "payments", app: "gateway", pod: "gateway-0" });
const coredns = endpoint({ ns: "kube-system", app: "coredns", labels: ["k8s:k8s-app=kube-dns"] });
const pol = (ns: string, name: string, revision = 3n) => ({ name, namespace: ns, kind: "CiliumNetworkPolicy", revision, labels: [`k8s:io.cilium.k8s.policy.name=${name}`] });

/** what a `shop` caller must never receive (each appears only in flows neither from nor to shop) */
const SECRETS = ["gateway", "10.9.", "secret-bank", "secret-ledger", "secret-deny", "node-secret", "198.51.100.66"];

function seedFlows(): { visible: Flow[]; hidden: Flow[] } {
  const visible: Flow[] = [];
  const hidden: Flow[] = [];
  for (let m = 0; m < 40; m++) {
    // shop inside: HTTP, allowed by a shop policy
    visible.push(httpResponse(200, "GET", "http://api.shop:8080/v1/orders", { time: at(m, 1), IP: v4("10.1.0.2", "10.1.0.1"), source: api, destination: frontend, nodeName: "node-a", ingressAllowedBy: [pol("shop", "allow-frontend")] }));
    // shop → payments: denied at payments' ingress (visible: its source is shop)
    visible.push(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["payments/ingress-guard"] }, { time: at(m, 2), IP: v4("10.1.0.2", "10.2.0.1"), l4: tcp(40000 + m, 7000, { SYN: true }), source: api, destination: ledger, nodeName: "node-a" }));
    // shop → world
    visible.push(buildFlow({ time: at(m, 3), IP: v4("10.1.0.1", "93.184.216.34"), l4: tcp(41000 + m, 443), source: frontend, destination: worldEndpoint(), destinationNames: ["example.com"], trafficDirection: TrafficDirection.EGRESS, nodeName: "node-a", egressAllowedBy: [pol("shop", "allow-egress")] }));
    // shop DNS, answered
    visible.push(dnsRequest("api.example.com.", { time: at(m, 4), IP: v4("10.1.0.2", "10.96.0.10"), l4: udp(42000 + m, 53), source: api, destination: coredns, nodeName: "node-a" }));
    visible.push(dnsResponse("api.example.com.", { ips: ["93.184.216.34"] }, { time: at(m, 4) + 1_000_000n, IP: v4("10.96.0.10", "10.1.0.2"), l4: udp(53, 42000 + m), source: coredns, destination: api, nodeName: "node-a" }));
    // shop inside: dropped by a shop policy
    visible.push(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/deny-debug"] }, { time: at(m, 5), IP: v4("10.1.0.1", "10.1.0.2"), l4: tcp(43000 + m, 9999, { SYN: true }), source: frontend, destination: api, nodeName: "node-a" }));

    // payments inside: HTTP
    hidden.push(httpResponse(200, "POST", "http://ledger.payments:7000/secret-ledger", { time: at(m, 10), IP: v4("10.9.0.2", "10.9.0.1"), source: ledger, destination: gateway, nodeName: "node-secret", ingressAllowedBy: [pol("payments", "secret-allow", BigInt(3 + (m >= 20 ? 1 : 0)))] }));
    // payments inside: dropped by a payments policy
    hidden.push(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["payments/secret-deny"] }, { time: at(m, 11), IP: v4("10.9.0.1", "10.9.0.2"), l4: tcp(44000 + m, 7001, { SYN: true }), source: gateway, destination: ledger, nodeName: "node-secret" }));
    // payments → world, by name
    hidden.push(buildFlow({ time: at(m, 12), IP: v4("10.9.0.2", "203.0.113.77"), l4: tcp(45000 + m, 443), source: ledger, destination: worldEndpoint(), destinationNames: ["secret-bank.example"], trafficDirection: TrafficDirection.EGRESS, nodeName: "node-secret" }));
    // payments DNS, NXDOMAIN
    hidden.push(dnsRequest("secret-bank.example.", { time: at(m, 13), IP: v4("10.9.0.1", "10.96.0.10"), l4: udp(46000 + m, 53), source: gateway, destination: coredns, nodeName: "node-secret" }));
    hidden.push(dnsResponse("secret-bank.example.", { rcode: 3 }, { time: at(m, 13) + 1_000_000n, IP: v4("10.96.0.10", "10.9.0.1"), l4: udp(53, 46000 + m), source: coredns, destination: gateway, nodeName: "node-secret" }));
    // world → host and host → payments: no shop side
    hidden.push(buildFlow({ time: at(m, 14), IP: v4("198.51.100.66", "172.18.0.9"), l4: tcp(47000 + m, 22), source: worldEndpoint(), destination: hostEndpoint(), nodeName: "node-secret" }));
    hidden.push(buildFlow({ time: at(m, 15), IP: v4("172.18.0.9", "10.9.0.2"), l4: tcp(48000 + m, 8081), source: hostEndpoint(), destination: ledger, nodeName: "node-secret" }));
  }
  return { visible, hidden };
}

const seeded = seedFlows();
// tokens need no access file; the gRPC hook's client certificates do
const accessFile = path.join(mkdtempSync(path.join(os.tmpdir(), "flowlens-access-")), "access.yaml");
writeFileSync(accessFile, "rules:\n  - group: platform\n    role: admin\n    namespaces: ['*']\ncertificates:\n  - commonName: hubble-shop\n    role: viewer\n    namespaces: [shop]\n");
const env = useApiRuntime(
  "postgres",
  (e) => {
    e.relay.setNodes([{ name: "node-a" }, { name: "node-secret" }]);
    e.publish(...[...seeded.visible, ...seeded.hidden].map(responseOf));
  },
  { extraEnv: { FLOWLENS_AUTH: "on", FLOWLENS_AUTH_CONFIG: accessFile }, timeoutMs: 120_000 },
);

const tokens: Record<"shopViewer" | "shopAuditor" | "shopPattern" | "admin" | "expired" | "revoked", string> = {} as never;

beforeAll(async () => {
  const repo = authRepoFor(env.rt.db);
  const make = async (name: string, role: string, namespaces: string[], expiresAt?: Date) => (await repo.createToken({ name, role, namespaces, createdBy: "test", expiresAt })).token;
  tokens.shopViewer = await make("shop-viewer", "viewer", ["shop"]);
  tokens.shopAuditor = await make("shop-auditor", "auditor", ["shop"]);
  tokens.shopPattern = await make("shop-pattern", "auditor", ["sh*", "nothing-here"]);
  tokens.admin = await make("admin", "admin", ["*"]);
  tokens.expired = await make("expired", "admin", ["*"], new Date(Date.now() - 1000));
  const revoked = await repo.createToken({ name: "revoked", role: "admin", namespaces: ["*"], createdBy: "test" });
  await repo.revokeToken(revoked.row.id);
  tokens.revoked = revoked.token;
}, 30_000);

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const get = (h: Handler, url: string, token: string) => call(h, url, bearer(token));

/** a flow's JSON: visible to `shop` when either side is in shop */
const shopSees = (f: FlowJson) => {
  const { source, destination } = f as { source?: { namespace?: string }; destination?: { namespace?: string } };
  return source?.namespace === "shop" || destination?.namespace === "shop";
};

/** Flows in an answer, where the answer is made of flows (to check each one structurally). */
function flowsIn(body: string, contentType: string): FlowJson[] | null {
  if (contentType.includes("ndjson")) {
    return body
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { flow?: FlowJson })
      .filter((x) => x.flow)
      .map((x) => x.flow!);
  }
  if (contentType.includes("json")) {
    const j = JSON.parse(body) as { flows?: FlowItem[] };
    return Array.isArray(j.flows) ? j.flows.map((i) => i.flow as FlowJson) : null;
  }
  return null;
}

interface Row {
  route: string;
  handler: Handler;
  query: string;
  /** the shop token to use (exports need an auditor) */
  as: "shopViewer" | "shopAuditor" | "shopPattern";
}

const FLOW_PARAMS = [
  "",
  "namespace=payments",
  "from-namespace=payments",
  "to-namespace=payments",
  "pod=payments/",
  "label=k8s:app=gateway",
  "ip=10.9.0.0/16",
  "from-ip=198.51.100.66",
  "fqdn=secret-bank.example",
  "verdict=DROPPED",
  "protocol=dns",
  "protocol=http",
  "http-path=secret",
  "node-name=node-secret",
  "traffic-direction=egress",
  "last=30",
];

const ROWS: Row[] = [
  ...FLOW_PARAMS.map((q): Row => ({ route: "/api/flows", handler: flowsGET, query: q, as: "shopViewer" })),
  ...FLOW_PARAMS.flatMap((q): Row[] => [
    { route: "/api/flows", handler: flowsGET, query: `${q}&format=jsonl`, as: "shopAuditor" },
    { route: "/api/flows", handler: flowsGET, query: `${q}&format=csv`, as: "shopPattern" },
  ]),
  ...["", "namespace=payments", "pod=payments/", "verdict=DROPPED&verdict=AUDIT"].flatMap((q): Row[] => [
    { route: "/api/drops", handler: dropsGET, query: q, as: "shopViewer" },
    { route: "/api/drops", handler: dropsGET, query: `${q}&format=csv`, as: "shopAuditor" },
    { route: "/api/drops", handler: dropsGET, query: `${q}&format=jsonl&rows=raw`, as: "shopAuditor" },
  ]),
  ...["", "namespace=payments", "protocol=tcp", "noise=show"].map((q): Row => ({ route: "/api/graph", handler: graphGET, query: q, as: "shopViewer" })),
  ...["", "namespace=payments", "fqdn=secret-bank.example"].flatMap((q): Row[] => [
    { route: "/api/dns", handler: dnsGET, query: q, as: "shopViewer" },
    { route: "/api/dns/summary", handler: dnsSummaryGET, query: q, as: "shopViewer" },
  ]),
  ...["", "namespace=payments", "buckets=10"].map((q): Row => ({ route: "/api/policies", handler: policiesGET, query: q, as: "shopViewer" })),
];

const url = (r: Row) => `${r.route}?${[RANGE, r.query].filter(Boolean).join("&")}`;

describe("a token scoped to shop gets nothing of a flow neither from nor to shop", () => {
  it.each(ROWS.map((r) => [`${r.route}?${r.query} as ${r.as}`, r] as const))("%s", async (_name, row) => {
    const res = await get(row.handler, url(row), tokens[row.as]);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.text();
    for (const s of SECRETS) expect(body, `${s} in ${url(row)}`).not.toContain(s);
    const flows = flowsIn(body, res.headers.get("content-type") ?? "");
    if (flows) expect(flows.filter((f) => !shopSees(f))).toEqual([]);
    if (res.headers.get("content-type")?.includes("csv")) {
      const [head, ...cells] = parseCsv(body);
      const src = head.indexOf("source_namespace");
      const dst = head.indexOf("destination_namespace");
      // grouped drop rows name their ends as namespace/workload
      const gs = head.indexOf("source");
      const gd = head.indexOf("destination");
      expect(src >= 0 || gs >= 0, head.join(",")).toBe(true);
      for (const c of cells.filter((c) => c.length > 1)) {
        if (src >= 0) expect([c[src], c[dst]]).toContain("shop");
        else expect([c[gs], c[gd]].some((e) => e.startsWith("shop/")), `${c[gs]} → ${c[gd]}`).toBe(true);
      }
    }
  });

  it("while the admin token gets the same routes' secrets (the checks above can fail)", async () => {
    const bases = [...new Map(ROWS.filter((r) => r.query === "" || r.query.startsWith("&")).map((r) => [r.route + r.query, r])).values()];
    for (const row of bases) {
      const res = await get(row.handler, url(row), tokens.admin);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(
        SECRETS.some((s) => body.includes(s)),
        `admin sees no secret in ${url(row)}`,
      ).toBe(true);
    }
  });

  it("the shop token sees its own flows (the scope is not simply 'nothing')", async () => {
    const res = await get(flowsGET, `/api/flows?${RANGE}&limit=1000`, tokens.shopViewer);
    const { flows } = (await res.json()) as { flows: FlowItem[] };
    expect(flows.length).toBe(seeded.visible.length);
    const graph = (await (await get(graphGET, `/api/graph?${RANGE}`, tokens.shopViewer)).json()) as { nodes: { namespace?: string; label: string }[]; edges: unknown[] };
    expect(graph.nodes.map((n) => n.namespace ?? n.label).sort()).toEqual(expect.arrayContaining(["shop", "payments"]));
    expect(graph.nodes.filter((n) => n.namespace === "payments").map((n) => n.label)).toEqual(["ledger"]);
  });

  it("the map's focus series count only visible flows", async () => {
    const admin = (await (await get(graphGET, `/api/graph?${RANGE}`, tokens.admin)).json()) as { nodes: { id: string; label: string }[] };
    const gw = admin.nodes.find((n) => n.label === "gateway")!;
    expect(gw).toBeDefined();
    const series = async (token: string) => {
      const r = await get(graphGET, `/api/graph?${RANGE}&focus=${encodeURIComponent(gw.id)}&only=series`, token);
      expect(r.status).toBe(200);
      const b = (await r.json()) as { series?: { counts: number[] } };
      return (b.series?.counts ?? []).reduce((a, n) => a + n, 0);
    };
    expect(await series(tokens.admin)).toBeGreaterThan(0);
    expect(await series(tokens.shopViewer)).toBe(0);
  });

  it("/api/policies/diff keeps to shop; a suggestion for payments is refused", async () => {
    const diff = await get(diffGET, `/api/policies/diff?at=${encodeURIComponent("2026-11-25T10:20:00Z")}&window=20m&edges=all`, tokens.shopViewer);
    expect(diff.status).toBe(200);
    const text = await diff.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
    const adminDiff = await (await get(diffGET, `/api/policies/diff?at=${encodeURIComponent("2026-11-25T10:20:00Z")}&window=20m&edges=all`, tokens.admin)).text();
    expect(adminDiff).toContain("gateway");
    expect((await get(suggestGET, `/api/policies/suggest?namespace=payments&${RANGE}`, tokens.shopViewer)).status).toBe(403);
    const shop = await get(suggestGET, `/api/policies/suggest?namespace=shop&${RANGE}`, tokens.shopViewer);
    expect(shop.status).toBe(200);
    expect(await shop.text()).not.toContain("gateway");
  });

  it("/api/status and /api/status/events name no node for a scoped caller", async () => {
    for (const [h, u] of [
      [statusGET, "/api/status"],
      [statusEventsGET, "/api/status/events"],
    ] as const) {
      const scoped = await (await get(h, u, tokens.shopViewer)).text();
      expect(scoped).not.toContain("node-secret");
      expect(scoped).not.toContain("node-a");
      const admin = await (await get(h, u, tokens.admin)).text();
      expect(admin).toContain("node-secret");
    }
    const s = (await (await get(statusGET, "/api/status", tokens.shopViewer)).json()) as { nodes: unknown[]; access: { namespaces: string[]; role: string } };
    expect(s.nodes).toHaveLength(2);
    expect(s.access).toMatchObject({ namespaces: ["shop"], role: "viewer" });
  });

  it("/api/live streams only flows shop may see", async () => {
    const abort = new AbortController();
    const res = await call(liveGET, "/api/live", { ...bearer(tokens.shopViewer), signal: abort.signal });
    expect(res.status).toBe(200);
    const sse = new SseReader(res.body!);
    await waitFor(() => sse.comments.includes("connected"), "connected", 5000);
    const now = () => BigInt(Date.now()) * 1_000_000n;
    const secret = buildFlow({ time: now(), IP: v4("10.9.0.1", "10.9.0.2"), source: gateway, destination: ledger, nodeName: "node-secret" });
    const toWorld = buildFlow({ time: now(), IP: v4("10.9.0.2", "203.0.113.77"), source: ledger, destination: worldEndpoint(), nodeName: "node-secret" });
    const sentinel = buildFlow({ time: now(), IP: v4("10.1.0.1", "10.2.0.1"), source: frontend, destination: ledger, nodeName: "node-a" });
    env.publish(...[secret, toWorld, sentinel].map(responseOf));
    const flows = () => sse.events.filter((e) => e.event === "flow").map((e) => JSON.parse(e.data) as FlowItem);
    await waitFor(() => flows().some((f) => f.key === sentinel.uuid), "the sentinel on the live stream", 15_000);
    expect(flows().map((f) => f.key)).toEqual([sentinel.uuid]);
    abort.abort();
    await env.settle();
  });
});

describe("credentials", () => {
  const routes: [string, Handler][] = [
    ["/api/flows", flowsGET],
    ["/api/live", liveGET],
    ["/api/drops", dropsGET],
    ["/api/graph", graphGET],
    ["/api/dns", dnsGET],
    ["/api/dns/summary", dnsSummaryGET],
    ["/api/policies", policiesGET],
    ["/api/status", statusGET],
    ["/api/status/events", statusEventsGET],
    ["/api/quarantine", quarantineGET],
    ["/api/tokens", tokensGET],
    ["/api/audit", auditGET],
    ["/metrics", metricsGET],
  ];

  it.each(routes)("%s answers 401 without a token, with an unknown, an expired or a revoked one", async (path, h) => {
    const u = `${path}${path.startsWith("/api/dns") ? `?${RANGE}` : ""}`;
    expect((await call(h, u)).status).toBe(401);
    for (const t of ["flk_not-a-token", tokens.expired, tokens.revoked]) {
      const res = await get(h, u, t);
      expect(res.status, `${path} with ${t.slice(0, 8)}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await call(h, u, { headers: { authorization: "Basic dXNlcjpwYXNz" } })).status).toBe(401);
  });

  it("a viewer gets 403 on every export and admin route; an auditor may export but not administer", async () => {
    for (const [h, u] of [
      [flowsGET, `/api/flows?${RANGE}&format=jsonl`],
      [flowsGET, `/api/flows?${RANGE}&format=csv`],
      [dropsGET, `/api/drops?${RANGE}&format=csv`],
      [dropsGET, `/api/drops?${RANGE}&format=jsonl&rows=raw`],
      [suggestGET, `/api/policies/suggest?namespace=shop&format=yaml&${RANGE}`],
      [quarantineGET, "/api/quarantine"],
      [tokensGET, "/api/tokens"],
      [auditGET, "/api/audit"],
    ] as const) {
      expect((await get(h, u, tokens.shopViewer)).status, u).toBe(403);
    }
    expect((await get(flowsGET, `/api/flows?${RANGE}&format=csv`, tokens.shopAuditor)).status).toBe(200);
    expect((await get(tokensGET, "/api/tokens", tokens.shopAuditor)).status).toBe(403);
    expect((await get(auditGET, "/api/audit", tokens.shopAuditor)).status).toBe(403);
  });

  it("/metrics takes any valid token", async () => {
    const res = await get(metricsGET, "/metrics", tokens.shopViewer);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/flowlens_flows_ingested_total/);
  });
});

describe("tokens and the audit log", () => {
  it("an admin token creates a token (shown once, stored hashed), uses it, revokes it: 401 after", async () => {
    const created = await call(tokensPOST, "/api/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "grafana", role: "viewer", namespaces: ["shop"], expires: "30d" }),
    });
    expect(created.status).toBe(201);
    const t = (await created.json()) as { token: string; id: number; expiresAt: string };
    expect(t.token).toMatch(/^flk_[A-Za-z0-9_-]{43}$/);
    const stored = await env.rt.db.query<{ hash: string }>(`SELECT hash FROM api_tokens WHERE id = $1`, [t.id]);
    expect(stored[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(await env.rt.db.query(`SELECT * FROM api_tokens`))).not.toContain(t.token);
    expect((await get(flowsGET, `/api/flows?${RANGE}&limit=1`, t.token)).status).toBe(200);
    const bad = await call(tokensPOST, "/api/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x", role: "root", namespaces: ["shop"] }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ parameter: "role" });
    const del = await tokenDELETE(new Request(`http://flowlens.test/api/tokens/${t.id}`, { method: "DELETE", ...bearer(tokens.admin) }), { params: Promise.resolve({ id: String(t.id) }) });
    expect(del.status).toBe(200);
    expect((await get(flowsGET, `/api/flows?${RANGE}&limit=1`, t.token)).status).toBe(401);
  });

  it("records every export with who, the filter and the row count; the JSONL export of the log itself too", async () => {
    const res = await get(flowsGET, `/api/flows?${RANGE}&namespace=shop&format=jsonl`, tokens.shopAuditor);
    const lines = (await res.text()).split("\n").filter(Boolean).length;
    expect(lines).toBeGreaterThan(0);
    let entry: { actor: string; action: string; detail: Record<string, unknown> } | undefined;
    await waitFor(async () => {
      const page = (await (await get(auditGET, "/api/audit?action=export&limit=50", tokens.admin)).json()) as { items: (typeof entry)[] };
      entry = page.items.find((e) => e!.actor === "token:shop-auditor" && String(e!.detail.filter).includes("namespace=shop") && String(e!.detail.what) === "flows jsonl");
      return entry !== undefined;
    }, "the export in the audit log", 5000);
    expect(entry!.detail).toMatchObject({ rows: lines, outcome: "complete", scope: ["shop"] });

    const log = await get(auditGET, "/api/audit?format=jsonl", tokens.admin);
    expect(log.status).toBe(200);
    const all = (await log.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { action: string; actor: string });
    expect(all.some((e) => e.action === "token-use" && e.actor === "token:shop-auditor")).toBe(true);
    expect(all.some((e) => e.action === "token-created")).toBe(true);
    await waitFor(async () => {
      const page = (await (await get(auditGET, "/api/audit?action=export&limit=5", tokens.admin)).json()) as { items: { detail: { what: string } }[] };
      return page.items.some((e) => e.detail.what === "audit jsonl");
    }, "the audit export in the audit log", 5000);
  });

  it("the audit log is append-only in the database itself", async () => {
    await expect(env.rt.db.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(env.rt.db.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
  });
});

describe("the gRPC server's authorization hook", () => {
  it("takes the same tokens as metadata and maps client certificates to identities", async () => {
    expect(await grpcAuthorize(env.rt.db, { authorization: `Bearer ${tokens.shopViewer}` })).toMatchObject({ ok: true, scope: ["shop"] });
    expect(await grpcAuthorize(env.rt.db, { authorization: `Bearer ${tokens.admin}` })).toMatchObject({ ok: true, scope: undefined });
    expect(await grpcAuthorize(env.rt.db, { authorization: `Bearer ${tokens.revoked}` })).toMatchObject({ ok: false, code: 16 });
    expect(await grpcAuthorize(env.rt.db, {})).toMatchObject({ ok: false, code: 16 });
    expect(await grpcAuthorize(env.rt.db, { certificateCommonName: "hubble-shop" })).toMatchObject({ ok: true, scope: ["shop"], caller: { name: "cert:hubble-shop" } });
    expect(await grpcAuthorize(env.rt.db, { certificateCommonName: "someone" })).toMatchObject({ ok: false, code: 7 });
    expect(await grpcAuthorize(env.rt.db, { authorization: `Bearer ${tokens.shopViewer}` }, "export")).toMatchObject({ ok: false, code: 7 });
  });
});

describe("the gRPC Observer server", () => {
  const bearer = (token?: string): grpc.Interceptor => (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        if (token) metadata.set("authorization", `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
  const flowsAs = async (token?: string) => {
    const client = observerClient((env.rt.grpc as { address: string }).address, grpc.credentials.createInsecure(), { interceptors: [bearer(token)] });
    try {
      const rs = await client.flows({ since: { seconds: BigInt(Date.parse(SINCE) / 1000) }, until: { seconds: BigInt(Date.parse(UNTIL) / 1000) } });
      return rs.filter((r) => r.responseTypes.case === "flow").map((r) => r.responseTypes.value as Flow);
    } finally {
      client.close();
    }
  };

  it("asks for a token, and a shop token streams only flows with shop on one side", async () => {
    expect(env.rt.grpc.state).toBe("serving");
    await expect(flowsAs()).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(flowsAs(tokens.revoked)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const shop = await flowsAs(tokens.shopViewer);
    expect(shop.length).toBeGreaterThan(0);
    for (const f of shop) expect([f.source?.namespace, f.destination?.namespace]).toContain("shop");
    const all = await flowsAs(tokens.admin);
    // the control: the admin's stream has the flows the shop token must not get
    expect(all.length).toBeGreaterThan(shop.length);
    expect(all.some((f) => f.source?.namespace === "payments" && f.destination?.namespace === "payments")).toBe(true);
  });
});

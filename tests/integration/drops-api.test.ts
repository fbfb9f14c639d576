/**
 * /api/drops and /api/policies on real PostgreSQL through the route handlers: a small cluster's
 * day with drops that carry denied_by, forwarded flows that carry allowed_by, and a policy change
 * (revision 7 → 8: backend-to-db deleted) in the middle. Answers the reviewer's question ("what was
 * denied in namespace shop yesterday, by which policy", and the export of it) and the learner's
 * ("what did my last policy change do").
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DropReason, TrafficDirection, Verdict, type PolicySchema } from "@/proto/gen/flow/flow_pb";
import { GET as dropsGET } from "@/app/api/drops/route";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as policiesGET } from "@/app/api/policies/route";
import { GET as diffGET } from "@/app/api/policies/diff/route";
import { GET as suggestGET } from "@/app/api/policies/suggest/route";
import { GROUP_COLUMNS, RAW_COLUMNS } from "@/server/domain/drops/drop-export";
import type { DropGroup } from "@/server/domain/drop-group";
import type { DropWhy } from "@/server/domain/drops/drop-why";
import type { FlowPage } from "@/server/domain/flow-item";
import type { EdgeDiff } from "@/server/domain/policies/policy-diff";
import type { PoliciesResult } from "@/server/db/policies-repo";
import { call, parseCsv, qs, useApiRuntime } from "../fixtures/api-harness";
import { storeSkipReason, storeUnderTest } from "../fixtures/test-db";
import { buildFlow, drop, endpoint, responseOf, tcp, udp, worldEndpoint } from "../fixtures/flow-builder";

type Pol = MessageInitShape<typeof PolicySchema>;
const pol = (name: string, revision: bigint, kind = "NetworkPolicy"): Pol => ({ name, namespace: "shop", kind, revision, labels: [`k8s:io.cilium.k8s.policy.name=${name}`] });

const fe = endpoint({ ns: "shop", app: "frontend" });
const be = endpoint({ ns: "shop", app: "backend" });
const db = endpoint({ ns: "shop", app: "database" });
const prom = endpoint({ ns: "monitoring", app: "prometheus" });
const dns = endpoint({ ns: "kube-system", app: "coredns", labels: ["k8s:k8s-app=kube-dns"] });
const other = endpoint({ ns: "payments", app: "ledger" });

// "yesterday" for the reviewer: 2026-11-22; the change happens at 12:00
const DAY = "2026-11-22";
const at = (hh: number, mm: number, ss = 0) => `${DAY}T${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}:${String(ss).padStart(2, "0")}Z`;
const CHANGE = at(12, 0);

const ingressDeny = (name: string, rev: bigint) => ({ ingressDeniedBy: [pol(name, rev)] });

function seed(publish: (...r: ReturnType<typeof responseOf>[]) => void): void {
  const flows = [];
  for (let i = 0; i < 30; i++) {
    const before = i < 15;
    const rev = before ? 7n : 8n;
    const t = before ? at(11, 50 + Math.floor(i / 2), i % 2) : at(12, 1 + Math.floor((i - 15) / 2), i % 2);
    // frontend → backend: allowed throughout (CNP with an HTTP rule)
    flows.push(buildFlow({ time: t, source: fe, destination: be, l4: tcp(40000 + i, 8080), ingressAllowedBy: [pol("frontend-to-backend", rev, "CiliumNetworkPolicy")] }));
    // DNS egress: allowed throughout
    flows.push(buildFlow({ time: t, source: be, destination: dns, l4: udp(41000 + i, 53), trafficDirection: TrafficDirection.EGRESS, egressAllowedBy: [pol("allow-dns-egress", rev, "CiliumNetworkPolicy")] }));
    // backend → database: allowed before the change, dropped (default deny) after it
    flows.push(
      before
        ? buildFlow({ time: t, source: be, destination: db, l4: tcp(42000 + i, 5432), ingressAllowedBy: [pol("backend-to-db", rev)] })
        : drop({ reason: DropReason.POLICY_DENIED }, { time: t, source: be, destination: db, l4: tcp(42000 + i, 5432, { SYN: true }), ...ingressDeny("default-deny", rev) }),
    );
  }
  // prometheus → backend:9090: denied all day, named default-deny
  // (an agent stamps the revision in force: 8 after the change)
  for (let i = 0; i < 6; i++) flows.push(drop({ reason: DropReason.POLICY_DENIED }, { time: at(9 + i, 15), source: prom, destination: be, l4: tcp(43000 + i, 9090, { SYN: true }), nodeName: i % 2 ? "kind-worker2" : "kind-worker", ...ingressDeny("default-deny", 9 + i >= 12 ? 8n : 7n) }));
  // frontend → the internet: explicit deny
  for (let i = 0; i < 4; i++) {
    flows.push(
      drop(
        { reason: DropReason.POLICY_DENY },
        {
          time: at(10, i),
          trafficDirection: TrafficDirection.EGRESS,
          source: fe,
          destination: worldEndpoint(),
          destinationNames: ["evil.example"],
          IP: { source: "10.244.1.10", destination: "198.51.100.7", ipVersion: 1 },
          l4: tcp(44000 + i, 443, { SYN: true }),
          egressDeniedBy: [pol("deny-external-egress", 7n, "CiliumNetworkPolicy")],
        },
      ),
    );
  }
  // an AUDIT flow, a non-policy drop, an unknown reason, other namespace, and the day before
  flows.push(drop({ reason: DropReason.POLICY_DENIED }, { time: at(8, 0), verdict: Verdict.AUDIT, source: fe, destination: db, l4: tcp(45000, 5432, { SYN: true }) }));
  flows.push(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { time: at(8, 5), source: fe, destination: be }));
  flows.push(drop({ reason: 250 }, { time: at(8, 6), source: fe, destination: be }));
  flows.push(drop({ reason: DropReason.POLICY_DENIED }, { time: at(9, 0), source: other, destination: endpoint({ ns: "payments", app: "db" }), ...ingressDeny("payments-deny", 3n) }));
  flows.push(drop({ reason: DropReason.POLICY_DENIED }, { time: "2026-11-21T23:59:59Z", source: prom, destination: be, l4: tcp(1, 9090, { SYN: true }) }));
  publish(...flows.map(responseOf));
}

const YESTERDAY = { since: `${DAY}T00:00:00Z`, until: "2026-11-23T00:00:00Z" };

interface DropsJson {
  filter: string;
  total: number;
  groupCount: number;
  groups: (DropGroup & { why: DropWhy; flows: string })[];
  timeline: { startNs: string; bucketNs: string; buckets: number; series: { name: string; counts: number[] }[] };
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

const KIND = storeUnderTest("postgres");
const SKIP = storeSkipReason(KIND);

describe.skipIf(SKIP !== null)(`drops and policies API on ${KIND}${SKIP ? ` — skipped: ${SKIP}` : ""}`, () => {
  useApiRuntime(KIND, ({ publish }) => seed(publish));

  it("answers: what was denied in namespace shop yesterday, by which policy", async () => {
    const r = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop" })}`));
    // 15 backend→db + 6 prometheus + 4 internet + audit + CT + unknown = 28; payments and the day before are out
    expect(r.total).toBe(28);
    const find = (src: string, dst: string, port: number) => r.groups.find((g) => g.src.workload?.endsWith(src) && (g.dst.workload?.endsWith(dst) || g.dst.names.includes(dst)) && g.port === port)!;
    const dbDrops = find("backend", "database", 5432);
    expect(dbDrops).toMatchObject({ count: 15, reasonName: "POLICY_DENIED", direction: "INGRESS", verdict: "DROPPED" });
    expect(dbDrops.deniedBy).toEqual([{ name: "default-deny", namespace: "shop", kind: "NetworkPolicy", revision: "8" }]);
    expect(dbDrops.why.why).toMatch(/NetworkPolicy shop\/default-deny \(revision 8\) selects shop\/Deployment\/database/);
    const scrape = find("prometheus", "backend", 9090);
    expect(scrape.count).toBe(6);
    expect(scrape.nodes.sort()).toEqual(["kind-worker", "kind-worker2"]);
    const internet = find("frontend", "evil.example", 443);
    expect(internet).toMatchObject({ count: 4, reasonName: "POLICY_DENY", direction: "EGRESS" });
    expect(internet.why.why).toMatch(/explicitly denied by CiliumNetworkPolicy shop\/deny-external-egress/);
    expect(r.groups.find((g) => g.reasonName === "250")!.why.why).toMatch(/not known/);
    expect(r.groups.find((g) => g.verdict === "AUDIT")!.why.why).toMatch(/^Would have been dropped/);
    // the filter the answer is for, with absolute times and the default verdicts
    expect(r.filter).toContain("namespace=shop");
    expect(r.filter).toContain("verdict=DROPPED&verdict=AUDIT");
    // a timeline per reason adds up to the total
    const sum = r.timeline.series.reduce((s, x) => s + x.counts.reduce((a, b) => a + b, 0), 0);
    expect(sum).toBe(28);
    expect(r.timeline.series[0].name).toBe("POLICY_DENIED");
  });

  it("filters like /flows (reason, direction, port) and sorts", async () => {
    const deny = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop", "drop-reason-desc": "POLICY_DENY" })}`));
    expect(deny.groups.map((g) => g.count)).toEqual([4]);
    const port = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, "to-port": "9090", "traffic-direction": "ingress" })}`));
    expect(port.total).toBe(6);
    const byPort = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop", sort: "port", order: "desc" })}`));
    expect(byPort.groups[0].port).toBe(9090);
    const audit = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, verdict: "AUDIT" })}`));
    expect(audit.total).toBe(1);
  });

  it("a group's link lists exactly its flows on /api/flows", async () => {
    const r = await json<DropsJson>(await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop" })}`));
    for (const g of r.groups.filter((x) => x.count > 1)) {
      const page = await json<FlowPage>(await call(flowsGET, `/api/flows?${g.flows}&limit=1000`));
      expect(page.flows.length, g.flows).toBe(g.count);
    }
  });

  it("rejects bad input with the parameter named", async () => {
    for (const [query, parameter] of [
      ["verdict=FORWARDED", "verdict"],
      ["sort=nope", "sort"],
      ["rows=raw", "rows"],
      ["namespace=Not_A_Namespace", "namespace"],
      ["bogus=1", "bogus"],
    ]) {
      const res = await call(dropsGET, `/api/drops?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).parameter).toBe(parameter);
    }
    expect((await call(diffGET, "/api/policies/diff")).status).toBe(400);
    expect((await (await call(suggestGET, "/api/policies/suggest")).json()).parameter).toBe("namespace");
  });

  it("exports the grouped answer as CSV with WHO/WHAT/WHEN/WHERE/WHY, the filter and the export time", async () => {
    const res = await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop", format: "csv" })}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="flowlens-drops-grouped-.+\.csv"$/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual([...GROUP_COLUMNS]);
    const col = (n: (typeof GROUP_COLUMNS)[number]) => GROUP_COLUMNS.indexOf(n);
    const body = rows.slice(1);
    expect(body.reduce((s, r) => s + Number(r[col("count")]), 0)).toBe(28);
    for (const r of body) {
      expect(Date.parse(r[col("exported_at")])).toBeGreaterThan(Date.parse("2026-01-01"));
      expect(r[col("filter")]).toContain("namespace=shop");
      expect(r[col("filter")]).toContain(`since=${encodeURIComponent(YESTERDAY.since)}`);
      for (const c of ["who", "what", "when", "where", "why"] as const) expect(r[col(c)]).not.toBe("");
    }
    const db = body.find((r) => r[col("destination")] === "shop/Deployment/database" && r[col("port")] === "5432" && r[col("verdict")] === "DROPPED")!;
    expect(db[col("denied_by")]).toBe("shop/default-deny");
  });

  it("exports every raw denied flow as JSONL (streamed) and CSV with the same audit columns", async () => {
    const res = await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop", format: "jsonl", rows: "raw" })}`);
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(28);
    for (const l of lines) {
      expect(["DROPPED", "AUDIT"]).toContain(l.flow.verdict);
      expect(l.filter).toContain("namespace=shop");
      expect(l.who && l.what && l.when && l.where && l.why).toBeTruthy();
    }
    const csv = parseCsv(await (await call(dropsGET, `/api/drops?${qs({ ...YESTERDAY, namespace: "shop", format: "csv", rows: "raw" })}`)).text());
    expect(csv[0]).toEqual([...RAW_COLUMNS]);
    expect(csv).toHaveLength(29);
  });

  it("lists the policies with allowed/denied counts, revisions, and the moment revision 8 appeared", async () => {
    const r = await json<PoliciesResult>(await call(policiesGET, `/api/policies?${qs({ ...YESTERDAY, namespace: "shop" })}`));
    const p = (name: string) => r.policies.find((x) => x.name === name)!;
    expect(p("backend-to-db")).toMatchObject({ allowed: 15, denied: 0 });
    expect(p("backend-to-db").revisions.map((x) => x.revision)).toEqual(["7"]);
    expect(p("default-deny")).toMatchObject({ allowed: 0, denied: 21 });
    expect(p("frontend-to-backend").allowedSeries.reduce((a, b) => a + b, 0)).toBe(30);
    expect(r.moments, JSON.stringify(r.moments)).toHaveLength(1);
    const m = r.moments[0];
    expect(m).toMatchObject({ revision: "8", previous: "7", gone: ["shop/backend-to-db"] });
    expect(BigInt(m.atNs)).toBeGreaterThanOrEqual(BigInt(Date.parse(CHANGE)) * 1_000_000n);
    expect(BigInt(m.atNs)).toBeLessThan(BigInt(Date.parse(at(12, 2))) * 1_000_000n);
  });

  it("before/after at the change: backend → database became dropped, the rest unchanged", async () => {
    const r = await json<{ edges: EdgeDiff[]; summary: Record<string, number> }>(await call(diffGET, `/api/policies/diff?${qs({ at: CHANGE, window: "15m", namespace: "shop" })}`));
    const changed = r.edges.filter((e) => e.change !== "unchanged");
    expect(changed.map((e) => `${e.srcLabel} -> ${e.dstLabel} ${e.service} ${e.change}`)).toEqual([
      "shop/Deployment/backend -> shop/Deployment/database TCP/5432 became-dropped",
    ]);
    expect(changed[0].before.allowedBy).toEqual(["shop/backend-to-db"]);
    expect(changed[0].after.deniedBy).toEqual(["shop/default-deny"]);
    expect(r.summary.unchanged).toBe(2);
  });

  it("suggests a namespace policy set from delivered traffic, with its coverage preview", async () => {
    const r = await json<{ policies: { name: string; ciliumYaml: string }[]; coverage: { src: string; dst: string; service: string; outcome: string; observed: string }[] }>(
      await call(suggestGET, `/api/policies/suggest?${qs({ ...YESTERDAY, namespace: "shop" })}`),
    );
    // frontend needs egress to backend, backend ingress from frontend + egress to database, database ingress
    expect(r.policies.map((p) => p.name)).toEqual(["default-deny", "allow-dns-egress", "backend-allow", "database-allow", "frontend-allow"]);
    for (const p of r.policies) expect(parse(p.ciliumYaml).kind).toBe("CiliumNetworkPolicy");
    const cov = (src: string, dst: string) => r.coverage.find((c) => c.src.endsWith(src) && c.dst.includes(dst))!;
    // delivered before the change and denied after it: delivered traffic, so the suggestion allows it
    expect(cov("backend", "database")).toMatchObject({ observed: "mixed", outcome: "allowed" });
    expect(cov("prometheus", "backend")).toMatchObject({ observed: "denied", outcome: "dropped" });
    expect(cov("frontend", "evil.example")).toMatchObject({ observed: "denied", outcome: "dropped" });
    // audit mode let it through (the flow is AUDIT at the database's ingress): it was delivered
    expect(cov("frontend", "database")).toMatchObject({ observed: "delivered", outcome: "allowed" });
    const yaml = await call(suggestGET, `/api/policies/suggest?${qs({ ...YESTERDAY, namespace: "shop", format: "yaml" })}`);
    expect(yaml.headers.get("content-type")).toMatch(/yaml/);
    expect((await yaml.text()).split("---\n")).toHaveLength(5);
  });
});

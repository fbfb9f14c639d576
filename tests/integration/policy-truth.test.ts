/**
 * What the learner and auditor views claim, on the demo cluster's own traffic (DemoTraffic, seeded,
 * fixed times) served by a real gRPC relay and stored in PostgreSQL: 13 minutes of the shop with a
 * policy change every 3 minutes (each add and removal once), an agent restart (revisions start
 * over), 13 more minutes.
 * - every policy add/remove moment — the repeats after the restart too — shows the connection
 *   that changed, in the right direction;
 * - a denied packet (policy-verdict + drop event) counts once, and /drops, its timeline, the map and
 *   the exports agree on the number;
 * - the suggestion allows nothing that was not delivered, names api.stripe.com by toFQDNs and, for
 *   NetworkPolicy, by every IP it was seen at; an unknown namespace gets a message, not a policy.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { EventType } from "@/server/demo/demo-flow-builder";
import { DemoTraffic } from "@/server/demo/demo-traffic";
import type { GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { GET as dropsGET } from "@/app/api/drops/route";
import { GET as graphGET } from "@/app/api/graph/route";
import { GET as policiesGET } from "@/app/api/policies/route";
import { GET as diffGET } from "@/app/api/policies/diff/route";
import { GET as suggestGET } from "@/app/api/policies/suggest/route";
import { POLICY_REASONS } from "@/server/domain/shared/drop-reasons";
import { RAW_COLUMNS, GROUP_COLUMNS, PACKET_COUNTED } from "@/server/domain/drops/drop-export";
import type { DropGroup } from "@/server/domain/drops/drop-group";
import { allowRuleFor } from "@/server/domain/policies/policy-allow";
import type { EdgeDiff } from "@/server/domain/policies/policy-diff";
import type { PoliciesResult } from "@/server/db/policies/policies-repo";
import type { GraphResponse } from "@/server/domain/graph/graph-types";
import { call, parseCsv, qs, useApiRuntime } from "../fixtures/api-harness";

const MIN = 60_000;
const T0 = Date.parse("2026-11-20T10:00:00Z");
const RUN = 13 * MIN;
const RESTART = T0 + RUN + 5 * MIN;
const END = RESTART + RUN;
const iso = (ms: number) => new Date(ms).toISOString();
const RANGE = { since: iso(T0), until: iso(END) };

/** ground truth from what the demo generated */
const truth = { pvDrops: 0, datapathDrops: 0, flows: 0, stripeIps: new Set<string>() };

function seed(env: { publish: (...r: GetFlowsResponse[]) => void; relay: { publishAgentEvent: (e: never) => void } }) {
  // the agent runs 13 minutes, is down 5, restarts (its revisions start over at 12) and runs 13 more
  const runs = [
    new DemoTraffic({ startMs: T0, seed: 11, rate: 25, policyPeriodMs: 3 * MIN }),
    new DemoTraffic({ startMs: RESTART, seed: 12, rate: 25, policyPeriodMs: 3 * MIN }),
  ];
  const batches = [runs[0].advance(T0 + RUN), runs[1].advance(END)];
  for (const b of batches) {
    for (const r of b.flows) {
      if (r.responseTypes.case !== "flow") continue;
      const f = r.responseTypes.value;
      truth.flows++;
      if (f.verdict === 2 && f.eventType?.type === EventType.policyVerdict) truth.pvDrops++;
      if (f.verdict === 2 && f.eventType?.type === EventType.drop && !POLICY_REASONS.has(f.dropReasonDesc)) truth.datapathDrops++;
      if (f.destinationNames.includes("api.stripe.com") && f.IP?.destination) truth.stripeIps.add(f.IP.destination);
    }
    env.publish(...b.flows);
    for (const e of b.agentEvents) env.relay.publishAgentEvent(e as never);
  }
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

const isoNs = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();

describe("policy truth on the demo cluster's traffic", () => {
  // ~40k flows generated, served and stored before the first test: slower than most on a busy machine
  const env = useApiRuntime("postgres", seed, { ringSize: 65535, timeoutMs: 300_000 });

  it("lists every policy change as a moment, the ones after the agent restart too", async () => {
    // agent events arrive on their own stream: wait until the changes of both runs are in
    let r: PoliciesResult | undefined;
    for (let i = 0; i < 100; i++) {
      r = await json<PoliciesResult>(await call(policiesGET, `/api/policies?${qs({ ...RANGE, namespace: "shop" })}`));
      if (r.moments.filter((m) => m.changes.length).length >= 8) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(r!.agentEvents).toBe(true);
    const changes = r!.moments.filter((m) => m.changes.length);
    // 4 changes per run, revisions 13…16 twice
    expect(changes.map((m) => m.revision)).toEqual(["13", "14", "15", "16", "13", "14", "15", "16"]);
    for (const m of changes) expect(m.source).toBe("flows+agent-events");
    const restart = r!.moments.find((m) => m.restart && m.nodes.length);
    expect(restart).toMatchObject({ previous: "16", revision: "12" });
    expect(Math.abs(Number(BigInt(restart!.atNs) / 1_000_000n) - RESTART)).toBeLessThan(MIN);
  });

  it("before/after each add and removal shows the connection that changed, in the right direction", async () => {
    const r = await json<PoliciesResult>(await call(policiesGET, `/api/policies?${qs({ ...RANGE, namespace: "shop" })}`));
    const expected: Record<string, [string, string]> = {
      "shop/backend-to-db": ["shop/Deployment/backend -> shop/StatefulSet/database TCP/5432", ""],
      "shop/allow-metrics-scrape": ["monitoring/StatefulSet/prometheus-k8s -> shop/Deployment/backend TCP/9090", ""],
    };
    const seen: string[] = [];
    for (const m of r.moments.filter((x) => x.changes.length)) {
      const [change] = m.changes;
      const d = await json<{ edges: EdgeDiff[] }>(await call(diffGET, `/api/policies/diff?${qs({ at: isoNs(m.atNs), window: "2m", namespace: "shop" })}`));
      const want = change.action === "deleted" ? "became-dropped" : "became-allowed";
      const label = expected[change.policy][0];
      const edge = d.edges.find((e) => `${e.srcLabel} -> ${e.dstLabel} ${e.service}` === label);
      expect(edge?.change, `${change.policy} ${change.action} at ${isoNs(m.atNs)}`).toBe(want);
      // nothing else flipped the other way
      expect(d.edges.filter((e) => e.change === (want === "became-allowed" ? "became-dropped" : "became-allowed"))).toEqual([]);
      const evidence = want === "became-allowed" ? edge!.after : edge!.before;
      expect(evidence.ingress.allowedBy).toContain(change.policy);
      expect(evidence.flows).toMatch(/^since=/);
      seen.push(`${change.policy} ${change.action}`);
    }
    // both adds and both removals, before and after the restart
    expect(seen.sort()).toEqual(
      ["shop/allow-metrics-scrape updated", "shop/allow-metrics-scrape deleted", "shop/backend-to-db updated", "shop/backend-to-db deleted"].flatMap((x) => [x, x]).sort(),
    );
  });

  it("counts a denied packet once: /drops, its timeline, the map and the exports agree", async () => {
    expect(truth.pvDrops).toBeGreaterThan(1000);
    const packets = truth.pvDrops + truth.datapathDrops;
    const d = await json<{ total: number; groups: DropGroup[]; timeline: { series: { counts: number[] }[] } }>(await call(dropsGET, `/api/drops?${qs({ ...RANGE, limit: "5000" })}`));
    expect(d.total).toBe(packets);
    expect(d.groups.reduce((s, g) => s + g.count, 0)).toBe(packets);
    expect(d.timeline.series.reduce((s, x) => s + x.counts.reduce((a, b) => a + b, 0), 0)).toBe(packets);
    // the drop events alone, or the policy verdicts alone, are what a filter on the event type asks for
    const events = await json<{ total: number }>(await call(dropsGET, `/api/drops?${qs({ ...RANGE, type: "policy-verdict" })}`));
    expect(events.total).toBe(truth.pvDrops);

    const g = await json<GraphResponse>(await call(graphGET, `/api/graph?${qs({ ...RANGE, noise: "off" })}`));
    expect(g.edges.reduce((s, e) => s + e.verdicts.dropped, 0)).toBe(packets);
    // per connection too: the map's prometheus → backend drops are /drops' groups of it
    const scrapeEdge = g.edges.find((e) => e.source.endsWith("/prometheus-k8s") && e.target.endsWith("/shop/backend"))!;
    const scrapeGroups = d.groups.filter((x) => x.src.workload?.endsWith("prometheus-k8s") && x.dst.workload?.endsWith("/backend"));
    expect(scrapeEdge.verdicts.dropped).toBe(scrapeGroups.reduce((s, x) => s + x.count, 0));

    // a view of the drop events alone counts every one of them, on both pages
    const dropEvents = truth.pvDrops + truth.datapathDrops;
    const gDrops = await json<GraphResponse>(await call(graphGET, `/api/graph?${qs({ ...RANGE, noise: "off", type: "drop" })}`));
    expect(gDrops.edges.reduce((s, e) => s + e.verdicts.dropped, 0)).toBe(dropEvents);
    expect((await json<{ total: number }>(await call(dropsGET, `/api/drops?${qs({ ...RANGE, type: "drop" })}`))).total).toBe(dropEvents);

    const grouped = parseCsv(await (await call(dropsGET, `/api/drops?${qs({ ...RANGE, format: "csv" })}`)).text());
    expect(grouped.slice(1).reduce((s, row) => s + Number(row[GROUP_COLUMNS.indexOf("count")]), 0)).toBe(packets);
    const raw = parseCsv(await (await call(dropsGET, `/api/drops?${qs({ ...RANGE, format: "csv", rows: "raw" })}`)).text());
    const body = raw.slice(1);
    expect(body.length).toBe(2 * truth.pvDrops + truth.datapathDrops);
    expect(body.filter((row) => row[RAW_COLUMNS.indexOf("packet")] === PACKET_COUNTED).length).toBe(packets);
  });

  it("names the policies selecting an endpoint when the flows name none, in the why and the export", async () => {
    const d = await json<{ groups: (DropGroup & { why: { why: string } })[] }>(await call(dropsGET, `/api/drops?${qs({ ...RANGE, namespace: "shop" })}`));
    const unnamed = d.groups.find((g) => !g.deniedBy.length && g.dst.workload?.endsWith("/backend") && g.port === 9090)!;
    expect(unnamed.selectedBy).toEqual(expect.arrayContaining(["shop/default-deny", "shop/frontend-to-backend"]));
    expect(unnamed.why.why).toMatch(/other flows show .*shop\/default-deny.* deciding its ingress/);
    const csv = parseCsv(await (await call(dropsGET, `/api/drops?${qs({ ...RANGE, namespace: "shop", format: "csv" })}`)).text());
    const cells = csv.slice(1).map((r) => r[GROUP_COLUMNS.indexOf("denied_by")]);
    expect(cells.every((c) => c !== "")).toBe(true);
    expect(cells.some((c) => c.startsWith("no policy name in the flow; selected by "))).toBe(true);
    // WHO names every pod the group saw
    const multi = d.groups.find((g) => g.srcPods.length > 1)!;
    const who = csv.slice(1).find((r) => r[GROUP_COLUMNS.indexOf("source_pods")] === multi.srcPods.join(" "))![GROUP_COLUMNS.indexOf("who")];
    for (const p of multi.srcPods) expect(who).toContain(p);
  });

  it("suggests nothing that was not delivered, and names DNS peers by toFQDNs and every IP seen", async () => {
    // run A: frontend → database is dropped at the database all along (its packets still leave the frontend FORWARDED)
    const window = { since: iso(T0), until: iso(T0 + RUN), namespace: "shop" };
    const s = await json<{ policies: { name: string; ciliumYaml: string; kubernetesNotes: string[] }[]; coverage: { src: string; dst: string; observed: string; outcome: string; delivered: number }[]; kubernetesYaml: string }>(
      await call(suggestGET, `/api/policies/suggest?${qs(window)}`),
    );
    const feDb = s.coverage.find((c) => c.src.endsWith("/frontend") && c.dst.endsWith("/database"))!;
    expect(feDb).toMatchObject({ observed: "denied", delivered: 0, outcome: "dropped" });
    const cnp = (name: string) => parseAllDocuments(s.policies.find((p) => p.name === name)!.ciliumYaml)[0].toJS();
    expect(JSON.stringify(cnp("frontend-allow").spec.egress)).not.toContain("database");
    expect(JSON.stringify(cnp("database-allow").spec.ingress)).not.toContain("frontend");
    expect(JSON.stringify(cnp("backend-allow").spec.egress)).toContain('"toFQDNs":[{"matchName":"api.stripe.com"}]');
    // every coverage row the suggestion allows was delivered
    for (const c of s.coverage.filter((x) => x.outcome === "allowed" && x.observed !== "unconfirmed")) expect(c.delivered, `${c.src} -> ${c.dst}`).toBeGreaterThan(0);

    const k8s = parseAllDocuments(s.kubernetesYaml).map((doc) => doc.toJS());
    const stripeRule = k8s.find((p) => p.metadata.name === "backend-allow").spec.egress.find((r: { to: { ipBlock?: { cidr: string } }[] }) => r.to.some((t) => t.ipBlock));
    expect(stripeRule.to.map((t: { ipBlock: { cidr: string } }) => t.ipBlock.cidr).sort()).toEqual([...truth.stripeIps].map((ip) => `${ip}/32`).sort());
    expect(truth.stripeIps.size).toBe(3);
    expect(s.policies.find((p) => p.name === "backend-allow")!.kubernetesNotes.join(" ")).toMatch(/DNS answers change/);

    // the rule that would allow a pypi.org drop lists both IPs pypi.org was seen at
    const d = await json<{ groups: DropGroup[] }>(await call(dropsGET, `/api/drops?${qs({ ...RANGE, "to-fqdn": "pypi.org" })}`));
    const rule = allowRuleFor(d.groups[0]);
    expect(rule.ok).toBe(true);
    if (rule.ok) expect(rule.suggestion.kubernetesYaml).toMatch(/151\.101\.0\.223\/32[\s\S]*151\.101\.64\.223\/32/);
  });

  it("answers a namespace without traffic with a message, not a policy", async () => {
    const r = await json<{ policies: unknown[]; message: string }>(await call(suggestGET, `/api/policies/suggest?${qs({ ...RANGE, namespace: "nonexistent" })}`));
    expect(r.policies).toEqual([]);
    expect(r.message).toMatch(/No traffic to or from a pod of namespace "nonexistent"/);
    const yaml = await call(suggestGET, `/api/policies/suggest?${qs({ ...RANGE, namespace: "nonexistent", format: "yaml" })}`);
    expect(yaml.status).toBe(404);
    expect(await yaml.text()).toMatch(/^# No traffic/);
    expect(env.published).toBe(truth.flows);
  });
});

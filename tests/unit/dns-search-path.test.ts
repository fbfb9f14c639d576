import { describe, expect, it } from "vitest";
import { dnsMessageOfFlow } from "@/server/domain/dns/dns-message";
import { pairDnsMessages } from "@/server/domain/dns/dns-pairing";
import { groupLookups, groupQueries, readCandidate } from "@/server/domain/dns/dns-search-path";
import { ndotsFindings } from "@/server/domain/dns/dns-findings";
import type { DnsPeer, DnsQuery, DnsStatus } from "@/server/domain/dns/dns-types";
import { recordedResponses } from "../fixtures/recorded-flows";

const backend: DnsPeer = { ip: "10.244.1.21", namespace: "shop", pod: "backend-7d9f8-abcde", workload: "shop/backend" };
const frontend: DnsPeer = { ip: "10.244.2.31", namespace: "shop", pod: "frontend-5c6d7-fghij", workload: "shop/frontend" };
const coredns: DnsPeer = { ip: "10.244.0.5", namespace: "kube-system", pod: "coredns-1", workload: "kube-system/coredns" };

let n = 0;
function q(tMs: number, query: string, status: DnsStatus, o: Partial<DnsQuery> = {}): DnsQuery {
  const id = `q${++n}`;
  return {
    id,
    requestKey: id,
    responseKey: status === "UNANSWERED" ? null : `r${n}`,
    tMs,
    endMs: status === "UNANSWERED" ? null : tMs + 1,
    latencyMs: status === "UNANSWERED" ? null : 1,
    query,
    qtypes: ["A"],
    rcode: null,
    rcodeName: null,
    status,
    client: backend,
    server: coredns,
    clientPort: 40000,
    node: "kind-worker",
    retried: false,
    attempt: 0,
    matched: true,
    ...o,
  };
}

/** The demo's walk for an external name: every search domain, A and AAAA each, then the name. */
function walk(t: number, name: string, ns: string, final: DnsStatus, client = backend): DnsQuery[] {
  const out: DnsQuery[] = [];
  for (const c of [`${name}.${ns}.svc.cluster.local.`, `${name}.svc.cluster.local.`, `${name}.cluster.local.`]) {
    out.push(q(t, c, "NXDOMAIN", { client }), q(t + 0.05, c, "NXDOMAIN", { client, qtypes: ["AAAA"] }));
    t += 2;
  }
  out.push(q(t, `${name}.`, final, { client }), q(t + 0.05, `${name}.`, final === "NOERROR" ? "NOERROR" : final, { client, qtypes: ["AAAA"] }));
  return out;
}

describe("reading search-path candidates", () => {
  it("reads a candidate as base + each search domain it could be", () => {
    expect(readCandidate("api.stripe.com.shop.svc.cluster.local.", ["cluster.local"])).toEqual([
      { base: "api.stripe.com", step: "namespace", ns: "shop", zone: "cluster.local" },
      { base: "api.stripe.com.shop", step: "svc", zone: "cluster.local" },
      { base: "api.stripe.com.shop.svc", step: "cluster", zone: "cluster.local" },
      { base: "api.stripe.com.shop.svc.cluster.local", step: "absolute", zone: "cluster.local" },
    ]);
    expect(readCandidate("API.Stripe.COM", ["cluster.local"])).toEqual([{ base: "api.stripe.com", step: "absolute", zone: "cluster.local" }]);
  });
});

describe("grouping queries into lookups", () => {
  it("groups an ndots:5 walk for an external name and counts the waste", () => {
    const qs = walk(1000, "api.stripe.com", "shop", "NOERROR");
    const [l] = groupLookups(qs);
    expect(l).toMatchObject({
      name: "api.stripe.com",
      searchNamespace: "shop",
      answeredBy: "api.stripe.com.",
      answeredStep: "absolute",
      outcome: "NOERROR",
      wasted: 6,
    });
    expect(l.tries.map((t) => [t.step, t.status, t.count])).toEqual([
      ["namespace", "NXDOMAIN", 2],
      ["svc", "NXDOMAIN", 2],
      ["cluster", "NXDOMAIN", 2],
      ["absolute", "NOERROR", 2],
    ]);
    expect(l.addedMs).toBeCloseTo(6, 6);
    expect(l.queryIds).toHaveLength(8);
    expect(groupQueries(qs).wasted.reduce((n, w) => n + w, 0)).toBe(6);
  });

  it("ends a lookup with the failure of its last try (REFUSED zone, SERVFAIL upstream)", () => {
    const refused = walk(0, "legacy-billing.corp.internal", "shop", "REFUSED");
    const [l] = groupLookups(refused);
    expect(l).toMatchObject({ outcome: "REFUSED", answeredBy: null, wasted: 6 });
    expect(l.addedMs).toBeCloseTo(6, 6); // up to the query of the name itself
  });

  it("keeps interleaved lookups of different clients and names apart", () => {
    const a = walk(0, "api.stripe.com", "shop", "NOERROR");
    const b = walk(0.5, "pypi.org", "shop", "NOERROR");
    const c = [q(0.2, "backend.shop.svc.cluster.local.", "NOERROR", { client: frontend })];
    const ls = groupLookups([...a, ...b, ...c].sort((x, y) => x.tMs - y.tMs));
    expect(ls.map((l) => [l.client.workload, l.name, l.wasted, l.queryIds.length])).toEqual([
      ["shop/backend", "api.stripe.com", 6, 8],
      ["shop/frontend", "backend", 0, 1],
      ["shop/backend", "pypi.org", 6, 8],
    ]);
  });

  it("keeps two overlapping walks for the same name from one pod apart, in order", () => {
    const a = walk(0, "api.stripe.com", "shop", "NOERROR");
    const b = walk(1, "api.stripe.com", "shop", "NOERROR");
    const ls = groupLookups([...a, ...b].sort((x, y) => x.tMs - y.tMs));
    expect(ls.map((l) => [l.name, l.searchNamespace, l.queryIds.length, l.wasted])).toEqual([
      ["api.stripe.com", "shop", 8, 6],
      ["api.stripe.com", "shop", 8, 6],
    ]);
    expect(ls[0].queryIds).toEqual(a.map((x) => x.id));
  });

  it("starts a new lookup when the same name is looked up again, not one long group", () => {
    const ls = groupLookups([...walk(0, "api.stripe.com", "shop", "NOERROR"), ...walk(100, "api.stripe.com", "shop", "NOERROR")]);
    expect(ls.map((l) => l.queryIds.length)).toEqual([8, 8]);
    // two walks that both stopped at the first candidate (the rest cached elsewhere) stay two
    const stopped = groupLookups([q(0, "z.shop.svc.cluster.local.", "NXDOMAIN"), q(800, "z.shop.svc.cluster.local.", "NXDOMAIN")]);
    expect(stopped.map((l) => l.queryIds.length)).toEqual([1, 1]);
    const single = groupLookups([q(0, "backend.shop.svc.cluster.local.", "NOERROR"), q(500, "backend.shop.svc.cluster.local.", "NOERROR")]);
    expect(single).toHaveLength(2);
  });

  it("keeps a re-send after a timeout in the lookup, and splits lookups further apart than the gap", () => {
    const resent = [q(0, "x.shop.svc.cluster.local.", "UNANSWERED"), q(5000, "x.shop.svc.cluster.local.", "NXDOMAIN"), q(5002, "x.svc.cluster.local.", "NOERROR")];
    const [l] = groupLookups(resent);
    expect(l.tries.map((t) => [t.step, t.count])).toEqual([
      ["namespace", 2],
      ["svc", 1],
    ]);
    const apart = groupLookups([q(0, "y.shop.svc.cluster.local.", "NXDOMAIN"), q(20_000, "y.svc.cluster.local.", "NOERROR")]);
    expect(apart).toHaveLength(2);
  });

  it("follows provider search domains after the cluster ones (GKE, EC2)", () => {
    const qs = [
      ...walk(0, "storage.googleapis.com", "shop", "NOERROR").slice(0, 6),
      q(7, "storage.googleapis.com.c.my-project.internal.", "NXDOMAIN"),
      q(8, "storage.googleapis.com.google.internal.", "NXDOMAIN"),
      q(9, "storage.googleapis.com.", "NOERROR"),
    ];
    const [l] = groupLookups(qs);
    expect(l.tries.map((t) => t.step)).toEqual(["namespace", "svc", "cluster", "provider", "provider", "absolute"]);
    expect(l.wasted).toBe(8);
  });

  it("understands a cluster with another cluster domain", () => {
    const qs = [q(0, "db.shop.svc.k8s.example.", "NXDOMAIN"), q(1, "db.svc.k8s.example.", "NXDOMAIN"), q(2, "db.k8s.example.", "NOERROR"), q(50, "x.y.svc.k8s.example.", "NOERROR")];
    const [l] = groupLookups(qs);
    expect(l).toMatchObject({ name: "db", zone: "k8s.example", answeredStep: "cluster", wasted: 2 });
  });
});

describe("the recorded Istio bookinfo sample (node-local-dns forwarding, real ndots expansions)", () => {
  const responses = recordedResponses("basic-sample-330-dns-flows.json");
  const messages = responses.flatMap((r, i) => {
    const m = r.responseTypes.case === "flow" ? dnsMessageOfFlow(r.responseTypes.value, `k${i}`) : null;
    return m ? [m] : [];
  });
  const queries = pairDnsMessages(messages, { horizonMs: Math.max(...messages.map((m) => m.tMs)) + 10_000 });
  const lookups = groupLookups(queries);

  it("pairs every request of the sample, by time difference (no latency_ns there)", () => {
    expect(messages).toHaveLength(330);
    expect(queries).toHaveLength(165);
    expect(queries.every((q) => q.requestKey && q.responseKey)).toBe(true);
    expect(queries.filter((q) => q.status === "NXDOMAIN")).toHaveLength(102);
    expect(Math.max(...queries.map((q) => q.latencyMs!))).toBeLessThan(10);
  });

  it("finds the walks and the origin namespace from the expansions", () => {
    const zipkin = lookups.filter((l) => l.name === "zipkin.istio-system");
    expect(zipkin.length).toBeGreaterThan(5);
    // a few walks stop after the first NXDOMAIN in the capture (node-local-dns had the rest cached)
    expect(zipkin.filter((l) => !l.answeredBy).every((l) => l.tries.length === 1 && l.wasted === 1)).toBe(true);
    for (const l of zipkin.filter((x) => x.answeredBy)) {
      expect(l.answeredBy).toBe("zipkin.istio-system.svc.cluster.local.");
      expect(l.answeredStep).toBe("svc");
      expect(l.wasted).toBe(1);
    }
    expect(new Set(zipkin.map((l) => l.searchNamespace))).toEqual(new Set(["bookinfo", "istio-system"]));
    const istiod = lookups.find((l) => l.name === "istiod-istio-1611.istio-system.svc")!;
    expect(istiod.tries.map((t) => t.step)).toEqual(["namespace", "svc", "cluster"]);
    expect(istiod.wasted).toBe(2);
    // googleapis names: A and AAAA through three search domains; the real answer came from upstream
    const logging = lookups.filter((l) => l.name === "logging.googleapis.com");
    expect(logging.map((l) => [l.wasted, l.answeredBy, l.searchNamespace])).toEqual([
      [6, null, "kube-system"],
      [6, null, "istio-system"],
      [6, null, "istio-system"],
    ]);
    // names used as full service names resolve first time and waste nothing
    expect(lookups.filter((l) => l.name === "productpage").every((l) => l.wasted === 0)).toBe(true);
    expect(lookups.reduce((s, l) => s + l.wasted, 0)).toBe(102);
  });

  it("explains the fix for node-local-dns's clients", () => {
    const [f] = ndotsFindings(lookups);
    expect(f.workload).toBe("kube-system/node-local-dns");
    expect(f.wasted).toBe(102);
    // istiod…svc (2 dots) resolves through a search domain, googleapis names (2 dots) are external:
    // no ndots value separates them, so trailing dots and full names it is
    expect(f.fix.ndots).toBeNull();
    expect(f.fix.trailingDot).toEqual(expect.arrayContaining(["logging.googleapis.com.", "istiod-istio-1611.istio-system.svc.cluster.local.", "zipkin.istio-system.svc.cluster.local."]));
    expect(f.names.find((x) => x.name === "zipkin.istio-system")?.kind).toBe("in-cluster");
  });
});

describe("ndots findings", () => {
  it("recommends the smallest ndots that keeps in-cluster names on the search path", () => {
    const ls = groupLookups([
      ...walk(0, "api.stripe.com", "shop", "NOERROR"),
      q(100, "database.shop.svc.cluster.local.", "NOERROR"),
      ...walk(200, "pypi.org", "shop", "NOERROR"),
    ]);
    const [f] = ndotsFindings(ls);
    expect(f.fix.ndots).toBe(1);
    expect(f.fix.yaml).toContain("name: ndots");
    expect(f.fix.text).toMatch(/ndots:1/);
    expect(f.names.map((x) => [x.name, x.kind, x.wasted, x.write])).toEqual([
      ["api.stripe.com", "external", 6, "api.stripe.com."],
      ["pypi.org", "external", 6, "pypi.org."],
    ]);
    expect(f.example.name).toBe("api.stripe.com");
  });

  it("goes to ndots:2 when in-cluster names carry a namespace", () => {
    const ls = groupLookups([
      q(0, "db.shop.shop.svc.cluster.local.", "NXDOMAIN"),
      q(1, "db.shop.svc.cluster.local.", "NOERROR"),
      ...walk(100, "api.stripe.com", "shop", "NOERROR"),
    ]);
    const [f] = ndotsFindings(ls);
    expect(f.fix.ndots).toBe(2);
    expect(f.names.find((x) => x.name === "db.shop")).toMatchObject({ kind: "in-cluster", write: "db.shop.svc.cluster.local." });
  });

  it("falls back to a trailing dot when an external name has fewer dots than an in-cluster one", () => {
    const ls = groupLookups([q(0, "db.shop.shop.svc.cluster.local.", "NXDOMAIN"), q(1, "db.shop.svc.cluster.local.", "NOERROR"), ...walk(200, "example.com", "shop", "NOERROR")]);
    const [f] = ndotsFindings(ls);
    expect(f.fix.ndots).toBeNull();
    expect(f.fix.yaml).toBeNull();
    expect(f.fix.trailingDot).toEqual(["example.com.", "db.shop.svc.cluster.local."]);
    expect(f.fix.text).toMatch(/No ndots value fits/);
  });

  it("does not recommend ndots when only in-cluster names waste queries", () => {
    const ls = groupLookups([q(0, "zipkin.istio-system.shop.svc.cluster.local.", "NXDOMAIN"), q(1, "zipkin.istio-system.svc.cluster.local.", "NOERROR")]);
    const [f] = ndotsFindings(ls);
    expect(f.fix.ndots).toBeNull();
    expect(f.fix.yaml).toBeNull();
    expect(f.fix.text).toBe("Use the full name of in-cluster services, ending in a dot: “zipkin.istio-system.svc.cluster.local.”.");
  });

  it("reports nothing for workloads whose names resolve first time", () => {
    expect(ndotsFindings(groupLookups([q(0, "backend.shop.svc.cluster.local.", "NOERROR", { client: frontend })]))).toEqual([]);
  });
});

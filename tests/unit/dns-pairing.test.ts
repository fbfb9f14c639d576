import { describe, expect, it } from "vitest";
import { pairDnsMessages } from "@/server/domain/dns/dns-pairing";
import { rcodeName, type DnsMessage, type DnsPeer } from "@/server/domain/dns/dns-types";

const client: DnsPeer = { ip: "10.244.1.21", namespace: "shop", pod: "backend-7d9f8-abcde", workload: "shop/backend" };
const other: DnsPeer = { ip: "10.244.2.31", namespace: "shop", pod: "frontend-5c6d7-fghij", workload: "shop/frontend" };
const coredns: DnsPeer = { ip: "10.244.0.5", namespace: "kube-system", pod: "coredns-5d78c9869d-x7k2p", workload: "kube-system/coredns" };

let n = 0;
function msg(kind: "request" | "response", tMs: number, query: string, o: Partial<DnsMessage> = {}): DnsMessage {
  return {
    key: `${kind[0]}${++n}`,
    tMs,
    kind,
    query,
    qtypes: ["A"],
    rcode: kind === "response" ? 0 : null,
    latencyNs: null,
    client,
    server: coredns,
    clientPort: 40000,
    node: "kind-worker",
    matched: true,
    ...o,
  };
}
const req = (t: number, q: string, o: Partial<DnsMessage> = {}) => msg("request", t, q, o);
const resp = (t: number, q: string, o: Partial<DnsMessage> = {}) => msg("response", t, q, o);
const pair = (ms: DnsMessage[], horizonMs = 1e9) => pairDnsMessages(ms, { horizonMs });

describe("pairing DNS requests and responses", () => {
  it("pairs messages given out of order, by client, server, name (any case) and qtype", () => {
    const a = req(1000, "api.stripe.com.");
    const aaaa = req(1000.1, "api.stripe.com.", { qtypes: ["AAAA"] });
    const b = req(1000.2, "backend.shop.svc.cluster.local.", { client: other });
    const ra = resp(1012, "API.Stripe.com.", { rcode: 0 });
    const raaaa = resp(1003, "api.stripe.com.", { qtypes: ["AAAA"] });
    const rb = resp(1001.7, "backend.shop.svc.cluster.local.", { client: other });
    const qs = pair([rb, raaaa, ra, b, aaaa, a]);
    expect(qs).toHaveLength(3);
    const by = new Map(qs.map((q) => [q.requestKey, q]));
    expect(by.get(a.key)).toMatchObject({ responseKey: ra.key, status: "NOERROR" });
    expect(by.get(a.key)!.latencyMs).toBeCloseTo(12, 6);
    expect(by.get(aaaa.key)).toMatchObject({ responseKey: raaaa.key, qtypes: ["AAAA"] });
    expect(by.get(aaaa.key)!.latencyMs).toBeCloseTo(2.9, 6);
    expect(by.get(b.key)).toMatchObject({ responseKey: rb.key });
    expect(by.get(b.key)!.latencyMs).toBeCloseTo(1.5, 6);
    // oldest first
    expect(qs.map((q) => q.requestKey)).toEqual([a.key, aaaa.key, b.key]);
  });

  it("tolerates a response stamped slightly before its request", () => {
    const r = req(5000.02, "x.");
    const s = resp(5000, "x.");
    const [q] = pair([s, r]);
    expect(q).toMatchObject({ requestKey: r.key, responseKey: s.key, latencyMs: 0 });
  });

  it("uses latency_ns when present instead of the time difference", () => {
    const r = req(0, "x.");
    const s = resp(10, "x.", { latencyNs: 4_000_000 });
    expect(pair([r, s])[0].latencyMs).toBe(4);
  });

  it("gives the answer of a re-sent query to the re-send; the first send is unanswered and marked", () => {
    const first = req(10_000, "database.shop.svc.cluster.local.");
    const again = req(15_000, "database.shop.svc.cluster.local.");
    const answer = resp(15_003, "database.shop.svc.cluster.local.");
    const qs = pair([answer, again, first]);
    expect(qs.map((q) => [q.requestKey, q.status, q.retried, q.attempt])).toEqual([
      [first.key, "UNANSWERED", true, 0],
      [again.key, "NOERROR", false, 1],
    ]);
    expect(qs[1].latencyMs).toBeCloseTo(3, 6);
  });

  it("with latency_ns, picks the send the latency points at, even among re-sends", () => {
    const first = req(0, "x.");
    const again = req(5000, "x.");
    const answer = resp(5900, "x.", { latencyNs: 5_900_000_000 });
    const qs = pair([first, again, answer]);
    expect(qs.find((q) => q.responseKey)?.requestKey).toBe(first.key);
    expect(qs.find((q) => q.requestKey === again.key)?.status).toBe("UNANSWERED");
  });

  it("answers pipelined identical queries in order", () => {
    const r1 = req(0, "x.");
    const r2 = req(1, "x.");
    const s1 = resp(2, "x.");
    const s2 = resp(3, "x.");
    const qs = pair([r1, r2, s1, s2]);
    expect(qs.map((q) => [q.requestKey, q.responseKey])).toEqual([
      [r1.key, s1.key],
      [r2.key, s2.key],
    ]);
  });

  it("prefers the request from the same client port", () => {
    const r1 = req(0, "x.", { clientPort: 1111 });
    const r2 = req(0.5, "x.", { clientPort: 2222 });
    const s2 = resp(1, "x.", { clientPort: 2222 });
    const qs = pair([r1, r2, s2]);
    expect(qs.find((q) => q.requestKey === r2.key)?.responseKey).toBe(s2.key);
    expect(qs.find((q) => q.requestKey === r1.key)?.responseKey).toBeNull();
  });

  it("marks a request unanswered only once the timeout has passed, else pending", () => {
    const old = req(1000, "old.");
    const fresh = req(9000, "fresh.");
    const qs = pair([old, fresh], 10_000);
    expect(qs.map((q) => q.status)).toEqual(["UNANSWERED", "PENDING"]);
    expect(pairDnsMessages([fresh], { horizonMs: 10_000, timeoutMs: 500 })[0].status).toBe("UNANSWERED");
  });

  it("keeps a response whose request was not read, placed at its send time", () => {
    const s = resp(100, "early.", { rcode: 3, latencyNs: 20_000_000 });
    const [q] = pair([s]);
    expect(q).toMatchObject({ requestKey: null, responseKey: s.key, status: "NXDOMAIN", tMs: 80, endMs: 100 });
  });

  it("keeps unknown rcodes as numbers and names the known ones", () => {
    const qs = pair([req(0, "a."), resp(1, "a.", { rcode: 23 }), req(2, "b."), resp(3, "b.", { rcode: 5 }), req(4, "c."), resp(5, "c.", { rcode: 2 })]);
    expect(qs.map((q) => [q.status, q.rcode, q.rcodeName])).toEqual([
      ["OTHER", 23, "23"],
      ["REFUSED", 5, "REFUSED"],
      ["SERVFAIL", 2, "SERVFAIL"],
    ]);
    expect(rcodeName(9)).toBe("NOTAUTH");
  });

  it("never pairs across servers or clients", () => {
    const r = req(0, "x.");
    const s = resp(1, "x.", { server: { ...coredns, ip: "10.244.0.6" } });
    const qs = pair([r, s]);
    expect(qs).toHaveLength(2);
    expect(qs.every((q) => q.requestKey === null || q.responseKey === null)).toBe(true);
  });

  it("marks a query matched when its request or its response matched the filter", () => {
    const qs = pair([req(0, "a.", { matched: false }), resp(1, "a.", { matched: true }), req(2, "b.", { matched: false }), resp(3, "b.", { matched: false })]);
    expect(qs.map((q) => q.matched)).toEqual([true, false]);
  });
});

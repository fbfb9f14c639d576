/**
 * The one definition of where a flow was observed and what it says (observation.ts), and the
 * pairing of a denied packet's two events (denied-packets.ts) — fed with flows as agents report
 * them, and with random counts (fast-check) for the pairing's arithmetic.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DropReason, TraceObservationPoint, TrafficDirection, Verdict } from "@/proto/gen/flow/flow_pb";
import { countDeniedOnce, pairInfo, pairedDropEvents, PairedStream, type CountRow, type PairInfo } from "@/server/domain/connections/denied-packets";
import { observationOf, showsArrival } from "@/server/domain/connections/observation";
import { connectionOutcomes } from "@/server/domain/connections/outcome";
import { buildFlow, drop, endpoint, tcp, toItem, worldEndpoint, type FlowOverrides } from "../fixtures/flow-builder";

const fe = endpoint({ ns: "shop", app: "frontend" });
const db = endpoint({ ns: "shop", app: "database" });
const json = (o: FlowOverrides) => toItem(buildFlow(o)).flow;
const pol = (name: string) => ({ name, namespace: "shop", kind: "NetworkPolicy", revision: 3n, labels: [] });

describe("observation points", () => {
  const conn: FlowOverrides = { source: fe, destination: db, l4: tcp(40000, 5432, { SYN: true }) };

  it("tells the client's egress from the server's ingress and says which shows arrival", () => {
    const egressVerdict = observationOf(json({ ...conn, eventType: { type: 5 }, trafficDirection: TrafficDirection.EGRESS, egressAllowedBy: [pol("allow-shop-egress")] }));
    expect(egressVerdict).toMatchObject({ kind: "policy-verdict", end: "egress", decision: "allowed", reply: false });
    expect(egressVerdict.allowedBy.map((p) => p.name)).toEqual(["allow-shop-egress"]);
    expect(showsArrival(egressVerdict)).toBe(false);

    const overlay = observationOf(json({ ...conn, eventType: { type: 4, subType: 4 }, traceObservationPoint: TraceObservationPoint.TO_OVERLAY, trafficDirection: TrafficDirection.EGRESS }));
    expect(overlay).toMatchObject({ kind: "trace", end: "egress", decision: "allowed" });
    expect(showsArrival(overlay)).toBe(false);

    const arrived = observationOf(json(conn));
    expect(arrived).toMatchObject({ kind: "trace", end: "ingress", decision: "allowed" });
    expect(showsArrival(arrived)).toBe(true);

    const denied = observationOf(toItem(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/default-deny"] }, conn)).flow);
    expect(denied).toMatchObject({ kind: "drop", end: "ingress", decision: "denied", reason: 133 });
    expect(denied.deniedBy.map((p) => p.name)).toEqual(["default-deny"]);
    expect(showsArrival(denied)).toBe(false);

    expect(observationOf(toItem(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, conn)).flow).decision).toBe("dropped");
    expect(observationOf(json({ ...conn, verdict: Verdict.AUDIT, eventType: { type: 5 } })).decision).toBe("audit");
    expect(observationOf(json({ ...conn, verdict: 42 as Verdict })).decision).toBe("none");
  });

  it("orients a reply onto its connection: the client is the reply's destination, and a reply shows arrival", () => {
    const reply = observationOf(json({ source: db, destination: fe, l4: tcp(5432, 40000), isReply: true, trafficDirection: TrafficDirection.EGRESS }));
    expect(reply.client.namespace).toBe("shop");
    expect(reply.client.workload).toBe("Deployment/frontend");
    expect(reply.server.workload).toBe("Deployment/database");
    expect(reply.reply).toBe(true);
    expect(showsArrival(reply)).toBe(true);
  });

  it("uses the observation point when an older agent sent no direction", () => {
    const old = json({ ...conn, trafficDirection: TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN, traceObservationPoint: TraceObservationPoint.UNKNOWN_POINT, eventType: { type: 4, subType: 0 } });
    expect(observationOf(old).end).toBe("ingress");
    const fromEp = json({ ...conn, trafficDirection: TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN, traceObservationPoint: TraceObservationPoint.FROM_ENDPOINT, eventType: { type: 4, subType: 5 } });
    expect(observationOf(fromEp).end).toBe("egress");
  });

  it("takes the client's egress as arrival for a server without an ingress point (the world)", () => {
    const out = observationOf(json({ source: fe, destination: worldEndpoint(), destinationNames: ["api.stripe.com"], eventType: { type: 4, subType: 3 }, trafficDirection: TrafficDirection.EGRESS, l4: tcp(1, 443) }));
    expect(out.server.kind).toBe("world");
    expect(showsArrival(out)).toBe(true);
  });

  it("folds a connection denied at ingress as denied although it left the client FORWARDED", () => {
    const rows = [
      { flow: json({ ...conn, eventType: { type: 4, subType: 4 }, trafficDirection: TrafficDirection.EGRESS }), l4: 1, port: 5432, count: 1706 },
      { flow: json({ ...conn, verdict: Verdict.DROPPED, eventType: { type: 5 }, dropReasonDesc: 133 }), l4: 1, port: 5432, count: 2388 },
    ];
    const [c] = connectionOutcomes(rows);
    expect(c).toMatchObject({ state: "denied", arrived: 0, denied: 2388, egress: { allowed: 1706 }, ingress: { denied: 2388 } });
  });
});

describe("a denied packet counts once", () => {
  const conn: FlowOverrides = { source: fe, destination: db, nodeName: "kind-worker", l4: tcp(40000, 5432, { SYN: true }) };
  const verdictHalf = json({ ...conn, verdict: Verdict.DROPPED, eventType: { type: 5 }, dropReasonDesc: 133, ingressDeniedBy: [pol("default-deny")] });
  const dropHalf = toItem(drop({ reason: DropReason.POLICY_DENIED }, conn)).flow;

  it("pairs the drop event with the policy-verdict event of the same packet, and nothing else", () => {
    const v = pairInfo(verdictHalf)!;
    const d = pairInfo(dropHalf)!;
    expect(v.side).toBe("verdict");
    expect(d.side).toBe("drop");
    expect(v.key).toBe(d.key);
    expect(pairInfo(toItem(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, conn)).flow)).toBeUndefined();
    expect(pairInfo(json({ ...conn, verdict: Verdict.AUDIT, eventType: { type: 5 } }))).toBeUndefined();
    expect(pairInfo(json(conn))).toBeUndefined();
    // another node's drop is another packet
    expect(pairInfo(toItem(drop({ reason: DropReason.POLICY_DENIED }, { ...conn, nodeName: "kind-worker2" })).flow)!.key).not.toBe(v.key);
  });

  it("counts max(drop events, policy verdicts) per packet key, minute and port", () => {
    const info = (id: number) => [pairInfo(verdictHalf), pairInfo(dropHalf)][id];
    const rows: CountRow[] = [
      { ctxId: 0, minute: 1, l4: 1, port: 5432, count: 5 },
      { ctxId: 1, minute: 1, l4: 1, port: 5432, count: 5 },
      // the ring lost two policy verdicts in minute 2: the drops stand for those packets
      { ctxId: 0, minute: 2, l4: 1, port: 5432, count: 1 },
      { ctxId: 1, minute: 2, l4: 1, port: 5432, count: 3 },
      // a minute with drops only (policy-verdict events off): all count
      { ctxId: 1, minute: 3, l4: 1, port: 5432, count: 4 },
    ];
    expect(pairedDropEvents(rows, info)).toEqual([0, 5, 0, 1, 0]);
    expect(countDeniedOnce(rows, info).reduce((s, r) => s + r.count, 0)).toBe(5 + 3 + 4);
  });

  const keys: PairInfo[] = [
    { key: "a", side: "verdict" },
    { key: "a", side: "drop" },
    { key: "b", side: "verdict" },
    { key: "b", side: "drop" },
  ];
  const rowArb = fc.record({ ctxId: fc.integer({ min: 0, max: 5 }), minute: fc.integer({ min: 0, max: 3 }), l4: fc.constantFrom(1, 2), port: fc.constantFrom(53, 5432), count: fc.integer({ min: 0, max: 50 }), order: fc.integer({ min: 0, max: 9 }) });
  // contexts 4 and 5 are not halves of a denied packet (forwarded, datapath drops)
  const info = (id: number) => keys[id];

  it("never takes away more than a packet's second report, nor counts any packet twice (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 40 }), (rows) => {
        const paired = pairedDropEvents(rows, info);
        const groups = new Map<string, { d: number; p: number }>();
        let other = 0;
        rows.forEach((r, i) => {
          expect(paired[i]).toBeGreaterThanOrEqual(0);
          expect(paired[i]).toBeLessThanOrEqual(r.count);
          const k = keys[r.ctxId];
          if (!k) {
            expect(paired[i]).toBe(0);
            other += r.count;
            return;
          }
          if (k.side === "verdict") expect(paired[i]).toBe(0);
          const g = groups.get(`${k.key}|${r.minute}|${r.l4}|${r.port}`) ?? { d: 0, p: 0 };
          if (k.side === "drop") g.d += r.count;
          else g.p += r.count;
          groups.set(`${k.key}|${r.minute}|${r.l4}|${r.port}`, g);
        });
        const expected = other + [...groups.values()].reduce((s, g) => s + Math.max(g.d, g.p), 0);
        expect(countDeniedOnce(rows, info).reduce((s, r) => s + r.count, 0)).toBe(expected);
      }),
    );
  });

  it("marks single flows read newest first so the counted ones add up to the grouped count (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ half: fc.constantFrom(0, 1), second: fc.integer({ min: 0, max: 179 }) }), { maxLength: 60 }), (events) => {
        const flows = [verdictHalf, dropHalf];
        const at = (s: number) => 1_800_000_000_000_000_000n + BigInt(s) * 1_000_000_000n;
        const rows: CountRow[] = events.map((e) => ({ ctxId: e.half, minute: Number(at(e.second) / 60_000_000_000n), l4: 1, port: 5432, count: 1 }));
        const pi = (id: number) => pairInfo(flows[id]);
        const stream = new PairedStream(rows, pi);
        const newestFirst = [...events].sort((a, b) => b.second - a.second);
        const counted = newestFirst.filter((e) => !stream.paired(flows[e.half], at(e.second))).length;
        expect(counted).toBe(countDeniedOnce(rows, pi).reduce((s, r) => s + r.count, 0));
      }),
    );
  });
});

/**
 * The relay server's ring and its reading of number / first / since / until / follow, which follow
 * Hubble's ring reader (pkg/hubble/observer/local_observer.go).
 */
import { describe, expect, it } from "vitest";
import { eventWindow, Ring, selectBacklog, type WindowRequest } from "@/server/demo/relay/relay-server-ring";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";

const entries = Array.from({ length: 10 }, (_, i) => ({ ns: BigInt(100 + i * 10), seq: i }));
const req = (r: Partial<WindowRequest>): WindowRequest => ({ number: 0n, first: false, follow: false, ...r });
const ns = (list: { ns: bigint }[]) => list.map((e) => Number(e.ns));

describe("Ring", () => {
  it("keeps the newest `capacity` items, oldest first, and reports what it overwrote", () => {
    const ring = new Ring<number>(3);
    expect([1, 2, 3].map((v) => ring.push(v))).toEqual([undefined, undefined, undefined]);
    expect(ring.push(4)).toBe(1);
    expect(ring.toArray()).toEqual([2, 3, 4]);
    expect([...ring.newestFirst()]).toEqual([4, 3, 2]);
    expect(ring.size).toBe(3);
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});

describe("selectBacklog", () => {
  it("number: last N; first: first N; 0 without follow: everything", () => {
    expect(ns(selectBacklog(entries, req({ number: 3n })))).toEqual([170, 180, 190]);
    expect(ns(selectBacklog(entries, req({ number: 3n, first: true })))).toEqual([100, 110, 120]);
    expect(selectBacklog(entries, req({}))).toHaveLength(10);
    expect(selectBacklog(entries, req({ number: 50n }))).toHaveLength(10);
  });

  it("follow without number or since starts now", () => {
    expect(selectBacklog(entries, req({ follow: true }))).toEqual([]);
    expect(ns(selectBacklog(entries, req({ follow: true, number: 2n })))).toEqual([180, 190]);
  });

  it("since and until are inclusive; since wins over number; number caps a non-follow since-query", () => {
    expect(ns(selectBacklog(entries, req({ since: nsToTimestamp(150n), until: nsToTimestamp(170n) })))).toEqual([150, 160, 170]);
    expect(ns(selectBacklog(entries, req({ since: nsToTimestamp(175n), number: 1n })))).toEqual([180]);
    expect(ns(selectBacklog(entries, req({ since: nsToTimestamp(175n), number: 1n, follow: true })))).toEqual([180, 190]);
    expect(ns(selectBacklog(entries, req({ number: 2n, until: nsToTimestamp(150n) })))).toEqual([140, 150]);
  });

  it("non-flow events go with the time window the backlog covers", () => {
    const picked = selectBacklog(entries, req({ number: 2n }));
    expect(eventWindow(req({ number: 2n }), picked)).toEqual({ lo: 180n, hi: undefined });
    expect(eventWindow(req({ number: 2n, first: true }), selectBacklog(entries, req({ number: 2n, first: true })))).toEqual({ hi: 110n });
    expect(eventWindow(req({ since: nsToTimestamp(5n) }), [])).toEqual({ lo: 5n, hi: undefined });
    expect(eventWindow(req({ follow: true }), [])).toBeUndefined();
    expect(eventWindow(req({ number: 2n }), [])).toBeUndefined();
    expect(eventWindow(req({}), [])).toEqual({ hi: undefined });
  });
});

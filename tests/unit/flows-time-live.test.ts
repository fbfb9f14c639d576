import { beforeAll, describe, expect, it } from "vitest";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import {
  datetimeLocalToRfc3339,
  formatFullLocal,
  formatLatency,
  formatTableTime,
  parseRfc3339,
  rfc3339ToDatetimeLocal,
  timeSortKey,
} from "@/app/lib/flow-time";
import { combineLiveAndHistory, flattenPages, LiveBuffer, sortNewestFirst } from "@/app/lib/live-buffer";

beforeAll(() => {
  process.env.TZ = "UTC";
});

const item = (key: string, time?: string): FlowItem => ({ key, flow: time ? { time } : {}, time });

describe("time", () => {
  it("keeps nanoseconds", () => {
    expect(parseRfc3339("2021-06-16T16:52:13.136834446Z")).toEqual({ ms: Date.UTC(2021, 5, 16, 16, 52, 13, 136), nanos: "136834446" });
    expect(parseRfc3339("2021-06-16T16:52:13Z")?.nanos).toBe("000000000");
    expect(parseRfc3339("2021-06-16T18:52:13.5+02:00")?.ms).toBe(Date.UTC(2021, 5, 16, 16, 52, 13, 500));
    expect(parseRfc3339("yesterday")).toBeUndefined();
    expect(parseRfc3339(42)).toBeUndefined();
  });
  it("table time: clock with ms today, date otherwise", () => {
    const now = new Date(Date.UTC(2021, 5, 16, 20));
    expect(formatTableTime("2021-06-16T16:52:13.136834446Z", now)).toBe("16:52:13.136");
    expect(formatTableTime("2021-06-15T16:52:13Z", now)).toBe("2021-06-15 16:52:13.000");
    expect(formatTableTime(undefined, now)).toBe("—");
    expect(formatTableTime("garbage", now)).toBe("garbage");
  });
  it("full local time", () => {
    expect(formatFullLocal("2021-06-16T16:52:13.136834446Z")).toBe("2021-06-16 16:52:13.136834446 +00:00");
  });
  it("sort keys order instants, not strings", () => {
    const a = timeSortKey("2021-06-16T16:52:13Z");
    const b = timeSortKey("2021-06-16T16:52:13.5Z");
    expect(a < b).toBe(true);
    expect("2021-06-16T16:52:13Z" < "2021-06-16T16:52:13.5Z").toBe(false); // why the key exists
  });
  it("datetime-local conversions", () => {
    expect(datetimeLocalToRfc3339("2026-01-02T03:04:05")).toBe("2026-01-02T03:04:05Z");
    expect(datetimeLocalToRfc3339("2026-01-02T03:04")).toBe("2026-01-02T03:04:00Z");
    expect(datetimeLocalToRfc3339("")).toBeUndefined();
    expect(rfc3339ToDatetimeLocal("2026-01-02T03:04:05.9Z")).toBe("2026-01-02T03:04:05");
    expect(rfc3339ToDatetimeLocal("2h")).toBe("");
  });
  it("latency", () => {
    expect(formatLatency("1500000")).toBe("1.5 ms");
    expect(formatLatency("999")).toBe("999 ns");
    expect(formatLatency("2500")).toBe("2.5 µs");
    expect(formatLatency("3000000000")).toBe("3 s");
    expect(formatLatency(undefined)).toBeUndefined();
    expect(formatLatency("0")).toBeUndefined();
  });
});

describe("live buffer", () => {
  it("sorts a batch newest first, stable for equal times", () => {
    const out = sortNewestFirst([item("a", "2021-01-01T00:00:01Z"), item("b", "2021-01-01T00:00:03Z"), item("c", "2021-01-01T00:00:01.5Z"), item("d", "2021-01-01T00:00:01Z")]);
    expect(out.map((i) => i.key)).toEqual(["b", "c", "d", "a"]);
  });

  it("prepends when following, holds back when paused, releases on return", () => {
    const buf = new LiveBuffer(10);
    buf.receive(item("1", "2021-01-01T00:00:01Z"));
    expect(buf.flush(true)).toBe(true);
    expect(buf.items.map((i) => i.key)).toEqual(["1"]);
    buf.receive(item("2", "2021-01-01T00:00:02Z"));
    buf.receive(item("3", "2021-01-01T00:00:03Z"));
    expect(buf.flush(false)).toBe(true);
    expect(buf.items.map((i) => i.key)).toEqual(["1"]);
    expect(buf.pendingCount).toBe(2);
    buf.receive(item("4", "2021-01-01T00:00:04Z"));
    expect(buf.flush(true)).toBe(true);
    expect(buf.items.map((i) => i.key)).toEqual(["4", "3", "2", "1"]);
    expect(buf.pendingCount).toBe(0);
    expect(buf.flush(true)).toBe(false);
  });

  it("ignores repeated keys and junk", () => {
    const buf = new LiveBuffer(10);
    buf.receive(item("1"));
    buf.receive(item("1"));
    buf.receive(null as unknown as FlowItem);
    buf.receive({ flow: {} } as unknown as FlowItem);
    buf.flush(true);
    expect(buf.items).toHaveLength(1);
  });

  it("caps memory, dropping the oldest, and forgets their keys", () => {
    const buf = new LiveBuffer(3);
    for (let i = 0; i < 5; i++) buf.receive(item(`k${i}`, `2021-01-01T00:00:0${i}Z`));
    buf.flush(true);
    expect(buf.items.map((i) => i.key)).toEqual(["k4", "k3", "k2"]);
    buf.receive(item("k0", "2021-01-01T00:00:09Z"));
    buf.flush(true);
    expect(buf.items.map((i) => i.key)).toEqual(["k0", "k4", "k3"]);
  });

  it("combines live over history without duplicates, within the cap", () => {
    const history = [item("h2"), item("h1")];
    const keys = new Set(["h2", "h1"]);
    expect(combineLiveAndHistory([], history, keys, 10)).toBe(history);
    expect(combineLiveAndHistory([item("n1"), item("h2")], history, keys, 10).map((i) => i.key)).toEqual(["n1", "h2", "h1"]);
    expect(combineLiveAndHistory([item("n2"), item("n1")], history, keys, 3).map((i) => i.key)).toEqual(["n2", "n1", "h2"]);
  });

  it("flattens pages and drops repeated keys", () => {
    const { items, keys } = flattenPages([{ flows: [item("a"), item("b")] }, { flows: [item("b"), item("c")] }]);
    expect(items.map((i) => i.key)).toEqual(["a", "b", "c"]);
    expect(keys.size).toBe(3);
  });
});

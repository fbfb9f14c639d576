/**
 * Recorded flows (samples/hubble-otel) replayed into the demo: re-timed to "now" with their
 * order and spacing kept, everything else verbatim, at a few flows per second on average.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { clone, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { loadRecordedFiles, recordedFlowsDir, RecordedReplay } from "@/server/demo/recorded-flows";
import { timestampToNs } from "@/server/flow-codec/timestamp";

const files = loadRecordedFiles(recordedFlowsDir(), () => {});
const t = (r: GetFlowsResponse) => timestampToNs(r.time)!;

/** The response with both timestamps removed: what must stay verbatim. */
function withoutTimes(r: GetFlowsResponse): Uint8Array {
  const c = clone(GetFlowsResponseSchema, r);
  c.time = undefined;
  if (c.responseTypes.case === "flow") c.responseTypes.value.time = undefined;
  return toBinary(GetFlowsResponseSchema, c);
}

describe("recorded flows", () => {
  it("loads the samples shipped in the repository (lines already seen in another file are skipped)", () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    const total = files.reduce((n, f) => n + f.responses.length, 0);
    expect(total).toBeGreaterThan(1500);
    expect(files.every((f) => f.responses.every((r) => r.responseTypes.case !== "flow" || r.responseTypes.value.uuid === ""))).toBe(true);
  });

  it("replays a file re-timed to now, keeping order, spacing and every other field", () => {
    const start = Date.UTC(2026, 0, 12, 9, 0, 0);
    const replay = new RecordedReplay(files, start, 3);
    const first = files[0];
    const out = replay.until(start + Number((first.lastNs - first.firstNs) / 1_000_000n) + 1);
    expect(out).toHaveLength(first.responses.length);
    const shift = t(out[0]) - t(first.responses[0]);
    expect(t(out[0])).toBe(BigInt(start) * 1_000_000n);
    out.forEach((r, i) => {
      const orig = first.responses[i];
      expect(t(r) - t(orig)).toBe(shift);
      if (r.responseTypes.case === "flow" && orig.responseTypes.case === "flow") {
        expect(timestampToNs(r.responseTypes.value.time)! - timestampToNs(orig.responseTypes.value.time)!).toBe(shift);
      }
      expect(Buffer.from(withoutTimes(r)).equals(Buffer.from(withoutTimes(orig)))).toBe(true);
    });
    // the originals are untouched
    expect(t(first.responses[0])).toBe(first.firstNs);
  });

  it("stays at a few flows per second over a long run (sparse files at their own pace), in time order", () => {
    const start = Date.UTC(2026, 0, 12, 9, 0, 0);
    const replay = new RecordedReplay(files, start, 3);
    const out: GetFlowsResponse[] = [];
    const hour = 3_600_000;
    for (let at = start; at < start + hour; ) out.push(...replay.until((at += 5000)));
    const rate = out.length / (hour / 1000);
    expect(rate).toBeGreaterThan(1);
    expect(rate).toBeLessThanOrEqual(3);
    for (let i = 1; i < out.length; i++) expect(t(out[i]) >= t(out[i - 1])).toBe(true);
    expect(out.every((r) => t(r) < BigInt(start + hour) * 1_000_000n)).toBe(true);
  });

  it("is skipped with a log line when the directory is missing", () => {
    const logs: string[] = [];
    const missing = path.join(os.tmpdir(), `flowlens-no-such-dir-${process.pid}`);
    expect(fs.existsSync(missing)).toBe(false);
    expect(loadRecordedFiles(missing, (m) => logs.push(m))).toEqual([]);
    expect(logs.join("\n")).toContain(missing);
    expect(new RecordedReplay([], 0).until(1e9)).toEqual([]);
  });
});

/**
 * What embedded PGlite can promise for heavy queries (one in-process connection that runs a query
 * synchronously: no statement timeout fires, a running query cannot be interrupted): a request whose
 * client has gone runs no further query, and an export stops between pages when its reader goes.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as statusGET } from "@/app/api/status/route";
import { call, useApiRuntime } from "../fixtures/api-harness";
import { writeHistory } from "../fixtures/generated-history";
import { storedCount, waitFor } from "../fixtures/test-pipeline";

const FLOWS = 8_000;
const DAY_NS = 86_400_000_000_000n;
const env = useApiRuntime("embedded", () => {}, { extraEnv: { FLOWLENS_QUERY_TIMEOUT: "2s" } });

beforeAll(async () => {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  await writeHistory(env.rt.writer, FLOWS, nowNs - 3n * DAY_NS, nowNs - 60_000_000_000n);
}, 300_000);

const pageQueries = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.filter(([sql]) => /FROM flows f .*ORDER BY f\.ts DESC/s.test(String(sql))).length;

describe("heavy queries on embedded PGlite", () => {
  it("has no query timeout to enforce (PGlite cannot interrupt a running query)", () => {
    expect(env.rt.db.kind).toBe("embedded");
    expect(env.rt.db.queryTimeoutMs).toBeNull();
  });

  it("a request whose client has already gone runs no query", async () => {
    const spy = vi.spyOn(env.rt.db.api, "query");
    try {
      const abort = new AbortController();
      abort.abort();
      const res = await call(flowsGET, "/api/flows?since=7d", { signal: abort.signal });
      expect(res.status).toBe(499);
      // asked, and refused before it reached the store
      expect(spy.mock.settledResults.map((r) => r.type)).toEqual(spy.mock.calls.map(() => "rejected"));
    } finally {
      spy.mockRestore();
    }
  });

  it("an export stops reading pages when its reader goes away", async () => {
    const spy = vi.spyOn(env.rt.db.api, "query");
    try {
      const abort = new AbortController();
      const res = await call(flowsGET, "/api/flows?since=7d&format=jsonl", { signal: abort.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      abort.abort();
      await reader.cancel();
      const atCancel = pageQueries(spy);
      expect(atCancel).toBeLessThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 500));
      expect(pageQueries(spy)).toBe(atCancel);
    } finally {
      spy.mockRestore();
    }
  });

  it("a whole export still reads every flow, and /api/status counts them", async () => {
    const stored = await storedCount(env.rt.db);
    const res = await call(flowsGET, "/api/flows?since=7d&format=jsonl");
    const text = await res.text();
    expect(text.split("\n").filter(Boolean)).toHaveLength(stored);
    const flows = async () => ((await (await call(statusGET, "/api/status")).json()) as { storage: { flows: number } }).storage.flows;
    // counted in the background, at least every 10 s (PGlite counts every row: no estimate)
    await waitFor(async () => (await flows()) === stored, `storage.flows = ${stored}`, 30_000);
  });
});

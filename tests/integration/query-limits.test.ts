/**
 * Heavy queries on real PostgreSQL with a few hundred thousand stored flows, through the route
 * handlers: a query past the (lowered) query timeout answers a clear 504; a request whose client
 * goes away has its query cancelled in the server; a streamed export reads one page ahead of its
 * reader and no further, and stops when the reader goes away.
 *
 * "Slow" is made deterministic by holding an ACCESS EXCLUSIVE lock on the tables from another
 * connection: the API's statement then waits in the server exactly like one that is still working
 * (statement_timeout counts the wait, a cancel interrupts it), for as long as the test wants.
 */
import v8 from "node:v8";
import vm from "node:vm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GET as dnsGET } from "@/app/api/dns/route";
import { GET as dropsGET } from "@/app/api/drops/route";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as graphGET } from "@/app/api/graph/route";
import { GET as policiesGET } from "@/app/api/policies/route";
import { GET as statusGET } from "@/app/api/status/route";
import { call, parseCsv, useApiRuntime } from "../fixtures/api-harness";
import { openDatabase } from "@/server/db/connection";
import { QueryTimeoutError } from "@/server/db/query-errors";
import { writeHistory } from "../fixtures/generated-history";
import { PG_BASE_URL } from "../fixtures/test-db";
import { storedCount, waitFor } from "../fixtures/test-pipeline";

const FLOWS = Number(process.env.QL_FLOWS ?? 200_000);
/** the memory test exports the newest 5 of the 30 days (rebuilding a flow costs ~0.1 ms) */
const EXPORT_DAYS = 5;
let exportSinceNs = 0n;
const TIMEOUT_MS = 2000;
const DAY_NS = 86_400_000_000_000n;

const env = useApiRuntime("postgres", () => {}, { extraEnv: { FLOWLENS_QUERY_TIMEOUT: `${TIMEOUT_MS}ms` } });
/** holds the locks (inside a transaction, which freezes its view of pg_stat_activity) */
let admin: pg.Client;
let adminPid: number;
/** watches pg_stat_activity */
let monitor: pg.Client;
let schema: string;
let stored = 0;

beforeAll(async () => {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  exportSinceNs = nowNs - BigInt(EXPORT_DAYS) * DAY_NS;
  await writeHistory(env.rt.writer, FLOWS, nowNs - 30n * DAY_NS, nowNs - 60_000_000_000n);
  stored = await storedCount(env.rt.db);
  schema = new URL(process.env.DATABASE_URL!).searchParams.get("schema")!;
  admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  monitor = new pg.Client({ connectionString: PG_BASE_URL });
  await monitor.connect();
  adminPid = (await admin.query<{ p: number }>("SELECT pg_backend_pid() AS p")).rows[0].p;
}, 300_000);

afterAll(async () => {
  await admin?.query("ROLLBACK").catch(() => {});
  await admin?.end();
  await monitor?.end();
});

/** holds the tables every API read needs, until the returned function is called */
async function lockTables(): Promise<() => Promise<void>> {
  await admin.query("BEGIN");
  await admin.query(`LOCK TABLE "${schema}".flows, "${schema}".flow_rollups IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await admin.query("ROLLBACK");
  };
}

/** server processes whose statement waits for our lock */
async function blockedBackends(): Promise<{ pid: number; application_name: string; query: string }[]> {
  const r = await monitor.query<{ pid: number; application_name: string; query: string }>(
    "SELECT pid, application_name, query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
    [adminPid],
  );
  return r.rows;
}

async function backend(pid: number): Promise<{ state: string; query: string } | null> {
  const r = await monitor.query<{ state: string; query: string }>("SELECT state, query FROM pg_stat_activity WHERE pid = $1", [pid]);
  return r.rows[0] ?? null;
}

const since = "since=31d";
const routes = [
  { name: "/api/flows (a JSON page)", handler: flowsGET, path: `/api/flows?${since}&limit=100` },
  { name: "/api/flows (a CSV export)", handler: flowsGET, path: `/api/flows?${since}&format=csv` },
  { name: "/api/drops", handler: dropsGET, path: `/api/drops?${since}` },
  { name: "/api/policies", handler: policiesGET, path: `/api/policies?${since}` },
  { name: "/api/graph", handler: graphGET, path: `/api/graph?since=30d` },
  { name: "/api/dns", handler: dnsGET, path: `/api/dns?since=1d` },
];

describe(`heavy queries on PostgreSQL (${FLOWS.toLocaleString("en-US")} stored flows)`, () => {
  it("stored the generated history", () => {
    expect(stored).toBeGreaterThanOrEqual(FLOWS);
  });

  describe("a client that goes away has its running query cancelled in PostgreSQL", () => {
    for (const r of routes) {
      it(r.name, async () => {
        const unlock = await lockTables();
        try {
          const abort = new AbortController();
          const answer = call(r.handler, r.path, { signal: abort.signal });
          await waitFor(async () => (await blockedBackends()).some((b) => b.application_name === "flowlens-api"), "the API query to wait in the server", 10_000);
          const [blocked] = (await blockedBackends()).filter((b) => b.application_name === "flowlens-api");
          abort.abort();
          const abortedAt = performance.now();
          // the cancel closes that connection; a timeout would leave it idle in the pool instead
          await waitFor(async () => (await backend(blocked.pid)) === null, `server process ${blocked.pid} to end`, 1000);
          expect(performance.now() - abortedAt).toBeLessThan(1000);
          const res = await answer;
          expect(res.status).toBe(499);
          expect((await blockedBackends()).filter((b) => b.application_name === "flowlens-api")).toEqual([]);
        } finally {
          await unlock();
        }
      });
    }
  });

  describe(`a query past the query timeout (${TIMEOUT_MS} ms here) answers 504 saying to narrow the request`, () => {
    for (const r of routes) {
      it(r.name, async () => {
        const unlock = await lockTables();
        try {
          const t0 = performance.now();
          const res = await call(r.handler, r.path);
          const ms = performance.now() - t0;
          expect(res.status).toBe(504);
          const body = (await res.json()) as { error: string; timeoutMs: number };
          expect(body.error).toMatch(/ran longer than 2 s \(FLOWLENS_QUERY_TIMEOUT\) and was stopped; narrow the time range or add filters/);
          expect(body.timeoutMs).toBe(TIMEOUT_MS);
          expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
          expect(ms).toBeLessThan(TIMEOUT_MS + 5000);
        } finally {
          await unlock();
        }
      });
    }
  });

  it("the ingest's connections have no statement timeout, the API's have the configured one", async () => {
    expect(env.rt.db.queryTimeoutMs).toBe(TIMEOUT_MS);
    const [apiSetting] = await env.rt.db.api.query<{ statement_timeout: string }>("SHOW statement_timeout");
    const [ingestSetting] = await env.rt.db.query<{ statement_timeout: string }>("SHOW statement_timeout");
    expect(apiSetting.statement_timeout).toBe("2s");
    expect(ingestSetting.statement_timeout).toBe("0");
  });

  it("a read that waits for a connection past the timeout, every API connection busy, says so", async () => {
    // one API connection, 2 s: the first read holds it 0–2 s, the second (queued at 0.7 s) gets it
    // then and holds it until 4 s, the third (queued at 1.4 s) gives up waiting at 3.4 s
    const db = await openDatabase({ url: process.env.DATABASE_URL!, apiPoolMax: 1, queryTimeoutMs: 2000 });
    const unlock = await lockTables();
    const outcome = (p: Promise<unknown>) => p.then(() => "answered", (e: unknown) => e);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const first = outcome(db.api.query("SELECT count(*) FROM flows"));
      await pause(700);
      const second = outcome(db.api.query("SELECT count(*) FROM flows"));
      await pause(700);
      const third = await outcome(db.api.query("SELECT 1"));
      expect(third).toBeInstanceOf(QueryTimeoutError);
      expect((third as QueryTimeoutError).phase).toBe("connection");
      expect((third as Error).message).toMatch(/every database connection for the API stayed busy for 2 s/);
      for (const r of [await first, await second]) {
        expect(r).toBeInstanceOf(QueryTimeoutError);
        expect((r as QueryTimeoutError).phase).toBe("query");
      }
    } finally {
      await unlock();
      await db.close();
    }
  });

  it("an export whose next page runs past the timeout ends with a line saying why and breaks off", async () => {
    const res = await call(flowsGET, `/api/flows?${since}&format=csv`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = dec.decode((await reader.read()).value, { stream: true }); // header
    text += dec.decode((await reader.read()).value, { stream: true }); // the first page, read before answering
    const unlock = await lockTables();
    let failure: unknown = null;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
    } catch (e) {
      failure = e;
    } finally {
      await unlock();
    }
    expect(failure, "the transfer is broken off, not ended").not.toBeNull();
    const rows = parseCsv(text);
    const last = rows[rows.length - 1];
    expect(last).toHaveLength(1);
    expect(last[0]).toMatch(/^#error: reading flows failed: the query ran longer than 2 s \(FLOWLENS_QUERY_TIMEOUT\) and was stopped; narrow the time range or add filters$/);
    // everything before it is whole rows of the export
    expect(rows.length - 2).toBeGreaterThanOrEqual(500);
    expect(rows.slice(1, -1).every((r) => r.length === rows[0].length)).toBe(true);
  });

  it("a streamed export reads one page ahead of a reader that stops, and nothing after the reader goes away", async () => {
    const spy = vi.spyOn(env.rt.db.api, "query");
    const pages = () => spy.mock.calls.filter(([sql]) => /FROM flows f .*ORDER BY f\.ts DESC/s.test(sql)).length;
    try {
      const abort = new AbortController();
      const res = await call(flowsGET, `/api/flows?${since}&format=csv`, { signal: abort.signal });
      const reader = res.body!.getReader();
      await reader.read(); // header
      await reader.read(); // first page
      await new Promise((r) => setTimeout(r, 300));
      const whileStopped = pages();
      await new Promise((r) => setTimeout(r, 700));
      expect(pages(), "no page read while the reader does not read").toBe(whileStopped);
      expect(whileStopped).toBeLessThanOrEqual(2);
      // the client goes away: Next.js aborts the request's signal and cancels the body
      abort.abort();
      await reader.cancel();
      const atCancel = pages();
      await new Promise((r) => setTimeout(r, 500));
      expect(pages()).toBe(atCancel);
    } finally {
      spy.mockRestore();
    }
  });

  it("an export read at full speed holds a page or two in memory, not the export", async () => {
    // the live heap, measured after a full collection (peaks before a collection are V8's slack)
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    gc();
    const live0 = process.memoryUsage().heapUsed;
    let maxLive = live0;
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    const sinceIso = new Date(Number(exportSinceNs / 1_000_000n)).toISOString();
    const res = await call(flowsGET, `/api/flows?since=${sinceIso}&format=csv`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
      if (++chunks % 40 === 0) {
        gc();
        maxLive = Math.max(maxLive, process.memoryUsage().heapUsed);
      }
    }
    const growthMb = (maxLive - live0) / 1048576;
    const totalMb = bytes / 1048576;
    console.log(`export: ${lines - 1} rows, ${totalMb.toFixed(0)} MB of CSV; live heap grew by at most ${growthMb.toFixed(1)} MB`);
    const [{ n }] = await env.rt.db.query<{ n: string }>("SELECT count(*)::text AS n FROM flows WHERE ts >= $1::bigint", [exportSinceNs.toString()]);
    expect(lines - 1).toBe(Number(n));
    expect(totalMb).toBeGreaterThan(15);
    // kept whole, the export's text alone would take more than its size in the heap
    expect(growthMb).toBeLessThan(10);
  });

  it("/api/status answers from its background counts while an API query waits on the store", async () => {
    const flows = async () => ((await (await call(statusGET, "/api/status")).json()) as { storage: { flows: number } }).storage.flows;
    await waitFor(async () => (await flows()) >= stored, "the status count to include the history", 10_000);
    const unlock = await lockTables();
    try {
      const slow = call(flowsGET, `/api/flows?${since}&limit=100`);
      await waitFor(async () => (await blockedBackends()).length > 0, "a blocked API query", 10_000);
      await new Promise((r) => setTimeout(r, 2100)); // the status counts are stale now: a refresh starts and waits too
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await call(statusGET, "/api/status");
        times.push(performance.now() - t0);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { storage: { flows: number } }).storage.flows).toBeGreaterThanOrEqual(stored);
      }
      expect(Math.max(...times)).toBeLessThan(200);
      await unlock();
      expect((await slow).status).toBe(504);
    } finally {
      await admin.query("ROLLBACK").catch(() => {});
    }
  });
});

/**
 * Hostile patterns through the real routes (issue 11, ADR 0007): patterns that made JavaScript's
 * backtracking RegExp run for seconds to forever on a 10k-character text — `.*.*.*.*.*.*.*.*x`,
 * `a?`×30`a`×30, FQDN patterns with hundreds of `*`, and fast-check generated nested quantifiers —
 * are matched in memory (context filters of /api/flows, every filter of /api/live) while the event
 * loop never stalls for more than a fraction of a second, and PostgreSQL's side of /api/flows
 * ends a pattern it is slow on with the 504 of the statement timeout, not a hang.
 *
 * The stall is measured with perf_hooks' event-loop delay histogram: the matcher runs
 * synchronously on the event loop, so its longest run shows up there whatever the route does.
 */
import fc from "fast-check";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as liveGET } from "@/app/api/live/route";
import type { FlowItem, FlowPage } from "@/server/domain/flows/flow-item";
import { call, qs, SseReader, useApiRuntime } from "../fixtures/api-harness";
import { buildFlow, httpRequest, keyOf, responseOf } from "../fixtures/flow-builder";
import { waitFor } from "../fixtures/test-pipeline";

const LONG = 10_000;
const TIMEOUT_MS = 2000;
/**
 * The longest the event loop may be held while a hostile pattern is compiled and matched: the old
 * matcher took 21 s to forever on these; re2js takes ~10-450 ms on a busy 2-core machine.
 */
const MAX_STALL_MS = 1000;
const now = () => BigInt(Date.now()) * 1_000_000n;

/** A 10k-character URL path, source name and destination label: the texts the patterns run over. */
function longFlow(path = "a".repeat(LONG)) {
  return httpRequest("GET", `http://svc:8080/${path}`, {
    time: now(),
    sourceNames: ["a".repeat(LONG)],
    destinationNames: [`${"ab".repeat(LONG / 2)}.example.com`],
  });
}
const seeded = [longFlow(), longFlow("ab".repeat(LONG / 2)), buildFlow({ time: now() })];
const env = useApiRuntime("postgres", (e) => e.publish(...seeded.map(responseOf)), {
  extraEnv: { FLOWLENS_QUERY_TIMEOUT: `${TIMEOUT_MS}ms` },
});

/** Runs `work` and returns its result with the longest event-loop stall seen meanwhile. */
async function stallOf<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  try {
    const result = await work();
    return { result, stallMs: h.max / 1e6, ms: performance.now() - t0 };
  } finally {
    h.disable();
  }
}

async function flowsPage(params: Record<string, string | string[]>): Promise<{ status: number; page: FlowPage | { error: string; parameter?: string } }> {
  const res = await call(flowsGET, `/api/flows?${qs(params)}`);
  return { status: res.status, page: await res.json() };
}

const starPattern = (stars: number, last: string) => `${"*a".repeat(stars)}*${last}`;

describe("/api/flows: context filters (matched in memory) with hostile name patterns", () => {
  const cases: [string, Record<string, string>, string[]][] = [
    // 250 wildcards (near MAX_PATTERN_SIZE) over a 10k-character name: JavaScript's RegExp never finished
    ["fqdn, 250 wildcards, no match", { fqdn: starPattern(250, "b") }, []],
    ["from-fqdn, 250 wildcards, matching the long name", { "from-fqdn": starPattern(250, "a") }, [keyOf(seeded[0]), keyOf(seeded[1])]],
    ["to-fqdn, alternating wildcards", { "to-fqdn": `${"a*b*".repeat(120)}.example.com` }, [keyOf(seeded[0]), keyOf(seeded[1])]],
    ["node-name, 250 wildcards", { "node-name": starPattern(250, "z") }, []],
    ["label with a 900-character value", { label: `k8s:app=${"a".repeat(900)}` }, []],
  ];
  for (const [name, params, keys] of cases) {
    it(name, async () => {
      const { result, stallMs, ms } = await stallOf(() => flowsPage(params));
      expect(result.status, JSON.stringify(result.page)).toBe(200);
      expect(((result.page as FlowPage).flows.map((f) => f.key)).sort()).toEqual([...keys].sort());
      expect(stallMs, `event loop held ${stallMs.toFixed(0)} ms (request ${ms.toFixed(0)} ms)`).toBeLessThan(MAX_STALL_MS);
    });
  }

  it("refuses a request whose patterns are too large to match quickly, naming the parameter", async () => {
    const values = Array.from({ length: 60 }, (_, i) => `${"*a".repeat(20)}${i}`);
    const { status, page } = await flowsPage({ fqdn: values.slice(0, 10), "to-fqdn": values });
    expect(status).toBe(400);
    expect(page).toMatchObject({ parameter: "to-fqdn", error: expect.stringMatching(/^to-fqdn: the patterns of this request are too large/) });
  });
});

describe("/api/flows: http-path runs in PostgreSQL, under the statement timeout", () => {
  it(".*.*.*.*.*.*.*.*x answers at once", async () => {
    const { result, stallMs } = await stallOf(() => flowsPage({ "http-path": ".*.*.*.*.*.*.*.*x" }));
    expect(result.status).toBe(200);
    expect((result.page as FlowPage).flows).toEqual([]);
    expect(stallMs).toBeLessThan(MAX_STALL_MS);
  });

  it("a pattern PostgreSQL is slow on (0.2–3.4 s over one 10k-character path, by machine) ends inside the timeout or with its 504, not a hang", async () => {
    const { result, ms, stallMs } = await stallOf(() => flowsPage({ "http-path": "(a?b?){150}c" }));
    // how long PostgreSQL takes depends on the machine: either it finishes inside the timeout or the
    // timeout ends it with a 504 naming it (query-limits tests force the 504 itself) — never a hang
    expect([200, 504], JSON.stringify(result.page)).toContain(result.status);
    if (result.status === 504) expect((result.page as { error: string }).error).toMatch(/FLOWLENS_QUERY_TIMEOUT/);
    else expect(ms).toBeLessThan(TIMEOUT_MS);
    expect(ms).toBeLessThan(TIMEOUT_MS + 5000);
    expect(stallMs).toBeLessThan(MAX_STALL_MS);
  });
});

/**
 * Opens /api/live with the pattern, publishes a 10k-path flow then a sentinel, and reports. The
 * sentinel's path /zz passes the filter's second value, so its arrival shows that the long flow
 * went through the matcher first, whatever the pattern.
 */
async function liveRun(pattern: string, longPath: string) {
  const abort = new AbortController();
  const res = await call(liveGET, `/api/live?${qs({ "http-path": [pattern, "^/zz$"] })}`, { signal: abort.signal });
  if (res.status !== 200) return { status: res.status, body: (await res.json()) as { error: string; parameter: string } };
  const sse = new SseReader(res.body!);
  try {
    await waitFor(() => sse.comments.includes("connected"), "the connected comment", 5000);
    const long = longFlow(longPath);
    const sentinel = httpRequest("GET", "http://svc:8080/zz", { time: now() });
    const keys = () => sse.events.filter((e) => e.event === "flow").map((e) => (JSON.parse(e.data) as FlowItem).key);
    const run = await stallOf(async () => {
      env.publish(responseOf(long), responseOf(sentinel));
      await waitFor(() => keys().includes(keyOf(sentinel)), `the sentinel for ${JSON.stringify(pattern)}`, 15_000);
    });
    return { status: 200, longDelivered: keys().includes(keyOf(long)), stallMs: run.stallMs, ms: run.ms };
  } finally {
    abort.abort();
    await sse.done;
  }
}

describe("/api/live: every filter is matched in memory", () => {
  const cases: [string, boolean][] = [
    [".*.*.*.*.*.*.*.*x", false],
    [`${"a?".repeat(30)}${"a".repeat(30)}`, true],
    ["(a?b?){150}c", false],
    ["^/(?:a|b)?[ab]*[ab]*[ab]*[ab]*[ab]*[ab]*[ab]*$", true],
  ];
  for (const [pattern, matchesLong] of cases) {
    it(pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern, async () => {
      const r = await liveRun(pattern, "a".repeat(LONG));
      expect(r.status).toBe(200);
      expect(r.longDelivered).toBe(matchesLong);
      expect(r.stallMs, `event loop held ${r.stallMs?.toFixed(0)} ms`).toBeLessThan(MAX_STALL_MS);
    });
  }

  it("fast-check: nested quantifiers are either refused with a 400 naming http-path or matched without a stall", async () => {
    // atoms and groups nested up to 3 deep, each optionally quantified: the shapes of ReDoS
    const quantifier = fc.constantFrom("", "*", "+", "?", "{1,3}", "{2,}", "*?");
    const atom = fc.constantFrom("a", "b", ".", "[ab]", "[^b]", "\\w");
    const { expr } = fc.letrec((tie) => ({
      expr: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.tuple(atom, quantifier).map(([a, q]) => a + q),
        fc.tuple(fc.array(tie("expr"), { minLength: 1, maxLength: 4 }), fc.boolean(), quantifier).map(
          ([parts, alternate, q]) => `(?:${parts.join(alternate ? "|" : "")})${q}`,
        ),
      ),
    }));
    const pattern = fc.tuple(fc.array(expr, { minLength: 1, maxLength: 5 }), fc.constantFrom("", "$", "x", "c$")).map(([p, end]) => p.join("") + end);
    let matched = 0;
    await fc.assert(
      fc.asyncProperty(pattern, async (p) => {
        const r = await liveRun(p, "ab".repeat(LONG / 2));
        if (r.status === 400) {
          expect(r.body).toMatchObject({ parameter: "http-path" });
          return;
        }
        matched++;
        expect(r.status).toBe(200);
        expect(r.stallMs, `event loop held ${r.stallMs?.toFixed(0)} ms for ${p}`).toBeLessThan(MAX_STALL_MS);
      }),
      { numRuns: 12, endOnFailure: true },
    );
    // the generator must reach the matcher, not only the validator's refusals
    expect(matched).toBeGreaterThan(0);
  }, 120_000);
});

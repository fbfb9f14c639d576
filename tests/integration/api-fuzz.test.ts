/**
 * Every route's parameters fuzzed on real PostgreSQL (fast-check): the real handlers, the runtime
 * getRuntime() starts, flows that came through the test relay and the ingest. For each route:
 *
 *   valid     queries built only from values the API documents → 200, the body read to its end
 *   one bad   a valid query plus one refused value (or an unknown or repeated parameter, or valid
 *             values of a list parameter mixed with a refused one) → 400 naming that parameter
 *   sweep     every parameter (and unknown names) with each of NASTY's boundary values
 *   anything  boundary numbers, huge and odd text, %-escapes, repeats, unknown names, edge times,
 *             mixed with valid values → 200 read to its end, or 400 naming a parameter that was
 *             sent (or that the route requires); never 5xx, a thrown error, a hang, or a body
 *             that breaks off (/api/live: its first event, then the client goes away)
 *
 * A failure prints fast-check's seed and path, and the request; replay that one property with
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run --project integration tests/integration/api-fuzz.test.ts -t '<its name>'
 * FUZZ_RUNS=<n> multiplies the runs (the default keeps the file near 20 s, 30 s on a loaded machine).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GET as dnsGET } from "@/app/api/dns/route";
import { GET as dnsSummaryGET } from "@/app/api/dns/summary/route";
import { GET as dropsGET } from "@/app/api/drops/route";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as graphGET } from "@/app/api/graph/route";
import { GET as liveGET } from "@/app/api/live/route";
import { GET as policiesGET } from "@/app/api/policies/route";
import { GET as diffGET } from "@/app/api/policies/diff/route";
import { GET as suggestGET } from "@/app/api/policies/suggest/route";
import { GET as quarantineGET } from "@/app/api/quarantine/route";
import { GET as statusEventsGET } from "@/app/api/status/events/route";
import { FILTER_FLOWS, TIMELINE, hostileFlows } from "../fixtures/api-dataset";
import { call, parseCsv, useApiRuntime } from "../fixtures/api-harness";
import { responseOf } from "../fixtures/flow-builder";
import {
  DAY,
  DNS_STATUSES,
  DROP_SORTS,
  EDGE_TIMES,
  FLOW_PARAMS,
  NASTY,
  TIME_BAD,
  junk,
  queryString,
  range,
  rawFragment,
  type Pair,
  type Query,
} from "../fixtures/fuzz-params";
import { recordedResponses } from "../fixtures/recorded-flows";

const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const REPLAY = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH } : {};
/** one request may take this long on a slow shared machine; longer is a hang */
const CALL_MS = 20_000;

useApiRuntime("postgres", ({ publish }) => {
  publish(...recordedResponses());
  publish(...[FILTER_FLOWS, TIMELINE, hostileFlows()].flatMap((group) => Object.values(group).map(responseOf)));
});

type Handler = (request: Request) => Promise<Response>;
const cf = <T>(...vs: T[]) => fc.constantFrom(...vs);
const pick = (params: Record<string, Arbs>, names: string[]) => Object.fromEntries(names.map((n) => [n, params[n]]));
const without = (params: Record<string, Arbs>, names: string[]) => Object.fromEntries(Object.entries(params).filter(([n]) => !names.includes(n)));
const param = (valid: fc.Arbitrary<string>, bad?: fc.Arbitrary<string>): Arbs => ({ valid, bad });
const num = (min: number, max: number) => fc.integer({ min, max }).map(String);

/** a parameter's valid values, and values it refuses (none: every string is valid) */
type Arbs = { valid: fc.Arbitrary<string>; bad?: fc.Arbitrary<string> };

interface Route {
  path: string;
  handler: Handler;
  /** parameters taking several values (repeated, or comma-separated when `comma`) */
  lists: Record<string, Arbs>;
  /** parameters taking one value */
  singles: Record<string, Arbs>;
  /** since/until that are valid here */
  range?: fc.Arbitrary<Pair[]>;
  /** always part of a valid query */
  base?: fc.Arbitrary<Pair[]>;
  /** singles that only `base` puts in a valid query (they need a partner) */
  baseOnly?: string[];
  /** a parameter that replaces since/until (a valid query has one or the other) */
  insteadOfRange?: string;
  /** parameters a 400 may name although the query lacks them */
  required?: string[];
  /** parameters to leave out when a bad value of the key is sent (the route reports the conflict first) */
  conflicts?: Record<string, string[]>;
  /** parameters answering 400 whatever their value */
  refused?: string[];
  /** single parameters the route does not check for repeats (it ignores them) */
  unchecked?: string[];
  /** single parameters whose repeats are one value when equal (only different values are refused) */
  dedupes?: string[];
}

/** values of one list parameter: 1–3, repeated or (where allowed) comma-joined */
function listValues(name: string, arbs: Arbs, comma: boolean): fc.Arbitrary<Pair[]> {
  return fc.tuple(fc.array(arbs.valid, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([vs, join]) =>
    comma && join ? [[name, vs.join(",")] as Pair] : vs.map((v): Pair => [name, v]),
  );
}
const NO_COMMA = new Set(["label", "from-label", "to-label", "http-path", "workload"]);

function validQuery(r: Route): fc.Arbitrary<Query> {
  const names = [...Object.keys(r.lists), ...Object.keys(r.singles)].filter((n) => !(r.baseOnly ?? []).includes(n));
  return fc
    .tuple(r.base ?? fc.constant([]), r.range ?? fc.constant([]), fc.subarray(names, { maxLength: Math.min(4, names.length) }))
    .chain(([base, time, chosen]) => {
      const keep = chosen.filter((n) => !base.some(([b]) => b === n));
      const useRange = !r.insteadOfRange || !keep.includes(r.insteadOfRange);
      const parts = keep.map((n) => (n in r.lists ? listValues(n, r.lists[n], !NO_COMMA.has(n)) : r.singles[n].valid.map((v): Pair[] => [[n, v]])));
      return fc.tuple(...parts).map((ps) => ({ pairs: [...base, ...(useRange ? time : []), ...ps.flat()] }));
    });
}

/** A valid query and one parameter made bad; the 400 must name `parameter`. */
function oneBad(r: Route): fc.Arbitrary<{ query: Query; parameter: string }> {
  const known = new Set([...Object.keys(r.lists), ...Object.keys(r.singles), "since", "until", ...(r.refused ?? []), "_", "_rsc"]);
  const bads: fc.Arbitrary<{ name: string; pairs: Pair[] }>[] = [];
  for (const [name, arbs] of Object.entries(r.lists)) {
    if (arbs.bad === undefined) continue;
    bads.push(fc.tuple(arbs.bad, fc.array(arbs.valid, { maxLength: 2 }), fc.nat()).map(([bad, good, at]) => {
      const vs = [...good];
      vs.splice(at % (vs.length + 1), 0, bad);
      return { name, pairs: vs.map((v): Pair => [name, v]) };
    }));
  }
  for (const [name, arbs] of Object.entries(r.singles)) {
    if (arbs.bad !== undefined) bads.push(arbs.bad.map((bad) => ({ name, pairs: [[name, bad]] })));
    if ((r.unchecked ?? []).includes(name)) continue;
    const two = (r.dedupes ?? []).includes(name) ? fc.uniqueArray(arbs.valid, { minLength: 2, maxLength: 2 }) : fc.tuple(arbs.valid, arbs.valid);
    bads.push(two.map(([a, b]) => ({ name, pairs: [[name, a], [name, b]] })));
  }
  if (r.range) {
    for (const [name, bad] of Object.entries(TIME_BAD)) bads.push(bad.map((b) => ({ name, pairs: [[name, b]] })));
    // since after until: the 400 names since
    const after = fc.tuple(fc.integer({ min: 1, max: 3_000_000 }), fc.integer({ min: 1, max: 86_400 })).map(([t, d]) => [t, t + d].map((s) => new Date(s * 1000 + Date.UTC(2021, 0, 1)).toISOString()));
    bads.push(after.map(([until, since]) => ({ name: "since", pairs: [["since", since], ["until", until]] })));
  }
  for (const name of r.refused ?? []) bads.push(fc.oneof(junk, cf("1", "json")).map((v) => ({ name, pairs: [[name, v]] })));
  const unknown = fc.oneof(cf("verdicts", "namespce", "Since", "LIMIT", "foo", "page", "offset", "__proto__", "a b", "☃"), fc.string({ minLength: 1, maxLength: 12 }));
  bads.push(unknown.filter((n) => !known.has(n)).map((name) => ({ name, pairs: [[name, "1"]] })));
  return fc.tuple(validQuery(r), fc.oneof(...bads)).map(([q, bad]) => {
    const drop = new Set([...bad.pairs.map(([n]) => n), ...(r.conflicts && Object.hasOwn(r.conflicts, bad.name) ? r.conflicts[bad.name] : [])]);
    return { query: { pairs: [...q.pairs.filter(([n]) => !drop.has(n)), ...bad.pairs] }, parameter: bad.name };
  });
}

/** Anything at all, mostly near what the route takes. */
function anything(r: Route): fc.Arbitrary<Query> {
  const all: Record<string, Arbs> = { ...r.lists, ...r.singles };
  const times = fc.oneof(cf(...EDGE_TIMES), TIME_BAD.since, range().map((p) => p[0]?.[1] ?? "1h"));
  const valueOf = (name: string) => {
    const own = Object.hasOwn(all, name) ? all[name] : undefined;
    return fc.oneof(
      ...(own ? [{ arbitrary: own.valid, weight: 3 }] : []),
      ...(own?.bad ? [{ arbitrary: own.bad, weight: 3 }] : []),
      { arbitrary: name === "since" || name === "until" || name === "at" ? times : cf(...EDGE_TIMES), weight: 2 },
      { arbitrary: junk, weight: 2 },
    );
  };
  const names = [...new Set([...Object.keys(all), "since", "until", ...(r.refused ?? [])])];
  const pair = fc.oneof(
    { arbitrary: cf(...names).chain((n) => valueOf(n).map((v): Pair => [n, v])), weight: 8 },
    { arbitrary: fc.tuple(fc.string({ maxLength: 8 }), junk), weight: 1 },
  );
  return fc
    .tuple(validQuery(r), fc.array(pair, { maxLength: 6 }), fc.option(rawFragment, { freq: 4 }))
    .map(([q, extra, raw]) => ({ pairs: [...q.pairs, ...extra], ...(raw ? { raw } : {}) }));
}

async function withDeadline<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CALL_MS} ms`)), CALL_MS)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls the route; checks the answer is a complete 200 or a well-formed 400. */
async function answer(r: Route, q: Query): Promise<{ status: number; parameter?: string; sent: Set<string> }> {
  const qs = queryString(q);
  const url = `${r.path}?${qs}`;
  const sent = new Set(new URLSearchParams(qs).keys());
  const started = Date.now();
  const res = await withDeadline(url, call(r.handler, url));
  const type = res.headers.get("content-type") ?? "";
  if (res.status === 200 && type.startsWith("text/event-stream")) {
    const reader = res.body!.getReader();
    const first = await withDeadline(`${url} (first event)`, reader.read());
    await reader.cancel();
    expect(new TextDecoder().decode(first.value), url).toMatch(/^: connected\n\n/);
    return { status: 200, sent };
  }
  const text = await withDeadline(`${url} (body)`, res.text());
  expect(Date.now() - started, `${url} took too long`).toBeLessThan(CALL_MS);
  // the suggestion in YAML for a namespace without traffic in the range: a comment saying so, 404
  if (r.path === "/api/policies/suggest" && res.status === 404 && text.startsWith("# No traffic")) return { status: 200, sent };
  expect([200, 400], `${url} → ${res.status} ${text.slice(0, 300)}`).toContain(res.status);
  if (res.status === 400) {
    const body = JSON.parse(text) as { error: unknown; parameter: unknown };
    expect(typeof body.parameter, `${url}: ${text}`).toBe("string");
    expect(typeof body.error, `${url}: ${text}`).toBe("string");
    expect(body.error as string, url).toContain(body.parameter as string);
    return { status: 400, parameter: body.parameter as string, sent };
  }
  if (type.startsWith("application/json")) expect(typeof JSON.parse(text), url).toBe("object");
  else if (type.startsWith("text/csv")) expect(parseCsv(text).length, url).toBeGreaterThan(0);
  else if (type.startsWith("application/x-ndjson")) for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
  else expect(type, url).toMatch(/^application\/yaml/);
  return { status: 200, sent };
}

// ---------------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------------

const FLOW_SINGLES = ["last", "limit", "cursor", "format"];
const flowLists = without(FLOW_PARAMS, FLOW_SINGLES);
const MONTH = 31n * DAY;
const dropVerdict = param(cf("DROPPED", "audit", "2", "4"), cf("FORWARDED", "1", "MAYBE"));
const windowArb = (maxMinutes: number) => fc.integer({ min: 1, max: maxMinutes }).map((m) => `${m}m`);
const L4_ONLY = ["port", "from-port", "to-port", "http-status", "http-method", "http-path", "uuid"];

const ROUTES: Route[] = [
  { path: "/api/flows", handler: flowsGET, lists: flowLists, singles: pick(FLOW_PARAMS, FLOW_SINGLES), range: range() },
  {
    path: "/api/drops",
    handler: dropsGET,
    lists: { ...flowLists, verdict: dropVerdict },
    singles: {
      ...pick(FLOW_PARAMS, ["last", "limit"]),
      format: param(cf("json", "csv", "jsonl"), cf("xml")),
      rows: param(cf("grouped", "raw"), cf("all", "RAWS")),
      sort: param(cf(...DROP_SORTS), cf("size", "")),
      order: param(cf("asc", "DESC"), cf("up")),
      buckets: param(num(1, 500), cf("0", "501", "1.5", "x")),
    },
    base: fc.oneof(fc.constant<Pair[]>([]), cf<Pair[]>([["rows", "raw"], ["format", "csv"]], [["rows", "raw"], ["format", "jsonl"]])),
    baseOnly: ["rows"],
    range: range(),
    refused: ["cursor"],
  },
  { path: "/api/policies", handler: policiesGET, lists: flowLists, singles: { ...pick(FLOW_PARAMS, ["last", "limit", "cursor"]), format: param(cf("json"), cf("csv", "jsonl", "yaml")), buckets: param(num(1, 500), cf("0", "501", "-1")) }, range: range() },
  {
    path: "/api/policies/diff",
    handler: diffGET,
    lists: flowLists,
    singles: {
      ...pick(FLOW_PARAMS, ["last", "limit", "cursor"]),
      format: param(cf("json"), cf("csv", "yaml")),
      at: param(fc.oneof(cf("2025-06-01T00:00:00Z", "2021-10-04T11:25:00Z", "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", "15m", "18250d")), cf("0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "36500d", "yesterday", "")),
      window: param(windowArb(1440), cf("0s", "1441m", "2d", "x", "")),
      edges: param(cf("policy", "all", "ALL"), cf("some")),
    },
    base: cf("2025-06-01T00:00:00Z", "2021-10-04T11:25:00Z", "10m").map((at): Pair[] => [["at", at]]),
    required: ["at"],
    refused: ["since", "until"],
  },
  {
    path: "/api/policies/suggest",
    handler: suggestGET,
    lists: without(flowLists, ["namespace"]),
    singles: {
      ...pick(FLOW_PARAMS, ["last", "limit", "cursor"]),
      namespace: FLOW_PARAMS.namespace,
      format: param(cf("json", "yaml", "YAML"), cf("csv", "jsonl", "xml")),
      kind: param(cf("cilium", "kubernetes"), cf("istio", "")),
    },
    base: FLOW_PARAMS.namespace.valid.map((n): Pair[] => [["namespace", n]]),
    range: range(),
    required: ["namespace"],
    dedupes: ["namespace"],
  },
  {
    path: "/api/graph",
    handler: graphGET,
    lists: { ...without(flowLists, L4_ONLY), protocol: param(cf("tcp", "UDP", "icmp", "icmpv4", "icmpv6", "sctp"), cf("http", "dns", "kafka", "ftp")) },
    singles: {
      window: param(windowArb(31 * 1440 - 1), cf("0s", "x", "32d", "")),
      noise: param(cf("on", "off", "true", "false", "1", "0", "hide", "show"), cf("ON", "maybe", "")),
      focus: param(fc.oneof(cf("world", "ns:default/shop", "agg:a->b", "w:default/shop/frontend"), fc.string({ minLength: 1, maxLength: 1024 })), cf("", "x".repeat(1025))),
      buckets: param(num(1, 600), cf("0", "601", "1.5", "x")),
      only: param(cf("series"), cf("all", "Series", "")),
    },
    base: fc.oneof(fc.constant<Pair[]>([]), cf<Pair[]>([["focus", "world"], ["only", "series"]], [["focus", "ns:default/shop"], ["only", "series"]])),
    baseOnly: ["only"],
    range: range(MONTH),
    insteadOfRange: "window",
    refused: [...L4_ONLY, "last", "cursor", "limit", "format"],
    conflicts: { since: ["window"], until: ["window"], window: ["since", "until"] },
  },
  ...(["/api/dns", "/api/dns/summary"] as const).map(
    (path): Route => ({
      path,
      handler: path === "/api/dns" ? dnsGET : dnsSummaryGET,
      lists: {
        ...flowLists,
        workload: param(fc.oneof(cf("shop/backend", "default/details-v1"), fc.string({ maxLength: 30 }))),
        status: param(fc.oneof(cf(...DNS_STATUSES), cf("nxdomain", "pending")), cf("FOO", "NOERRORS")),
      },
      singles: {
        limit: FLOW_PARAMS.limit,
        format: param(cf("json"), cf("csv", "jsonl")),
        query: param(fc.string({ maxLength: 40 }), cf("x".repeat(1025))),
        timeout: param(cf("100ms", "5s", "2m", "30s", "1.5s"), cf("99ms", "3m", "x", "")),
        ...(path === "/api/dns"
          ? { width: param(num(50, 10_000), cf("49", "10001", "1e3")), lane: param(cf("workload", "name"), cf("pod", "")) }
          : { buckets: param(num(1, 1000), cf("0", "1001", "x")) }),
      },
      range: range(MONTH),
      refused: ["cursor", "last"],
    }),
  ),
  {
    path: "/api/live",
    handler: liveGET,
    lists: flowLists,
    // time and paging parameters are ignored by the live stream, whatever they hold
    singles: Object.fromEntries(FLOW_SINGLES.map((n) => [n, param(fc.oneof(FLOW_PARAMS[n].valid, junk))])),
    unchecked: FLOW_SINGLES,
  },
  { path: "/api/status/events", handler: statusEventsGET, lists: {}, singles: {} },
  {
    path: "/api/quarantine",
    handler: quarantineGET,
    lists: {},
    singles: {
      format: param(cf("json", "jsonl"), cf("xml", "csv", "JSON", "")),
      limit: param(num(1, 1000), cf("0", "1001", "1.5", "x", "")),
      cursor: param(fc.oneof(num(1, 2 ** 31), cf("9223372036854775807")), cf("0", "-1", "x", "9223372036854775808", "99999999999999999999")),
      stage: param(cf("decode", "write"), cf("DECODE", "other", "")),
    },
  },
];

describe("every route fuzzed on real PostgreSQL", () => {
  for (const route of ROUTES) {
    describe(route.path, () => {
      it("answers 200 to valid queries and reads to the end", async () => {
        await fc.assert(
          fc.asyncProperty(validQuery(route), async (q) => {
            const a = await answer(route, q);
            expect(a.status, `${route.path}?${queryString(q)} → 400 ${a.parameter}`).toBe(200);
          }),
          { numRuns: 30 * RUNS, ...REPLAY },
        );
      });

      it("answers 400 naming the one bad parameter of an otherwise valid query", async () => {
        await fc.assert(
          fc.asyncProperty(oneBad(route), async ({ query, parameter }) => {
            const a = await answer(route, query);
            expect([a.status, a.parameter], `${route.path}?${queryString(query)}`).toEqual([400, parameter]);
          }),
          { numRuns: 40 * RUNS, ...REPLAY },
        );
      });

      it("answers every parameter's boundary values (a sweep) with a complete 200 or a 400 naming it", async () => {
        const base = route.base ? fc.sample(route.base, { numRuns: 1, seed: 1 })[0] : [];
        const names = [...new Set([...Object.keys(route.lists), ...Object.keys(route.singles), "since", "until", ...(route.refused ?? []), "an-unknown-one", "__proto__", "constructor"])];
        for (const name of names) {
          for (const value of NASTY) {
            const query = { pairs: [...base.filter(([n]) => n !== name), [name, value] as Pair] };
            const a = await answer(route, query);
            if (a.status === 400) expect([name, ...(route.required ?? [])], `${route.path}?${queryString(query).slice(0, 300)}`).toContain(a.parameter);
          }
        }
      });

      it("answers anything with a complete 200 or a 400 naming a parameter it was sent", async () => {
        await fc.assert(
          fc.asyncProperty(anything(route), async (q) => {
            const a = await answer(route, q);
            if (a.status === 400) expect([...a.sent, ...(route.required ?? [])], `${route.path}?${queryString(q)}`).toContain(a.parameter);
          }),
          { numRuns: 60 * RUNS, ...REPLAY },
        );
      });
    });
  }
});

/**
 * Bad input answers 400 with {error, parameter} naming the parameter — never 500 (nor 503): an
 * invalid value for every parameter of /api/flows, in every format, and for /api/live; and one
 * case per bug found by fuzzing the other routes (api-fuzz.test.ts), with the values at the edges
 * that must still answer 200.
 */
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
import { GET as statusEventsGET } from "@/app/api/status/events/route";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { FLOW_QUERY_PARAMETERS } from "@/server/domain/flows/flow-query";
import { FILTER_WINDOW } from "../fixtures/api-dataset";
import { call, parseCsv, qs } from "../fixtures/api-harness";

const b64 = (s: string) => Buffer.from(s).toString("base64url");

/** [parameter the answer must name, raw query string, description when the query is unreadable] */
const BAD: [string, string, string?][] = [
  ["since", "since=yesterday"],
  ["since", "since=2026-11-23T18:00:00Z&until=2026-11-22T18:00:00Z"], // since after until
  ["until", "until=2026-02-30T00:00:00Z"],
  ["until", "until=15000000000m"],
  ["last", "last=0"],
  ["last", "last=-3"],
  ["verdict", "verdict=MAYBE"],
  ["verdict", "verdict=DROPPED,"],
  ["namespace", "namespace=Shop_1"],
  ["namespace", `namespace=${"a".repeat(2000)}`, "namespace of 2000 characters"],
  ["from-namespace", "from-namespace=%3Cscript%3E"],
  ["to-namespace", "to-namespace=a%20b"],
  ["pod", "pod=a/b/c"],
  ["from-pod", "from-pod=/frontend"],
  ["to-pod", "to-pod=Front*"],
  ["label", "label=app%20in%20("],
  ["from-label", "from-label=%3D%3D"],
  ["to-label", "to-label=app%20in%20web"],
  ["ip", "ip=10.0.0.300/8"],
  ["from-ip", "from-ip=10.0.0.0/33"],
  ["to-ip", "to-ip=fd00::/129"],
  ["port", "port=99999"],
  ["from-port", "from-port=-1"],
  ["to-port", "to-port=http"],
  ["protocol", "protocol=ftp"],
  ["type", "type=bogus"],
  ["type", "type=drop:not-a-subtype"],
  ["drop-reason-desc", "drop-reason-desc=NOT_A_REASON"],
  ["http-status", "http-status=600"],
  ["http-method", "http-method=GE%20T"],
  ["http-path", "http-path=("],
  ["http-path", "http-path=%5Bz-a%5D"],
  ["http-path", "http-path=(a%2B)%2B"],
  ["http-path", "http-path=(%3F%3Dlookahead)"],
  ["fqdn", "fqdn=bad%20name!"],
  ["from-fqdn", "from-fqdn=."],
  ["to-fqdn", "to-fqdn=a/b"],
  ["node-name", "node-name=a/b/c"],
  ["traffic-direction", "traffic-direction=sideways"],
  ["cluster", "cluster=-bad"],
  ["uuid", "uuid=not-a-uuid"],
  ["limit", "limit=0"],
  ["limit", "limit=5001"],
  ["limit", "limit=1&limit=2"],
  ["cursor", "cursor=garbage"],
  ["cursor", "cursor=not%20printable"],
  ["cursor", `cursor=${b64(`1:${"-".repeat(36)}`)}`, "forged cursor whose key is no UUID"],
  ["cursor", `cursor=${b64("99999999999999999999:00000000-0000-4000-8000-000000000001")}`, "forged cursor whose time overflows int64"],
  ["format", "format=xml"],
  ["foo", "foo=bar"],
  ["verdicts", "verdicts=DROPPED"],
];

type Handler = (request: Request) => Promise<Response>;
const ROUTES: Record<string, Handler> = {
  "/api/flows": flowsGET,
  "/api/drops": dropsGET,
  "/api/policies": policiesGET,
  "/api/policies/diff": diffGET,
  "/api/policies/suggest": suggestGET,
  "/api/graph": graphGET,
  "/api/dns": dnsGET,
  "/api/dns/summary": dnsSummaryGET,
  "/api/live": liveGET,
  "/api/status/events": statusEventsGET,
};
const EDGES = ["0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59.999999999Z"];
const BEFORE_1970 = ["0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "1969-12-31T23:59:59Z", "36500d"];
const cursorOf = (s: string) => Buffer.from(s).toString("base64url");

/** [route, parameter the 400 must name, query]: each was a 503, a 500, a hang or a 200 before */
const FUZZED: [string, string, string][] = [
  // at before 1970 or after 2200 overflowed PostgreSQL's bigint: 503
  ...["0000-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "9999-12-31T23:59:59Z", "36500d"].map((at): [string, string, string] => ["/api/policies/diff", "at", qs({ at })]),
  // a DNS range of decades walked every minute in memory (out of memory after ~1 min): now at most 31 days
  ...BEFORE_1970.flatMap((since) => ["/api/dns", "/api/dns/summary"].map((r): [string, string, string] => [r, "since", qs({ since })])),
  // a NUL reached PostgreSQL as text: 503 "invalid byte sequence"
  ...["/api/flows", "/api/drops", "/api/policies", "/api/dns"].map((r): [string, string, string] => [r, "http-path", qs({ "http-path": "a\u0000b" })]),
  // a forged cursor was read only when a context matched: 200 for a filter matching nothing
  ["/api/flows", "cursor", qs({ namespace: "no-such-namespace", cursor: cursorOf("99999999999999999999:00000000-0000-4000-8000-000000000001") })],
  ["/api/flows", "cursor", qs({ namespace: "no-such-namespace", cursor: "garbage" })],
  ["/api/policies", "cursor", qs({ cursor: "garbage" })],
  // Object's own names: a 400 naming "" (the zod issue had no path), Object as an event type, a TypeError (500) on the map
  ...["/api/flows", "/api/drops", "/api/graph", "/api/dns", "/api/live"].flatMap((r) =>
    ["__proto__", "constructor", "toString"].map((name): [string, string, string] => [r, name, `${name}=1`]),
  ),
  ["/api/flows", "type", "type=constructor"],
  ["/api/graph", "protocol", "protocol=constructor"],
  ["/api/graph", "protocol", "protocol=__proto__"],
  // format other than json/yaml answered JSON; a second kind was ignored
  ["/api/policies/suggest", "format", qs({ namespace: "shop", format: "csv" })],
  ["/api/policies/suggest", "format", qs({ namespace: "shop", format: ["yaml", "json"] })],
  ["/api/policies/suggest", "kind", qs({ namespace: "shop", kind: ["kubernetes", "cilium"] })],
  ["/api/policies/diff", "format", qs({ at: "1h", format: "csv" })],
  // parameters were ignored
  ["/api/status/events", "limit", "limit=10"],
];

/** [route, query]: boundary values that must answer 200 (they were 503s or refused) */
const STILL_FINE: [string, string][] = [
  // since/until past what flows can have are open ends, as Go's zero time and 9999-12-31 mean
  ...EDGES.flatMap((t) =>
    ["/api/flows", "/api/drops", "/api/policies", "/api/policies/suggest"].flatMap((r): [string, string][] => [
      [r, qs({ namespace: "shop", since: t })],
      [r, qs({ namespace: "shop", until: t })],
    ]),
  ),
  ["/api/flows", qs({ since: EDGES[0], until: EDGES[4], format: "csv" })],
  ["/api/drops", qs({ since: EDGES[0], until: EDGES[4], rows: "raw", format: "jsonl" })],
  ...EDGES.map((until): [string, string] => ["/api/dns", qs({ until })]),
  ...EDGES.map((until): [string, string] => ["/api/graph", qs({ until })]),
  ["/api/policies/diff", qs({ at: "1970-01-01T00:00:00Z", window: "1440m" })],
  ["/api/policies/diff", qs({ at: "2200-01-01T00:00:00Z", window: "1440m" })],
  ["/api/dns", qs({ since: "30d" })],
  ["/api/policies/suggest", qs({ namespace: "shop", format: "YAML" })],
  // adjacent wildcards took ~25 s per name on the live matcher's backtracking regex
  ["/api/flows", qs({ fqdn: `${"*".repeat(24)}x` })],
  ["/api/flows", qs({ "node-name": `${"*".repeat(24)}x`, format: "csv" })],
  ["/api/status/events", "_=1&_rsc=x"],
];

async function expectBadRequest(res: Response, parameter: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text) as { error: string; parameter: string };
  expect(body.parameter).toBe(parameter);
  expect(body.error).toContain(parameter);
}

export function errorTests(): void {
  describe("bad input → 400 naming the parameter", () => {
    const cases = BAD.map(([parameter, query, note]) => ({ parameter, query, label: note ?? query }));

    it.each(cases)("/api/flows $parameter: $label", async ({ parameter, query }) => {
      await expectBadRequest(await call(flowsGET, `/api/flows?${query}`), parameter);
    });

    // exports validate by reading their first page before answering 200
    const exportCases = cases.filter((c) => c.parameter === "cursor" || c.parameter === "http-path");
    it.each(exportCases)("/api/flows csv and jsonl $parameter: $label", async ({ parameter, query }) => {
      for (const format of ["csv", "jsonl"]) {
        await expectBadRequest(await call(flowsGET, `/api/flows?format=${format}&${query}`), parameter);
      }
    });

    it("has a bad value for every parameter", () => {
      const tested = new Set(BAD.map(([p]) => p));
      expect(FLOW_QUERY_PARAMETERS.filter((p) => !tested.has(p))).toEqual([]);
    });

    it.each([
      ["verdict", "verdict=MAYBE&namespace=shop"],
      ["http-path", "http-path=("],
      ["foo", "foo=1"],
    ])("/api/live %s: %s", async (parameter, query) => {
      await expectBadRequest(await call(liveGET, `/api/live?${query}`), parameter);
    });

    it.each(FUZZED)("%s %s: %s", async (route, parameter, query) => {
      await expectBadRequest(await call(ROUTES[route], `${route}?${query}`), parameter);
    });

    it.each(STILL_FINE)("%s answers 200 to %s", async (route, query) => {
      const started = Date.now();
      const res = await call(ROUTES[route], `${route}?${query}`);
      const text = await res.text();
      // a suggestion for a namespace without traffic in the range is a YAML comment saying so (404)
      const nothingToSuggest = route === "/api/policies/suggest" && res.status === 404 && text.startsWith("# No traffic");
      if (!nothingToSuggest) expect(res.status, text.slice(0, 300)).toBe(200);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("an unknown parameter's 400 lists the route's own parameters too", async () => {
      for (const [route, own, refused] of [
        ["/api/drops", ["sort", "order", "rows", "buckets"], []],
        ["/api/policies/diff", ["at", "window", "edges"], []],
        ["/api/graph", ["window", "noise", "focus", "only"], ["port", "cursor"]],
        ["/api/dns", ["workload", "status", "width", "lane"], ["cursor", "last"]],
      ] as const) {
        const body = (await (await call(ROUTES[route], `${route}?buckts=5`)).json()) as { error: string; parameter: string };
        expect(body.parameter).toBe("buckts");
        const listed = body.error.replace(/^.*valid parameters are /, "").split(", ");
        expect(listed, route).toEqual(expect.arrayContaining([...own, "namespace", "since"]));
        for (const r of refused) expect(listed, route).not.toContain(r);
      }
    });

    it("a DNS range past 31 days says from when the range would be answered", async () => {
      const res = await call(dnsGET, `/api/dns?${qs({ since: "0001-01-01T00:00:00Z", until: "2025-06-01T00:00:00Z" })}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ parameter: "since", fitsSince: "2025-05-01T00:00:00Z" });
    });

    it("a JSON page's counted cursor (with last) also continues an export", async () => {
      const first = (await (await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, last: "5", limit: "2" })}`)).json()) as FlowPage;
      expect(first.next).toMatch(/\.3$/);
      const rest = (await (await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, last: "5", limit: "100", cursor: first.next! })}`)).json()) as FlowPage;
      expect(rest.flows).toHaveLength(3);
      for (const format of ["csv", "jsonl"]) {
        const res = await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, last: "5", format, cursor: first.next! })}`);
        const text = await res.text();
        expect(res.status, text).toBe(200);
        const rows = format === "csv" ? parseCsv(text).slice(1) : text.trimEnd().split("\n");
        expect(rows, format).toHaveLength(3);
      }
      // without last the count is ignored: everything after the cursor
      const all = (await (await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, limit: "100", cursor: first.next! })}`)).json()) as FlowPage;
      expect(all.flows.length).toBeGreaterThan(3);
    });

    it("ignores the cache-busters _ and _rsc", async () => {
      const res = await call(flowsGET, "/api/flows?_=123&_rsc=abc&limit=1");
      expect(res.status).toBe(200);
    });
  });
}

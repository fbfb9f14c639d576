/**
 * GET /api/flows: every parameter of docs/api.md against the builder flows of FILTER_FLOWS (plus
 * the TIMELINE flows for durations), through the route handler, on the store the runtime opened.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import type { FlowItem, FlowPage } from "@/server/domain/flows/flow-item";
import { FILTER_FLOWS, FILTER_NAMES, FILTER_WINDOW, nameOf } from "../fixtures/api-dataset";
import { call, qs } from "../fixtures/api-harness";
import { keyOf, toItem } from "../fixtures/flow-builder";

type Params = Record<string, string | string[]>;

async function page(params: Params): Promise<FlowPage> {
  const res = await call(flowsGET, `/api/flows?${qs(params)}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as FlowPage;
}

/** Names of the matching FILTER_FLOWS, sorted; the query is scoped to FILTER_WINDOW unless it sets a time. */
async function matching(params: Params): Promise<string[]> {
  const scoped = "since" in params || "until" in params ? params : { ...FILTER_WINDOW, ...params };
  const { flows, next } = await page({ limit: "1000", ...scoped });
  expect(next).toBeNull();
  return flows.map((f) => nameOf(f.key)).sort();
}

const all = FILTER_NAMES;
const except = (...names: string[]) => all.filter((n) => !names.includes(n));
const sorted = (names: string[]) => [...names].sort();
/** newest first: time desc, then key desc (the order of the API) */
const newestFirst = (names: string[]) =>
  [...names].sort((a, b) => {
    const [fa, fb] = [FILTER_FLOWS[a], FILTER_FLOWS[b]];
    const ta = fa.time!.seconds * 1_000_000_000n + BigInt(fa.time!.nanos);
    const tb = fb.time!.seconds * 1_000_000_000n + BigInt(fb.time!.nanos);
    return ta !== tb ? (ta > tb ? -1 : 1) : keyOf(fa) > keyOf(fb) ? -1 : 1;
  });

const http = ["http-ok", "http-503", "http-404"];
const DROPS = ["denied", "stale"];
const t = (s: number) => `2025-06-01T00:00:${String(s).padStart(2, "0")}`;

/** [parameter(s) exercised, query, expected FILTER_FLOWS names] */
const CASES: [string, Params, string[]][] = [
  ["verdict", { verdict: "DROPPED" }, DROPS],
  ["verdict", { verdict: "dropped,audit" }, [...DROPS, "east"]],
  ["verdict", { verdict: ["2", "AUDIT"] }, [...DROPS, "east"]],
  ["verdict", { verdict: "TRACED" }, []],
  ["namespace", { namespace: "batch" }, ["stale", "no-uuid"]],
  ["namespace", { namespace: ["billing", "infra"] }, ["east", "v6"]],
  ["from-namespace", { "from-namespace": "shop" }, ["fwd", "denied", "dns", ...http, "world"]],
  ["to-namespace", { "to-namespace": "shop" }, ["fwd", "denied", ...http]],
  ["to-namespace", { "to-namespace": "kube-system" }, ["dns"]],
  ["pod", { pod: "shop/frontend" }, ["fwd", "denied", ...http]],
  ["pod", { pod: "payments" }, ["denied"]],
  ["pod", { pod: "other/frontend" }, []],
  ["from-pod", { "from-pod": "frontend" }, ["fwd", "denied"]],
  ["to-pod", { "to-pod": "shop/" }, ["fwd", "denied", ...http]],
  ["label", { label: "app=payments" }, ["denied"]],
  ["label", { label: "k8s:tier=db" }, ["denied"]],
  ["label", { label: ["app=payments", "app=ledger"] }, ["denied", "east"]],
  ["label", { label: "app in (invoicer,collector)" }, ["east", "v6"]],
  ["from-label", { "from-label": "app=api,tier=backend" }, ["dns", ...http, "world"]],
  ["from-label", { "from-label": "app=job,app!=job" }, []],
  ["to-label", { "to-label": "!app" }, ["stale", "world"]],
  ["to-label", { "to-label": "tier" }, ["fwd", "denied"]],
  ["ip", { ip: "10.244.3.0/24" }, ["denied"]],
  ["ip", { ip: "fd00:10::/64" }, ["v6"]],
  ["ip", { ip: "10.10.0.6" }, ["east"]],
  ["from-ip", { "from-ip": "10.244.2.20" }, ["dns", ...http, "world"]],
  ["to-ip", { "to-ip": "140.82.112.5/32,1.1.1.1" }, ["stale", "world"]],
  ["port", { port: "9090" }, ["denied"]],
  ["port", { port: "443" }, ["stale", "world"]],
  ["port", { port: "8080" }, ["fwd", ...http, "tie-a", "tie-b", "tie-c"]], // source side (http) or destination side
  ["from-port", { "from-port": "8080" }, http],
  ["to-port", { "to-port": "53" }, ["dns"]],
  ["protocol", { protocol: "udp" }, ["dns"]],
  ["protocol", { protocol: "icmp" }, ["icmp"]],
  ["protocol", { protocol: "http" }, http],
  ["protocol", { protocol: "dns" }, ["dns"]],
  ["protocol", { protocol: "TCP" }, except("dns", "icmp")],
  ["type", { type: "drop" }, DROPS],
  ["type", { type: "l7" }, ["dns", ...http]],
  ["type", { type: "trace:to-stack" }, ["world"]],
  ["type", { type: ["drop", "l7"] }, [...DROPS, "dns", ...http]],
  ["drop-reason-desc", { "drop-reason-desc": "POLICY_DENIED" }, ["denied"]],
  ["drop-reason-desc", { "drop-reason-desc": "151" }, ["stale"]],
  ["http-status", { "http-status": "5+" }, ["http-503"]],
  ["http-status", { "http-status": "404" }, ["http-404"]],
  ["http-status", { "http-status": "2+,4+" }, ["http-ok", "http-404"]],
  ["http-method", { "http-method": "post" }, ["http-503"]],
  ["http-method", { "http-method": "GET" }, ["http-ok", "http-404"]],
  ["http-path", { "http-path": "^/v1/orders/\\d+$" }, ["http-ok"]],
  ["http-path", { "http-path": "checkout|abc$" }, ["http-503", "http-404"]],
  ["http-path", { "http-path": "expand" }, []], // the query string is not part of the path
  ["fqdn", { fqdn: "*.github.com" }, ["world"]],
  ["fqdn", { fqdn: "API.GitHub.com." }, ["world"]],
  ["fqdn", { fqdn: "*.gitlab.com" }, []],
  ["from-fqdn", { "from-fqdn": "api.github.com" }, []],
  ["to-fqdn", { "to-fqdn": "api.*" }, ["world"]],
  ["node-name", { "node-name": "kind-worker2" }, ["denied", "v6"]],
  ["node-name", { "node-name": "east/*" }, ["east"]],
  ["node-name", { "node-name": "worker-1" }, ["east"]],
  ["node-name", { "node-name": "kind-*" }, except("east")],
  ["traffic-direction", { "traffic-direction": "egress" }, ["stale", "dns", ...http, "world"]],
  ["traffic-direction", { "traffic-direction": "INGRESS" }, except("stale", "dns", ...http, "world")],
  ["cluster", { cluster: "east" }, ["east"]],
  ["uuid", { uuid: keyOf(FILTER_FLOWS.denied) }, ["denied"]],
  ["uuid", { uuid: keyOf(FILTER_FLOWS["no-uuid"]).toUpperCase() }, ["no-uuid"]],
  ["uuid", { uuid: [keyOf(FILTER_FLOWS.fwd), keyOf(FILTER_FLOWS.east)] }, ["fwd", "east"]],
  ["since,until", { since: `${t(5)}Z`, until: `${t(8)}Z` }, http],
  ["since,until", { since: `${t(5)}.000000001Z`, until: `${t(8)}Z` }, ["http-503", "http-404"]],
  ["since,until", { since: "2025-06-01T02:00:05+02:00", until: "2025-05-31T19:00:08-05:00" }, http],
  ["since", { since: `${t(12)}Z`, until: FILTER_WINDOW.until }, ["no-uuid", "tie-a", "tie-b", "tie-c"]],
  ["until", { until: `${t(3)}Z`, since: FILTER_WINDOW.since }, ["fwd", "denied"]],
  ["AND", { verdict: "DROPPED", namespace: "batch" }, ["stale"]],
  ["AND", { namespace: "shop", protocol: "http", "http-status": "4+,5+" }, ["http-503", "http-404"]],
];

/** The parameter names of the /api/flows table in docs/api.md. */
function documentedParameters(): string[] {
  const doc = readFileSync(path.resolve(import.meta.dirname, "../../docs/api.md"), "utf8");
  const table = doc.slice(doc.indexOf("## GET /api/flows"), doc.indexOf("## GET /api/live"));
  return [...table.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([a-z-]+)`/g)].map((x) => x[1]));
}

export function filterTests(): void {
  describe("GET /api/flows filters", () => {
    it.each(CASES)("%s: %j", async (_what, params, expected) => {
      expect(await matching(params)).toEqual(sorted(expected));
    });

    it("returns each flow as hubble JSON wrapped with key, node_name and time", async () => {
      for (const name of ["denied", "no-uuid", "dns", "v6"]) {
        const { flows } = await page({ ...FILTER_WINDOW, uuid: keyOf(FILTER_FLOWS[name]) });
        expect(flows).toEqual([toItem(FILTER_FLOWS[name])]);
      }
    });

    it("durations in since/until count back from now", async () => {
      const names = async (p: Params) => (await page({ namespace: "timeline", ...p })).flows.map((f) => nameOf(f.key));
      expect(await names({})).toEqual(["1m", "20m", "75m", "3h"]);
      expect(await names({ since: "2h" })).toEqual(["1m", "20m", "75m"]);
      expect(await names({ since: "1h30m", until: "10m" })).toEqual(["20m", "75m"]);
      expect(await names({ since: "30m" })).toEqual(["1m", "20m"]);
      expect(await names({ since: "7d", until: "2h" })).toEqual(["3h"]);
      expect(await names({ since: "30s" })).toEqual([]);
    });

    it("last=N gives the N newest matching flows, newest first", async () => {
      const { flows, next } = await page({ ...FILTER_WINDOW, last: "4" });
      expect(flows.map((f) => nameOf(f.key))).toEqual(newestFirst(all).slice(0, 4));
      expect(next).toBeNull();
      const drops = await page({ ...FILTER_WINDOW, last: "1", verdict: "DROPPED" });
      expect(drops.flows.map((f) => nameOf(f.key))).toEqual(["stale"]);
    });

    it("limit + cursor visits every flow exactly once, newest first", async () => {
      for (const limit of [1, 2, 4, 15, 16]) {
        const seen: FlowItem[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 50; pages++) {
          const p: FlowPage = await page({ ...FILTER_WINDOW, limit: String(limit), ...(cursor ? { cursor } : {}) });
          expect(p.flows.length).toBeLessThanOrEqual(limit);
          seen.push(...p.flows);
          cursor = p.next;
          if (!cursor) break;
        }
        expect(cursor, `limit=${limit}: pagination does not end`).toBeNull();
        expect(seen.map((f) => nameOf(f.key)), `limit=${limit}`).toEqual(newestFirst(all));
      }
    });

    it("limit + cursor with last=N stops after the N newest", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const p: FlowPage = await page({ ...FILTER_WINDOW, last: "5", limit: "2", ...(cursor ? { cursor } : {}) });
        seen.push(...p.flows.map((f) => nameOf(f.key)));
        cursor = p.next;
        if (!cursor) break;
      }
      expect(seen).toEqual(newestFirst(all).slice(0, 5));
    });

    it("limit + cursor agrees with one page when a flow was stored twice (same time and key)", async () => {
      const one = (await page({ namespace: "twins" })).flows.map((f) => f.key);
      expect(one.length).toBeGreaterThanOrEqual(3);
      const paged: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const p: FlowPage = await page({ namespace: "twins", limit: "1", ...(cursor ? { cursor } : {}) });
        paged.push(...p.flows.map((f) => f.key));
        cursor = p.next;
        if (!cursor) break;
      }
      expect(paged).toEqual(one);
    });

    it("the default page size is 100 and cursors are opaque strings", async () => {
      const p = await page({}); // everything stored: > 100 flows
      expect(p.flows).toHaveLength(100);
      expect(typeof p.next).toBe("string");
    });

    it("covers every parameter of docs/api.md", () => {
      const covered = new Set(CASES.flatMap(([what, params]) => [...what.split(","), ...Object.keys(params)]));
      for (const p of ["last", "limit", "cursor", "format"]) covered.add(p); // tests above and exports
      const documented = documentedParameters();
      expect(documented.length).toBeGreaterThan(30);
      expect(documented.filter((p) => !covered.has(p))).toEqual([]);
    });
  });
}

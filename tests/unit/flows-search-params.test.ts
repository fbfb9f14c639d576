import { describe, expect, it } from "vitest";
import {
  activeFilterCount,
  apiParams,
  exportHref,
  flowsApiQuery,
  flowsHref,
  flowsTitle,
  liveApiQuery,
  parseFlowsSearch,
  serializeFlowsSearch,
  withFilters,
  type FlowsUrlState,
} from "@/app/(dashboard)/flows/search-params";
import { FILTER_PARAMS } from "@/app/lib/flow-filter-params";

describe("flows search params", () => {
  it("round-trips every filter, the time range, live and the open flow", () => {
    const state: FlowsUrlState = {
      filters: Object.fromEntries(FILTER_PARAMS.map((p, i) => [p, [`v${i}`, `w${i}`]])),
      since: "15m",
      until: "2026-11-23T18:00:00.123456789Z",
      last: "500",
      live: true,
      flow: "6f1c0000-0000-4000-8000-000000000001",
    };
    const q = serializeFlowsSearch(state);
    expect(parseFlowsSearch(q)).toEqual(state);
    expect(parseFlowsSearch(`?${q}`)).toEqual(state);
    expect(parseFlowsSearch(new URLSearchParams(q))).toEqual(state);
    expect(serializeFlowsSearch(parseFlowsSearch(q))).toBe(q);
  });

  it("keeps values verbatim: commas, spaces inside, selectors, regexes, unicode", () => {
    const state: FlowsUrlState = {
      filters: {
        label: ["app in (a,b),tier!=db", "k8s:app=web"],
        "http-path": ["^/api/v[12]/items/\\d{1,3}$"],
        namespace: ["a,b"],
        fqdn: ["*.例え.jp"],
        "to-label": ["team=🚀"],
      },
      live: false,
    };
    expect(parseFlowsSearch(serializeFlowsSearch(state))).toEqual(state);
  });

  it("parses Next's searchParams record (string | string[])", () => {
    const s = parseFlowsSearch({ verdict: ["DROPPED", "ERROR"], namespace: "default", live: "1", flow: "k", other: "x" });
    expect(s).toEqual({ filters: { verdict: ["DROPPED", "ERROR"], namespace: ["default"] }, live: true, flow: "k" });
  });

  it("a record with a key named forEach is still a record", () => {
    expect(parseFlowsSearch({ forEach: "x", pod: "ns/" }).filters).toEqual({ pod: ["ns/"] });
  });

  it("ignores unknown, empty and duplicate values; trims", () => {
    const s = parseFlowsSearch("namespace=%20default%20&namespace=default&pod=&limit=5&cursor=abc&format=csv&since=");
    expect(s).toEqual({ filters: { namespace: ["default"] }, live: false });
  });

  it("reads live flags loosely and the first time value only", () => {
    expect(parseFlowsSearch("live").live).toBe(true);
    expect(parseFlowsSearch("live=true").live).toBe(true);
    expect(parseFlowsSearch("live=0").live).toBe(false);
    expect(parseFlowsSearch("since=5m&since=1h").since).toBe("5m");
  });

  it("empty state serialises to the bare path", () => {
    expect(flowsHref(parseFlowsSearch(""))).toBe("/flows");
    expect(flowsHref({ filters: { verdict: ["DROPPED"] }, live: false })).toBe("/flows?verdict=DROPPED");
  });

  it("writes parameters in canonical order whatever the input order", () => {
    const a = parseFlowsSearch("pod=x&verdict=DROPPED&since=1h&live=1");
    const b = parseFlowsSearch("live=1&since=1h&verdict=DROPPED&pod=x");
    expect(serializeFlowsSearch(a)).toBe(serializeFlowsSearch(b));
    expect(serializeFlowsSearch(a)).toBe("since=1h&verdict=DROPPED&pod=x&live=1");
  });

  it("API query has filters and time but not live/flow; live query drops time too", () => {
    const s = parseFlowsSearch("since=1h&until=5m&last=10&namespace=a&live=1&flow=k");
    expect(flowsApiQuery(s)).toBe("since=1h&until=5m&last=10&namespace=a");
    expect(liveApiQuery(s)).toBe("namespace=a");
    expect(apiParams(s).get("flow")).toBeNull();
  });

  it("selecting a flow or toggling live does not change the data query", () => {
    const s = parseFlowsSearch("namespace=a");
    expect(flowsApiQuery({ ...s, flow: "x", live: true })).toBe(flowsApiQuery(s));
  });

  it("export links carry the same filter and the format", () => {
    const s = parseFlowsSearch("verdict=DROPPED&since=15m&flow=k");
    expect(exportHref(s, "csv")).toBe("/api/flows?since=15m&verdict=DROPPED&format=csv");
    expect(exportHref(s, "jsonl")).toBe("/api/flows?since=15m&verdict=DROPPED&format=jsonl");
  });

  it("withFilters cleans values and keeps the rest of the state", () => {
    const s = withFilters({ filters: { pod: ["x"] }, since: "1h", live: true, flow: "k" }, { namespace: [" a ", "", "a"], pod: [] });
    expect(s).toEqual({ filters: { namespace: ["a"] }, since: "1h", live: true, flow: "k" });
    expect(activeFilterCount(s)).toBe(1);
  });

  it("titles summarise and stay short", () => {
    expect(flowsTitle(parseFlowsSearch(""))).toBe("Flows");
    expect(flowsTitle(parseFlowsSearch("verdict=DROPPED&since=15m"))).toBe("Flows · verdict=DROPPED since=15m");
    expect(flowsTitle(parseFlowsSearch(`label=${"x".repeat(300)}`)).length).toBeLessThanOrEqual(90);
  });
});

import { describe, expect, it } from "vitest";
import { dnsApiQuery, isLive, parseDnsSearch, queryFlowsHref, resolveRange, serializeDnsSearch, zoomTo } from "@/app/(dashboard)/dns/search-params";
import { parseFlowsSearch } from "@/app/(dashboard)/flows/search-params";

describe("/dns URL state", () => {
  it("round-trips every field in canonical order, defaults omitted", () => {
    const url = "since=1h&workload=shop%2Fbackend&query=stripe&status=NXDOMAIN&status=SERVFAIL&from-pod=shop%2F&live=off";
    const state = parseDnsSearch(url);
    expect(state).toMatchObject({ since: "1h", workload: "shop/backend", query: "stripe", status: ["NXDOMAIN", "SERVFAIL"], paused: true });
    expect(serializeDnsSearch(state)).toBe(url);
    expect(serializeDnsSearch(parseDnsSearch(""))).toBe("");
  });

  it("follows the clock for a relative range unless paused; a zoom never moves", () => {
    expect(isLive(parseDnsSearch("since=15m"))).toBe(true);
    expect(isLive(parseDnsSearch("since=15m&live=off"))).toBe(false);
    expect(isLive(parseDnsSearch("live=on"))).toBe(true);
    const zoomed = zoomTo(parseDnsSearch(""), Date.parse("2026-12-01T10:00:00Z"), Date.parse("2026-12-01T10:00:02Z"));
    expect(isLive(zoomed)).toBe(false);
  });

  it("sends the API the pinned range and the filters, never the page's own live switch", () => {
    const state = parseDnsSearch("since=5m&status=nxdomain&live=off&to-namespace=shop");
    const range = resolveRange(state, Date.parse("2026-12-01T10:00:00.700Z"))!;
    expect([range.since, range.until]).toEqual(["2026-12-01T09:55:00.000Z", "2026-12-01T10:00:00.000Z"]);
    const q = new URLSearchParams(dnsApiQuery(state, range, { width: "800" }));
    expect([...q.keys()].sort()).toEqual(["since", "status", "to-namespace", "until", "width"]);
    expect(q.get("status")).toBe("NXDOMAIN");
  });

  it("links a query to its request and response flows around its time, the request open", () => {
    const t = Date.parse("2026-12-01T10:00:00.250Z");
    const href = queryFlowsHref({ requestKey: "a1", responseKey: "b2", tMs: t, endMs: t + 3.5 });
    expect(href.startsWith("/flows?")).toBe(true);
    const state = parseFlowsSearch(href.slice("/flows?".length));
    expect(state).toMatchObject({ filters: { uuid: ["a1", "b2"] }, since: "2026-12-01T09:59:59.250Z", until: "2026-12-01T10:00:01.254Z", flow: "a1", live: false });
    // an unanswered request: only its own flow, a second around it
    const lone = parseFlowsSearch(queryFlowsHref({ requestKey: "a1", responseKey: null, tMs: t, endMs: null }).slice(7));
    expect([lone.filters.uuid, lone.until]).toEqual([["a1"], "2026-12-01T10:00:01.250Z"]);
  });
});

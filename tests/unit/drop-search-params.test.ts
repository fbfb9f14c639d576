import { describe, expect, it } from "vitest";
import { dropsApiQuery, dropsExportHref, dropsHref, parseDropsSearch } from "@/app/(dashboard)/drops/search-params";
import { diffApiQuery, parsePoliciesSearch, policiesHref, suggestApiQuery } from "@/app/(dashboard)/policies/search-params";
import { sortGroups } from "@/server/domain/drops/drop-group";
import { drop, endpoint, tcp } from "../fixtures/flow-builder";
import { groupsOf } from "./drop-fixtures";

describe("/drops URL", () => {
  it("keeps /flows' filters and time range as they are, plus sort and the open group", () => {
    const s = parseDropsSearch("namespace=shop&drop-reason-desc=POLICY_DENIED&since=1h&sort=port&group=abc&live=1&flow=x");
    expect(s.flows.filters).toEqual({ namespace: ["shop"], "drop-reason-desc": ["POLICY_DENIED"] });
    expect(s.flows.since).toBe("1h");
    expect(s.flows.live).toBe(false);
    expect(s).toMatchObject({ sort: "port", order: "asc", group: "abc" });
    // the API query is the /api/flows query plus sort; the open group stays in the page URL only
    expect(dropsApiQuery(s)).toBe("since=1h&namespace=shop&drop-reason-desc=POLICY_DENIED&sort=port");
    expect(dropsHref(s)).toBe("/drops?since=1h&namespace=shop&drop-reason-desc=POLICY_DENIED&sort=port&group=abc");
    expect(parseDropsSearch(dropsHref(s).split("?")[1])).toEqual(s);
    expect(dropsExportHref(s, "csv", "raw")).toBe("/api/drops?since=1h&namespace=shop&drop-reason-desc=POLICY_DENIED&sort=port&format=csv&rows=raw");
  });

  it("ignores unknown sorts and orders", () => {
    expect(parseDropsSearch({ sort: "evil", order: "sideways" })).toMatchObject({ sort: "count", order: "desc" });
  });
});

describe("/policies URL", () => {
  it("moment, window and suggestion namespace", () => {
    const s = parsePoliciesSearch("namespace=shop&since=1h&at=2026-11-23T18:00:00Z&window=5m&suggest=shop");
    expect(diffApiQuery(s)).toBe("namespace=shop&at=2026-11-23T18%3A00%3A00Z&window=5m");
    expect(suggestApiQuery(s)).toBe("namespace=shop&since=1h");
    expect(parsePoliciesSearch(policiesHref(s).split("?")[1])).toEqual(s);
    expect(diffApiQuery(parsePoliciesSearch(""))).toBeNull();
  });
});

describe("sorting groups", () => {
  it("by any column, ties by count", () => {
    const a = endpoint({ ns: "shop", app: "a" });
    const b = endpoint({ ns: "shop", app: "b" });
    const gs = groupsOf(drop({}, { source: a, destination: b, l4: tcp(1, 80, { SYN: true }) }), drop({}, { source: b, destination: a, l4: tcp(1, 443, { SYN: true }) }), drop({}, { source: b, destination: a, l4: tcp(1, 443, { SYN: true }) }));
    expect(sortGroups(gs, "count", "desc").map((g) => g.count)).toEqual([2, 1]);
    expect(sortGroups(gs, "port", "asc").map((g) => g.port)).toEqual([80, 443]);
    expect(sortGroups(gs, "source", "desc").map((g) => g.src.workload)).toEqual(["Deployment/b", "Deployment/a"]);
  });
});

import { describe, expect, it } from "vitest";
import { graphApiQuery, parseMapSearch, seriesApiQuery } from "@/app/(dashboard)/map/search-params";

describe("/map requests", () => {
  it("asks for the graph without the selection, and for the selection's series alone", () => {
    const state = parseMapSearch("window=1h&namespace=shop&sel=ns%3Adefault%2Fshop");
    const graph = new URL(graphApiQuery(state), "http://x").searchParams;
    expect(graph.get("focus")).toBeNull();
    expect([graph.get("window"), graph.get("namespace"), graph.get("noise")]).toEqual(["1h", "shop", "on"]);
    const series = new URL(seriesApiQuery(state)!, "http://x").searchParams;
    expect([series.get("focus"), series.get("only"), series.get("window"), series.get("namespace")]).toEqual(["ns:default/shop", "series", "1h", "shop"]);
    // the graph request is the same whatever is selected: a click never refetches the graph
    expect(graphApiQuery(parseMapSearch("window=1h&namespace=shop"))).toBe(graphApiQuery(state));
    expect(seriesApiQuery(parseMapSearch("window=1h"))).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { draftFromState, filtersFromDraft, isDraftDirty, stateFromDraft, timePresetOf } from "@/app/(dashboard)/flows/filter-draft";
import { parseFlowsSearch, serializeFlowsSearch } from "@/app/(dashboard)/flows/search-params";

describe("filter draft", () => {
  it("state → draft → state is the same query", () => {
    const urls = [
      "",
      "verdict=DROPPED&verdict=FORWARDED&namespace=a&namespace=b",
      "since=15m&label=app%20in%20(a%2Cb)&label=tier%3Ddb&http-path=%5E%2Fa%2Cb",
      "since=2026-01-01T00:00:00Z&until=1h&last=100&traffic-direction=ingress&verdict=9",
      "since=45m",
    ];
    for (const u of urls) {
      const s = parseFlowsSearch(u);
      const back = stateFromDraft(s, draftFromState(s));
      expect(serializeFlowsSearch(back)).toBe(serializeFlowsSearch(s));
      expect(isDraftDirty(s, draftFromState(s))).toBe(false);
    }
  });

  it("comma-separated text becomes repeated values; labels keep their commas", () => {
    const s = parseFlowsSearch("");
    const d = draftFromState(s);
    d.text.namespace = " a, b ,,";
    d.multi.label = ["app=web,tier!=db", " ", "k8s:app in (x,y)"];
    expect(filtersFromDraft(d)).toEqual({ namespace: ["a", "b"], label: ["app=web,tier!=db", "k8s:app in (x,y)"] });
  });

  it("verdict numbers and comma lists map onto the checkboxes; unknown ones stay as text", () => {
    const d = draftFromState(parseFlowsSearch("verdict=2,forwarded&verdict=42"));
    expect(d.verdicts).toEqual(["DROPPED", "FORWARDED"]);
    expect(d.text.verdict).toBe("42");
    expect(filtersFromDraft(d).verdict).toEqual(["DROPPED", "FORWARDED", "42"]);
  });

  it("time presets and custom ranges", () => {
    expect(timePresetOf({})).toBe("");
    expect(timePresetOf({ since: "15m" })).toBe("15m");
    expect(timePresetOf({ since: "45m" })).toBe("custom");
    expect(timePresetOf({ since: "15m", until: "5m" })).toBe("custom");
    const s = parseFlowsSearch("namespace=a&live=1&flow=k");
    const d = draftFromState(s);
    d.time = { preset: "1h", since: "ignored", until: "ignored" };
    expect(stateFromDraft(s, d)).toMatchObject({ since: "1h", until: undefined, live: true, flow: "k" });
    d.time = { preset: "custom", since: " 2h ", until: "" };
    expect(stateFromDraft(s, d)).toMatchObject({ since: "2h", until: undefined });
    d.time = { preset: "", since: "x", until: "y" };
    expect(stateFromDraft(s, d)).toMatchObject({ since: undefined, until: undefined });
  });

  it("a value the API will reject survives the draft round trip exactly", () => {
    const s = parseFlowsSearch("");
    const d = draftFromState(s);
    d.text.port = "99999";
    const applied = stateFromDraft(s, d);
    expect(applied.filters.port).toEqual(["99999"]);
    expect(isDraftDirty(s, d)).toBe(true);
    expect(isDraftDirty(applied, d)).toBe(false);
  });
});

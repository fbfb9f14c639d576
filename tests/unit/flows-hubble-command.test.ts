import { describe, expect, it } from "vitest";
import { parseHubbleCommand, shellQuote, tokenize, toHubbleCommand } from "@/app/lib/hubble-command";

describe("hubble observe command", () => {
  it("parses long, short and = flags", () => {
    const r = parseHubbleCommand("hubble observe -n default --verdict DROPPED --to-port=443 -l app=web -t drop -f --since 15m --last 100 -o json");
    expect(r).toEqual({
      ok: true,
      filters: { namespace: ["default"], verdict: ["DROPPED"], "to-port": ["443"], label: ["app=web"], type: ["drop"] },
      since: "15m",
      last: "100",
      follow: true,
    });
  });

  it("repeated flags OR; quotes keep spaces and commas", () => {
    const r = parseHubbleCommand(`observe --label 'app in (a, b)' --label "tier=\\"db\\"" --pod a/ --pod b/`);
    expect(r.ok && r.filters).toEqual({ label: ["app in (a, b)", 'tier="db"'], pod: ["a/", "b/"] });
  });

  it("reports unknown flags, missing values, positionals and bad quotes", () => {
    expect(parseHubbleCommand("--bogus x")).toEqual({ ok: false, error: "unknown flag --bogus" });
    expect(parseHubbleCommand("--namespace")).toEqual({ ok: false, error: "--namespace needs a value" });
    expect(parseHubbleCommand("default").ok).toBe(false);
    expect(parseHubbleCommand("--namespace 'x").ok).toBe(false);
    expect(parseHubbleCommand("--not --verdict DROPPED").ok).toBe(false);
  });

  it("empty command means no filter", () => {
    expect(parseHubbleCommand("  ")).toEqual({ ok: true, filters: {}, follow: false });
  });

  it("serialises and parses back", () => {
    const q = {
      filters: { verdict: ["DROPPED"], "from-label": ["app in (a,b)"], "http-path": ["^/it's$"] },
      since: "1h",
      follow: true,
    };
    const cmd = toHubbleCommand(q);
    expect(cmd).toBe(`hubble observe --since 1h --verdict DROPPED --from-label 'app in (a,b)' --http-path '^/it'\\''s$' --follow`);
    expect(parseHubbleCommand(cmd)).toEqual({ ok: true, ...q });
  });

  it("quotes only when needed", () => {
    expect(shellQuote("kube-system")).toBe("kube-system");
    expect(shellQuote("*.example.com")).toBe("'*.example.com'");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(tokenize("a\\ b c")).toEqual({ tokens: ["a b", "c"] });
  });
});

import { describe, expect, it } from "vitest";
import type { LabelRequirement, LabelSelector } from "@/server/domain/flows/flow-filter-spec";
import {
  compileLabelSelector,
  formatLabelSelector,
  labelRequirementPattern,
  matchesLabelSelector,
  parseHubbleLabel,
  parseLabelSelector,
  splitLabelKey,
} from "@/server/domain/shared/label-selector";

const parse = (text: string): LabelSelector => {
  const r = parseLabelSelector(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe("parseLabelSelector", () => {
  it.each<[string, LabelSelector]>([
    ["app=web", [{ op: "in", key: "app", values: ["web"] }]],
    ["app==web", [{ op: "in", key: "app", values: ["web"] }]],
    ["app!=web", [{ op: "notIn", key: "app", values: ["web"] }]],
    ["app", [{ op: "exists", key: "app" }]],
    ["!app", [{ op: "notExists", key: "app" }]],
    ["app in (a,b)", [{ op: "in", key: "app", values: ["a", "b"] }]],
    ["app notin (a, b)", [{ op: "notIn", key: "app", values: ["a", "b"] }]],
    ["app=", [{ op: "in", key: "app", values: [""] }]],
    ["k8s:app=web", [{ op: "in", key: "k8s:app", values: ["web"] }]],
    ["any:app=web", [{ op: "in", key: "app", values: ["web"] }]],
    ["reserved:world", [{ op: "exists", key: "reserved:world" }]],
    ["cidr:10.0.0.0/8", [{ op: "exists", key: "cidr:10.0.0.0/8" }]],
    [
      "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=bookinfo",
      [{ op: "in", key: "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name", values: ["bookinfo"] }],
    ],
    [
      " app = web , tier in ( db , cache ) , !canary , version ",
      [
        { op: "in", key: "app", values: ["web"] },
        { op: "in", key: "tier", values: ["db", "cache"] },
        { op: "notExists", key: "canary" },
        { op: "exists", key: "version" },
      ],
    ],
    [
      "app=web,tier=db",
      [
        { op: "in", key: "app", values: ["web"] },
        { op: "in", key: "tier", values: ["db"] },
      ],
    ],
    [
      "app=,tier",
      [
        { op: "in", key: "app", values: [""] },
        { op: "exists", key: "tier" },
      ],
    ],
  ])("parses %j", (text, expected) => {
    expect(parseLabelSelector(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["", "empty label selector"],
    ["   ", "empty label selector"],
    ["app in (a,b", 'missing ")" to close the set of "app in (…)"'],
    ["app in (a b)", 'missing ")" to close the set of "app in (…)"'],
    ["app in ()", 'empty value in the set of "app in (…)"'],
    ["app in (a,,b)", 'empty value in the set of "app in (…)"'],
    ["app in a", 'expected "(" after "app in"'],
    ["app web", 'unexpected "web" after "app"; use =, !=, in (…), notin (…), key or !key'],
    ["app>5", 'operator ">" is not supported; use =, !=, in (…), notin (…), key or !key'],
    ["app gt 5", 'operator "gt" is not supported; use =, !=, in (…), notin (…), key or !key'],
    ["=web", 'expected a label key but found "="'],
    ["!", "expected a label key but found the end"],
    ["!app=web", '"!app" cannot be followed by "="'],
    ["app=web,", 'empty requirement after the last ","'],
    ["app=web,,tier", "empty requirement between commas"],
    ["app=web tier=db", 'unexpected "tier"; separate requirements with ","'],
    ["app=(web)", 'expected a value after "app=" but found "("'],
    [":app=web", '":app" has an invalid source prefix (expected e.g. k8s:app)'],
    ["k8s:=web", '"k8s:" has an empty key'],
    ["k$s:app", '"k$s:app" has an invalid source prefix (expected e.g. k8s:app)'],
  ])("rejects %j: %s", (text, error) => {
    expect(parseLabelSelector(text)).toEqual({ ok: false, error });
  });

  it("formats back to a selector that parses to the same requirements", () => {
    for (const text of [
      "app=web",
      "app!=web",
      "app",
      "!app",
      "app in (a,b)",
      "app notin (a,b)",
      "app=",
      "k8s:app=web,tier in (db,cache),!canary",
      "reserved:world",
    ]) {
      const sel = parse(text);
      expect(formatLabelSelector(sel)).toBe(text);
      expect(parse(formatLabelSelector(sel))).toEqual(sel);
    }
  });
});

describe("Hubble label strings", () => {
  it.each([
    ["k8s:app=web", { source: "k8s", key: "app", value: "web" }],
    ["reserved:world", { source: "reserved", key: "world", value: "" }],
    ["k8s:security.istio.io/tlsMode=istio", { source: "k8s", key: "security.istio.io/tlsMode", value: "istio" }],
    ["cidr:10.0.0.0/8", { source: "cidr", key: "10.0.0.0/8", value: "" }],
    ["app=a:b", { source: "", key: "app", value: "a:b" }],
    ["k8s:x=a=b", { source: "k8s", key: "x", value: "a=b" }],
    ["plain", { source: "", key: "plain", value: "" }],
  ])("splits %s", (label, parts) => {
    expect(parseHubbleLabel(label)).toEqual(parts);
  });

  it("splits requirement keys, dropping Cilium's any: source", () => {
    expect(splitLabelKey("k8s:app")).toEqual({ source: "k8s", key: "app" });
    expect(splitLabelKey("any:app")).toEqual({ key: "app" });
    expect(splitLabelKey("app")).toEqual({ key: "app" });
  });
});

describe("matching", () => {
  const web = ["k8s:app=web", "k8s:tier=frontend", "k8s:io.kubernetes.pod.namespace=shop", "container:team=a"];
  const world = ["reserved:world"];
  const m = (selector: string, labels: string[] | undefined) => matchesLabelSelector(parse(selector), labels);

  it.each<[string, string[] | undefined, boolean]>([
    ["app=web", web, true],
    ["app=db", web, false],
    ["k8s:app=web", web, true],
    ["container:app=web", web, false],
    ["team=a", web, true], // any source
    ["k8s:team", web, false],
    ["app in (db,web)", web, true],
    ["app notin (db,web)", web, false],
    ["app notin (db)", web, true],
    ["app!=web", web, false],
    ["app!=db", web, true],
    ["app!=web", world, true], // Kubernetes: a missing key satisfies !=
    ["app", web, true],
    ["!app", web, false],
    ["!app", world, true],
    ["app", undefined, false],
    ["!app", undefined, true],
    ["app!=web", [], true],
    ["reserved:world", world, true],
    ["world", world, true],
    ["reserved:world", web, false],
    ["reserved:world=", world, true], // the value of a bare label is ""
    ["app=", web, false],
    ["app=web,tier=frontend", web, true],
    ["app=web,tier=backend", web, false],
    ["io.kubernetes.pod.namespace=shop", web, true],
    ["k8s:io.kubernetes.pod.namespace in (shop,other)", web, true],
    ["app.kubernetes.io/name", web, false],
    ["pp=web", web, false],
    ["ap", web, false],
  ])("%s on %j → %s", (selector, labels, expected) => {
    expect(m(selector, labels)).toBe(expected);
  });

  it("is the negation for notIn/notExists, also with the same key under two sources", () => {
    const labels = ["k8s:app=web", "container:app=db"];
    expect(m("app=web", labels)).toBe(true);
    expect(m("app!=web", labels)).toBe(false);
    expect(m("app=db", labels)).toBe(true);
    expect(m("k8s:app!=db", labels)).toBe(true);
  });

  // labelRequirementPattern is what SQL uses; here it is checked against the documented split
  // rule (parseHubbleLabel) over a grid of awkward labels and requirements.
  it("pattern agrees with parseHubbleLabel on every label × requirement", () => {
    const labels = [
      "k8s:app=web",
      "k8s:app=",
      "k8s:app",
      "app=web",
      "app",
      "reserved:world",
      "container:app=web",
      "k8s:app.kubernetes.io/name=web",
      "k8s:x=app=web",
      "app=a:b",
      "a:b:c=d",
      "k8s:io.cilium.k8s.policy.cluster=default",
      "cidr:2001:db8::/32",
      "k8s:app=web.prod",
      "k8s:app=we",
    ];
    const requirements: LabelRequirement[] = [
      { op: "exists", key: "app" },
      { op: "exists", key: "k8s:app" },
      { op: "exists", key: "world" },
      { op: "exists", key: "reserved:world" },
      { op: "exists", key: "b:c" },
      { op: "exists", key: "c" },
      { op: "in", key: "c", values: ["d"] },
      { op: "exists", key: "a:b:c" },
      { op: "exists", key: "cidr:2001:db8::/32" },
      { op: "in", key: "app", values: ["web"] },
      { op: "in", key: "app", values: [""] },
      { op: "in", key: "app", values: ["", "web"] },
      { op: "in", key: "k8s:app", values: ["web", "web.prod"] },
      { op: "in", key: "x", values: ["app=web"] },
      { op: "in", key: "app", values: ["a:b"] },
      { op: "in", key: "app.kubernetes.io/name", values: ["web"] },
      { op: "in", key: "k8s:io.cilium.k8s.policy.cluster", values: ["default"] },
    ];
    const reference = (req: LabelRequirement, label: string) => {
      const l = parseHubbleLabel(label);
      const k = splitLabelKey(req.key);
      const keyOk = l.key === k.key && (k.source === undefined || l.source === k.source);
      return req.op === "exists" || req.op === "notExists" ? keyOk : keyOk && req.values.includes(l.value);
    };
    for (const req of requirements) {
      const re = new RegExp(labelRequirementPattern(req));
      for (const label of labels) {
        expect([req, label, re.test(label)]).toEqual([req, label, reference(req, label)]);
      }
    }
  });

  it("escapes regex characters in keys and values", () => {
    const test = compileLabelSelector(parse("a.b=c+d"));
    expect(test(["k8s:a.b=c+d"])).toBe(true);
    expect(test(["k8s:aXb=c+d"])).toBe(false);
    expect(test(["k8s:a.b=cccd"])).toBe(false);
    expect(labelRequirementPattern({ op: "in", key: "k8s:a.b", values: ["c+d"] })).toBe("^k8s:a\\.b=(?:c\\+d)$");
  });
});

import { describe, expect, it } from "vitest";
import { DropReason, IPVersion, TrafficDirection, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import type { FlowItem } from "@/server/domain/flow-item";
import { compileMatcher, fqdnPatternRegex, httpUrlPath, nodeNamePatternRegex } from "@/server/domain/flow-match";
import { parseFlowQuery } from "@/server/domain/flow-query";
import {
  buildFlow,
  dnsRequest,
  dnsResponse,
  drop,
  endpoint,
  httpRequest,
  httpResponse,
  toItem,
  udp,
  worldEndpoint,
} from "@/tests/fixtures/flow-builder";
import { readRecordedLines } from "../fixtures/recorded-flows";

function matcher(qs: string) {
  const r = parseFlowQuery(new URLSearchParams(qs));
  if (!r.ok) throw new Error(r.error);
  return compileMatcher(r.query.filter);
}
const matches = (qs: string, flow: Flow | FlowItem) => matcher(qs)("key" in flow ? flow : toItem(flow));

/** Checks each [query, expected] against one flow, reporting the query that disagrees. */
function expectAll(flow: Flow | FlowItem, cases: [string, boolean][]) {
  expect(cases.map(([qs]) => [qs, matches(qs, flow)])).toEqual(cases);
}

describe("builder flows", () => {
  it("matches everything with an empty filter", () => {
    expect(matches("", buildFlow())).toBe(true);
    expect(compileMatcher({})({ key: "k", flow: {} })).toBe(true);
  });

  it("verdict, with unknown numbers and the omitted zero value", () => {
    expectAll(drop(), [
      ["verdict=DROPPED", true],
      ["verdict=forwarded", false],
      ["verdict=FORWARDED,DROPPED", true],
      ["verdict=2", true],
    ]);
    expectAll(buildFlow({ verdict: 99 as Verdict }), [
      ["verdict=99", true],
      ["verdict=FORWARDED", false],
    ]);
    expectAll(buildFlow({ verdict: Verdict.VERDICT_UNKNOWN }), [
      ["verdict=VERDICT_UNKNOWN", true],
      ["verdict=0", true],
      ["verdict=FORWARDED", false],
    ]);
  });

  it("drop-reason-desc", () => {
    expectAll(drop({ reason: DropReason.POLICY_DENIED }), [
      ["drop-reason-desc=POLICY_DENIED", true],
      ["drop-reason-desc=133", true],
      ["drop-reason-desc=POLICY_DENY", false],
    ]);
    expectAll(drop({ reason: 250 }), [
      ["drop-reason-desc=250", true],
      ["drop-reason-desc=POLICY_DENIED", false],
    ]);
    // a forwarded flow carries no drop reason, which protojson writes as missing = 0
    expectAll(buildFlow(), [
      ["drop-reason-desc=DROP_REASON_UNKNOWN", true],
      ["drop-reason-desc=POLICY_DENIED", false],
    ]);
  });

  it("traffic-direction", () => {
    expectAll(buildFlow({ trafficDirection: TrafficDirection.EGRESS }), [
      ["traffic-direction=egress", true],
      ["traffic-direction=ingress", false],
    ]);
    expect(matches("traffic-direction=unknown", buildFlow({ trafficDirection: TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN }))).toBe(true);
  });

  it("namespace: either side, or one side", () => {
    const flow = buildFlow({ source: endpoint({ ns: "shop", app: "web" }), destination: endpoint({ ns: "db", app: "pg" }) });
    expectAll(flow, [
      ["namespace=shop", true],
      ["namespace=db", true],
      ["namespace=other", false],
      ["namespace=other,db", true],
      ["from-namespace=shop", true],
      ["from-namespace=db", false],
      ["to-namespace=db", true],
      ["to-namespace=shop", false],
      ["from-namespace=shop&to-namespace=db", true],
      ["from-namespace=shop&to-namespace=shop", false],
    ]);
    expect(matches("to-namespace=default", buildFlow({ destination: worldEndpoint() }))).toBe(false);
  });

  it("pod: prefix within an optional namespace; ns/ is the whole namespace", () => {
    const flow = buildFlow({
      source: endpoint({ ns: "bookinfo", app: "reviews", pod: "reviews-v1-545db77b95-s6jb8" }),
      destination: worldEndpoint(),
    });
    expectAll(flow, [
      ["pod=reviews", true],
      ["pod=reviews-v1-545db77b95-s6jb8", true],
      ["pod=reviews-v2", false],
      ["pod=bookinfo/reviews", true],
      ["pod=default/reviews", false],
      ["pod=bookinfo/", true],
      ["pod=eviews", false],
      ["from-pod=reviews", true],
      ["to-pod=reviews", false],
      ["to-pod=bookinfo/", false],
    ]);
    // a namespace-level endpoint without pod name still belongs to ns/
    expect(matches("to-pod=kube-system/", buildFlow({ destination: { namespace: "kube-system", labels: [] } }))).toBe(true);
  });

  it("label: selectors on either side, with source prefixes optional", () => {
    const flow = buildFlow({
      source: endpoint({ app: "web", labels: ["k8s:tier=frontend"] }),
      destination: worldEndpoint(),
    });
    expectAll(flow, [
      ["label=app=web", true],
      ["label=k8s:app=web", true],
      ["label=container:app=web", false],
      ["label=app=web,tier=frontend", true],
      ["label=app=web,tier=backend", false],
      ["label=app=web,tier=backend&label=reserved:world", true],
      ["from-label=app", true],
      ["from-label=!app", false],
      ["to-label=!app", true],
      ["to-label=app!=web", true],
      ["to-label=reserved:world", true],
      ["to-label=world", true],
      ["from-label=reserved:world", false],
      [`label=${encodeURIComponent("app in (api,web)")}`, true],
      [`from-label=${encodeURIComponent("app notin (api,web)")}`, false],
    ]);
    expect(matches("from-label=!app", buildFlow({ source: undefined }))).toBe(true);
  });

  it("ip: CIDR containment on either side, IPv4 and IPv6", () => {
    expectAll(buildFlow(), [
      ["ip=10.244.1.10", true],
      ["ip=10.244.0.0/16", true],
      ["ip=10.244.2.0/24", true],
      ["from-ip=10.244.2.0/24", false],
      ["to-ip=10.244.2.0/24", true],
      ["ip=192.168.0.0/16", false],
      ["ip=::/0", false],
    ]);
    const v6 = buildFlow({ IP: { source: "fd00:10:244::a", destination: "2001:db8::1", ipVersion: IPVersion.IPv6 } });
    expectAll(v6, [
      ["ip=fd00::/8", true],
      ["from-ip=fd00:10:244::/48", true],
      ["to-ip=fd00::/8", false],
      ["to-ip=2001:DB8:0:0::1", true],
      ["ip=0.0.0.0/0", false],
    ]);
    expect(matches("ip=0.0.0.0/0", buildFlow({ IP: undefined }))).toBe(false);
  });

  it("port: TCP, UDP and SCTP ports, with an omitted 0", () => {
    expectAll(buildFlow(), [
      ["port=8080", true],
      ["port=43210", true],
      ["from-port=43210", true],
      ["from-port=8080", false],
      ["to-port=8080", true],
      ["port=80", false],
    ]);
    expect(matches("to-port=53", buildFlow({ l4: udp(5353, 53) }))).toBe(true);
    expect(matches("to-port=53", buildFlow({ l4: { protocol: { case: "SCTP", value: { sourcePort: 1, destinationPort: 53 } } } }))).toBe(true);
    expect(matches("from-port=0", buildFlow({ l4: udp(0, 53) }))).toBe(true);
    expect(matches("port=0", buildFlow({ l4: { protocol: { case: "ICMPv4", value: { type: 8 } } } }))).toBe(false);
    expect(matches("port=0", buildFlow({ l4: undefined }))).toBe(false);
  });

  it("protocol: L4 record, or L7 record type", () => {
    expectAll(dnsRequest("example.com."), [
      ["protocol=dns", true],
      ["protocol=udp", true],
      ["protocol=tcp", false],
      ["protocol=http", false],
      ["protocol=tcp,dns", true],
    ]);
    expectAll(httpResponse(200), [
      ["protocol=http", true],
      ["protocol=tcp", true],
      ["protocol=kafka", false],
    ]);
    expectAll(buildFlow({ l4: { protocol: { case: "ICMPv6", value: { type: 128 } } } }), [
      ["protocol=icmp", true],
      ["protocol=icmpv6", true],
      ["protocol=icmpv4", false],
    ]);
    expect(matches("protocol=icmpv4", buildFlow({ l4: { protocol: { case: "ICMPv4", value: {} } } }))).toBe(true);
    expect(matches("protocol=sctp", buildFlow({ l4: { protocol: { case: "SCTP", value: {} } } }))).toBe(true);
    expect(matches("protocol=kafka", buildFlow({ l7: { record: { case: "kafka", value: { topic: "orders" } } } }))).toBe(true);
  });

  it("type: event type and sub-type, 0 sub-type omitted in JSON", () => {
    expectAll(buildFlow(), [
      ["type=trace", true],
      ["type=trace:to-endpoint", true],
      ["type=trace:to-stack", false],
      ["type=drop", false],
      ["type=drop,trace", true],
    ]);
    expectAll(drop({ reason: 181 }), [
      ["type=drop", true],
      ["type=drop:181", true],
      ["type=drop:133", false],
    ]);
    expect(matches("type=l7", dnsRequest("a."))).toBe(true);
    expect(matches("type=trace:to-stack", buildFlow({ eventType: { type: 4, subType: 3 } }))).toBe(true);
  });

  it("http-status, http-method, http-path", () => {
    expectAll(httpResponse(503, "GET", "http://reviews:9080/reviews/0?x=1"), [
      ["http-status=503", true],
      ["http-status=5%2B", true],
      ["http-status=50%2B", true],
      ["http-status=4%2B", false],
      ["http-status=404,503", true],
      ["http-method=GET", true],
      ["http-method=post", false],
      ["http-path=^/reviews/\\d%2B$", true],
      ["http-path=x=1", false],
      ["http-path=reviews:9080", false],
      ["http-path=/rev", true],
    ]);
    // a request has no status code: no class matches it
    expect(matches("http-status=1%2B,2%2B,3%2B,4%2B,5%2B", httpRequest())).toBe(false);
    expect(matches("http-method=POST", httpRequest("post"))).toBe(true);
    expect(matches("http-path=^/relative$", httpRequest("GET", "/relative"))).toBe(true);
    for (const qs of ["http-status=2%2B", "http-method=GET", "http-path=.*"]) expect(matches(qs, buildFlow())).toBe(false);
  });

  it("fqdn: names on either side, * wildcards, case and trailing dot ignored", () => {
    const flow = buildFlow({ destination: worldEndpoint(), destinationNames: ["api.GitHub.com.", "lb-140-82-112-5.github.com"] });
    expectAll(flow, [
      ["fqdn=api.github.com", true],
      ["fqdn=API.GITHUB.COM.", true],
      ["fqdn=*.github.com", true],
      ["fqdn=*github.com", true],
      ["fqdn=github.com", false],
      ["fqdn=*.example.com", false],
      ["fqdn=*", true],
      ["to-fqdn=lb-*.github.com", true],
      ["from-fqdn=*", false],
      ["fqdn=api.github.co", false],
      ["fqdn=apixgithub.com", false],
    ]);
    expect(matches("fqdn=*", buildFlow())).toBe(false);
  });

  it("node-name: * wildcards and cluster/node", () => {
    expectAll(buildFlow({ nodeName: "kind-worker" }), [
      ["node-name=kind-worker", true],
      ["node-name=KIND-WORKER", true],
      ["node-name=kind-*", true],
      ["node-name=*worker", true],
      ["node-name=kind", false],
      ["node-name=default/kind-worker", true],
      ["node-name=default/", true],
      ["node-name=other/kind-worker", false],
      ["node-name=/", true],
    ]);
    expectAll(buildFlow({ nodeName: "east/kind-worker" }), [
      ["node-name=kind-worker", true],
      ["node-name=east/", true],
      ["node-name=east/kind-*", true],
      ["node-name=west/", false],
      ["node-name=default/kind-worker", false],
      ["node-name=kind-*", true],
    ]);
    const noNode = toItem(buildFlow({ nodeName: "" }));
    expect(matches("node-name=*", noNode)).toBe(false);
    expect(matches("node-name=kind-worker", { ...noNode, node_name: "kind-worker" })).toBe(true);
  });

  it("cluster and uuid", () => {
    const flow = buildFlow({ source: endpoint({ cluster: "east" }), destination: endpoint({ cluster: "west" }) });
    expectAll(flow, [
      ["cluster=east", true],
      ["cluster=west", true],
      ["cluster=north", false],
      [`uuid=${flow.uuid}`, true],
      [`uuid=${flow.uuid.toUpperCase()}`, true],
      ["uuid=00000000-0000-4000-8000-ffffffffffff", false],
    ]);
    const keyed = toItem(buildFlow({ uuid: "" }));
    expect(matches(`uuid=${keyed.key}`, keyed)).toBe(true);
  });

  it("ANDs fields and ORs values", () => {
    const flow = dnsResponse("api.github.com.", { ips: ["140.82.112.5"] });
    expectAll(flow, [
      ["protocol=dns&from-namespace=kube-system&to-port=43210", true],
      ["protocol=dns&from-namespace=kube-system&to-port=53", false],
      ["protocol=dns,http&verdict=DROPPED,FORWARDED&namespace=nowhere,default", true],
      ["protocol=dns&verdict=DROPPED", false],
    ]);
  });

  it("survives flows with almost nothing in them", () => {
    const everything = matcher(
      [
        "verdict=0&namespace=a&pod=a&label=!x&ip=0.0.0.0/0&port=0&protocol=tcp&type=0&drop-reason-desc=0",
        "http-status=2%2B&http-method=GET&http-path=x&fqdn=*&node-name=*&traffic-direction=0&cluster=c",
        "uuid=00000000-0000-4000-8000-000000000000",
      ].join("&"),
    );
    expect(everything({ key: "k", flow: {} })).toBe(false);
    expect(matcher("verdict=0&type=0&drop-reason-desc=0&traffic-direction=0&label=!x")({ key: "k", flow: {} })).toBe(true);
  });
});

describe("shared regex helpers (the SQL compiler uses the same strings)", () => {
  it("fqdnPatternRegex", () => {
    expect(fqdnPatternRegex(["*.example.com", "api.github.com"])).toBe(
      "^(?:[-.0-9A-Za-z_]*\\.[eE][xX][aA][mM][pP][lL][eE]\\.[cC][oO][mM]|[aA][pP][iI]\\.[gG][iI][tT][hH][uU][bB]\\.[cC][oO][mM])\\.?$",
    );
  });

  it("nodeNamePatternRegex", () => {
    expect(nodeNamePatternRegex(["kind-*"])).toBe("^(?:(?:[^/]*/)?[kK][iI][nN][dD]\\-[-.0-9A-Za-z_]*)$");
    expect(nodeNamePatternRegex(["c1/n"])).toBe("^(?:[cC]1/[nN])$");
    expect(nodeNamePatternRegex(["default/n"])).toBe("^(?:[dD][eE][fF][aA][uU][lL][tT]/[nN]|[nN])$");
    expect(nodeNamePatternRegex(["/"])).toBe("^(?:[-.0-9A-Za-z_]*/[-.0-9A-Za-z_]*|[-.0-9A-Za-z_]*)$");
  });

  it("fqdn and node-name fold ASCII letters only, as DNS does: not the Kelvin sign nor the long s", () => {
    expect(matcher("fqdn=kube.svc")({ key: "k", flow: { source_names: ["KUBE.SVC."] } })).toBe(true);
    expect(matcher("fqdn=kube.svc")({ key: "k", flow: { source_names: ["\u212aube.svc"] } })).toBe(false);
    expect(matcher("fqdn=*.svc")({ key: "k", flow: { source_names: ["\u017f.svc"] } })).toBe(false);
    expect(matcher("node-name=kind-*")({ key: "k", flow: { node_name: "c/KIND-Worker" } })).toBe(true);
    expect(matcher("node-name=kind-*")({ key: "k", flow: { node_name: "\u212aind-worker" } })).toBe(false);
  });

  it("httpUrlPath", () => {
    expect(httpUrlPath("http://10.128.0.4:9990/metrics")).toBe("/metrics");
    expect(httpUrlPath("https://user@host/a/b?c=d#e")).toBe("/a/b");
    expect(httpUrlPath("/a?b")).toBe("/a");
    expect(httpUrlPath("http://host")).toBe("");
    expect(httpUrlPath(undefined)).toBe("");
  });
});

describe("recorded flows (cilium/hubble-otel testdata)", () => {
  const items: FlowItem[] = readRecordedLines().map(({ file, index, text }) => ({ key: `${file}:${index}`, ...JSON.parse(text) }) as FlowItem);

  // the naive reference reads the raw JSON, untyped on purpose
  type J = Record<string, any>;
  const f = (i: FlowItem) => i.flow as J;
  const ipv4In10 = (ip?: string) => typeof ip === "string" && ip.split(".")[0] === "10";
  const either = (i: FlowItem, test: (ep: J | undefined) => boolean) => test(f(i).source) || test(f(i).destination);

  // Each query against an independent, deliberately naive count over the same JSON.
  const cases: [string, (i: FlowItem) => boolean][] = [
    ["namespace=bookinfo", (i) => either(i, (ep) => ep?.namespace === "bookinfo")],
    ["protocol=dns", (i) => f(i).l7?.dns !== undefined],
    ["protocol=http", (i) => f(i).l7?.http !== undefined],
    ["protocol=udp", (i) => f(i).l4?.UDP !== undefined],
    ["protocol=icmp", (i) => f(i).l4?.ICMPv4 !== undefined || f(i).l4?.ICMPv6 !== undefined],
    ["verdict=REDIRECTED", (i) => f(i).verdict === "REDIRECTED"],
    ["verdict=forwarded", (i) => f(i).verdict === "FORWARDED"],
    ["from-label=app=reviews", (i) => (f(i).source?.labels ?? []).includes("k8s:app=reviews")],
    ["to-label=reserved:world", (i) => (f(i).destination?.labels ?? []).includes("reserved:world")],
    ["label=!app", (i) => either(i, (ep) => !(ep?.labels ?? []).some((l: string) => l.startsWith("k8s:app=")))],
    [
      `label=${encodeURIComponent("app in (reviews,ratings),version!=v1")}`,
      (i) =>
        either(i, (ep) => {
          const l: string[] = ep?.labels ?? [];
          return (l.includes("k8s:app=reviews") || l.includes("k8s:app=ratings")) && !l.includes("k8s:version=v1");
        }),
    ],
    ["from-ip=10.0.0.0/8", (i) => ipv4In10(f(i).IP?.source)],
    [
      "ip=10.156.0.0/14",
      (i) => [f(i).IP?.source, f(i).IP?.destination].some((ip) => /^10\.15[6-9]\./.test(ip ?? "")),
    ],
    ["from-ip=10.244.0.0/16", (i) => (f(i).IP?.source ?? "").startsWith("10.244.")],
    ["pod=bookinfo/reviews", (i) => either(i, (ep) => ep?.namespace === "bookinfo" && (ep?.pod_name ?? "").startsWith("reviews"))],
    ["from-pod=kube-system/", (i) => f(i).source?.namespace === "kube-system"],
    [
      "port=53",
      (i) => {
        const p = f(i).l4?.TCP ?? f(i).l4?.UDP;
        return p !== undefined && (p.source_port === 53 || p.destination_port === 53);
      },
    ],
    ["to-port=9080", (i) => (f(i).l4?.TCP ?? f(i).l4?.UDP)?.destination_port === 9080],
    ["http-status=5%2B", (i) => (f(i).l7?.http?.code ?? 0) >= 500 && (f(i).l7?.http?.code ?? 0) <= 599],
    ["http-method=get", (i) => f(i).l7?.http?.method === "GET"],
    ["http-path=^/metrics$", (i) => /^[a-z]+:\/\/[^/]+\/metrics$/.test(f(i).l7?.http?.url ?? "")],
    ["node-name=kind-*", (i) => (f(i).node_name ?? "").startsWith("kind-")],
    ["type=trace:to-stack", (i) => f(i).event_type?.type === 4 && f(i).event_type?.sub_type === 3],
    ["type=policy-verdict", (i) => f(i).event_type?.type === 5],
    ["traffic-direction=ingress", (i) => f(i).traffic_direction === "INGRESS"],
    [
      "namespace=bookinfo&protocol=tcp&to-port=9080",
      (i) => either(i, (ep) => ep?.namespace === "bookinfo") && f(i).l4?.TCP?.destination_port === 9080,
    ],
  ];

  it("holds 1916 flows", () => {
    expect(items.length).toBe(1916);
  });

  it("ip=10.0.0.0/8 matches every recorded flow: each has a 10/8 address on one side", () => {
    const naive = items.filter((i) => ipv4In10(f(i).IP?.source) || ipv4In10(f(i).IP?.destination)).length;
    expect(items.filter(matcher("ip=10.0.0.0/8")).length).toBe(naive);
    expect(items.filter(matcher("to-ip=10.0.0.0/8")).length).toBeLessThan(naive);
  });

  it.each(cases)("%s matches exactly the flows a naive check finds", (qs, naive) => {
    const expected = items.filter(naive).length;
    const got = items.filter(matcher(qs)).length;
    expect(got).toBe(expected);
    // a count of 0 or of everything would not show that the filter discriminates
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(items.length);
  });

  it("is fast enough for the live stream (well over 100k flows/s)", () => {
    const m = matcher(`namespace=bookinfo&label=${encodeURIComponent("app in (reviews,ratings)")}&ip=10.0.0.0/8&protocol=tcp`);
    const start = performance.now();
    let n = 0;
    for (let round = 0; round < 20; round++) for (const item of items) if (m(item)) n++;
    const perSecond = (20 * items.length) / ((performance.now() - start) / 1000);
    expect(n).toBeGreaterThan(0);
    expect(perSecond).toBeGreaterThan(100_000);
  });
});

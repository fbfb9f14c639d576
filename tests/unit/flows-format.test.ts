import { describe, expect, it } from "vitest";
import type { FlowJson } from "@/server/domain/flows/flow-item";
import {
  directionOf,
  dropReasonOf,
  endpointOf,
  endpointSummary,
  eventTypeOf,
  isReplyOf,
  l4Summary,
  l7Summary,
  policiesOf,
  policyCompact,
  urlPath,
  verdictOf,
} from "@/app/lib/flow-format";
import { dnsRcodeName, dropReasonLabel, nodeStateLabel, relayStateTone, verdictName, verdictTone } from "@/app/lib/hubble-enums";
import { endpointFilter, relatedLinks } from "@/app/(dashboard)/flows/format";
import { describeRecord } from "@/app/lib/event-record";
import { formatCompact, formatCount, formatRate } from "@/app/lib/format-number";

// Shapes taken from samples/hubble-otel (hubble observe -o json), trimmed.
const tcpToHost: FlowJson = {
  time: "2021-06-16T16:52:13.136834446Z",
  verdict: "FORWARDED",
  IP: { source: "10.0.2.16", destination: "10.0.2.1", ipVersion: "IPv4" },
  l4: { TCP: { source_port: 15020, destination_port: 42044, flags: { FIN: true, ACK: true } } },
  source: { ID: 1231, identity: 25339, namespace: "bookinfo", labels: ["k8s:app=reviews"], pod_name: "reviews-v1-545db77b95-s6jb8" },
  destination: { identity: 1, labels: ["reserved:host"] },
  Type: "L3_L4",
  reply: true,
  event_type: { type: 4, sub_type: 3 },
  traffic_direction: "INGRESS",
  trace_observation_point: "TO_STACK",
};

const httpRequest: FlowJson = {
  verdict: "FORWARDED",
  IP: { source: "10.156.2.7", destination: "10.128.0.4", ipVersion: "IPv4" },
  l4: { TCP: { source_port: 48532, destination_port: 9990 } },
  source: { namespace: "istio-system", pod_name: "prometheus-6655946b9f-6xcpf" },
  destination: { identity: 2, labels: ["reserved:world"] },
  l7: { type: "REQUEST", http: { method: "GET", url: "http://10.128.0.4:9990/metrics?x=1", protocol: "HTTP/1.1" } },
  event_type: { type: 129 },
  traffic_direction: "EGRESS",
  is_reply: false,
};

const dnsResponse: FlowJson = {
  verdict: "FORWARDED",
  l4: { UDP: { source_port: 53, destination_port: 59102 } },
  l7: {
    type: "RESPONSE",
    latency_ns: "1500000",
    dns: { query: "istiod.istio-system.svc.cluster.local.", rcode: 3, qtypes: ["A"], observation_source: "proxy" },
  },
};

const drop: FlowJson = {
  verdict: "DROPPED",
  drop_reason_desc: "POLICY_DENIED",
  IP: { source: "10.0.0.5", destination: "93.184.216.34" },
  l4: { TCP: { source_port: 40000, destination_port: 443, flags: { SYN: true } } },
  source: { namespace: "shop", pod_name: "cart-1", workloads: [{ name: "cart", kind: "Deployment" }] },
  destination: { identity: 2, labels: ["reserved:world"] },
  destination_names: ["example.com"],
  egress_denied_by: [{ name: "deny-egress", namespace: "shop", kind: "CiliumNetworkPolicy", revision: "12" }],
  ingress_allowed_by: [{ labels: ["k8s:io.cilium.k8s.policy.name=allow-web", "k8s:io.cilium.k8s.policy.namespace=shop"] }],
  event_type: { type: 1, sub_type: 133 },
};

describe("endpoints", () => {
  it("pods are namespace/pod with the IP beside", () => {
    expect(endpointSummary(tcpToHost, "source")).toEqual({ primary: "bookinfo/reviews-v1-545db77b95-s6jb8", secondary: "10.0.2.16" });
  });
  it("reserved peers show their IP with a tag", () => {
    expect(endpointSummary(tcpToHost, "destination")).toEqual({ primary: "10.0.2.1", tag: "host" });
  });
  it("world with a DNS name shows the name", () => {
    expect(endpointSummary(drop, "destination")).toEqual({ primary: "example.com", secondary: "93.184.216.34", tag: "world" });
  });
  it("reserved identity numbers are understood without labels", () => {
    expect(endpointOf({ destination: { identity: 2 } }, "destination").reserved).toBe("world");
  });
  it("workloads without a pod name", () => {
    expect(endpointSummary({ source: { namespace: "a", workloads: [{ name: "w", kind: "Deployment" }] } }, "source").primary).toBe("a/w");
  });
  it("nothing known → dash, never a crash", () => {
    expect(endpointSummary({}, "source")).toEqual({ primary: "—" });
    expect(endpointSummary({ source: "garbage" as unknown }, "source")).toEqual({ primary: "—" });
  });
});

describe("L4 / L7", () => {
  it("port and protocol", () => {
    expect(l4Summary(tcpToHost)).toBe("42044/TCP");
    expect(l4Summary(dnsResponse)).toBe("59102/UDP");
    expect(l4Summary({ l4: { ICMPv4: { type: 8 } } })).toBe("ICMPv4 type 8 code 0");
    expect(l4Summary({})).toBe("");
  });
  it("HTTP request: method and path", () => {
    expect(l7Summary(httpRequest)).toBe("GET /metrics?x=1");
  });
  it("HTTP response: code and latency", () => {
    expect(l7Summary({ l7: { type: "RESPONSE", latency_ns: "12300000", http: { code: 503, method: "POST", url: "/x" } } })).toBe(
      "POST /x → 503 (12.3 ms)",
    );
  });
  it("DNS response: rcode name", () => {
    expect(l7Summary(dnsResponse)).toBe("DNS A istiod.istio-system.svc.cluster.local. → NXDOMAIN");
    expect(l7Summary({ l7: { type: "RESPONSE", dns: { query: "a.", ips: ["1.1.1.1", "2.2.2.2", "3.3.3.3"] } } })).toBe(
      "DNS a. → NOERROR 1.1.1.1, 2.2.2.2 +1",
    );
    expect(l7Summary({ l7: { type: "REQUEST", dns: { query: "a.", qtypes: ["AAAA"] } } })).toBe("DNS AAAA a.");
  });
  it("Kafka", () => {
    expect(l7Summary({ l7: { kafka: { api_key: "produce", topic: "orders", error_code: 3 } } })).toBe("Kafka produce orders error 3");
  });
  it("urlPath tolerates non-URLs", () => {
    expect(urlPath("not a url")).toBe("not a url");
  });
});

describe("verdicts and drop reasons", () => {
  it("names, numbers and tones", () => {
    expect(verdictName(2)).toBe("DROPPED");
    expect(verdictName("2")).toBe("DROPPED");
    expect(verdictName(99)).toBe("99");
    expect(verdictName(undefined)).toBe("VERDICT_UNKNOWN");
    expect(verdictTone("DROPPED")).toBe("bad");
    expect(verdictTone("FORWARDED")).toBe("ok");
    expect(verdictTone(99)).toBe("muted");
    expect(verdictOf(drop)).toBe("DROPPED");
  });
  it("drop reason from the name, the number, or the drop event's sub_type", () => {
    expect(dropReasonOf(drop)).toEqual({ text: "POLICY_DENIED", known: true });
    expect(dropReasonOf({ drop_reason_desc: 181 })).toEqual({ text: "POLICY_DENY", number: 181, known: true });
    expect(dropReasonOf({ drop_reason_desc: 250 })).toEqual({ text: "drop reason 250", number: 250, known: false });
    expect(dropReasonOf({ drop_reason: 133 })?.text).toBe("POLICY_DENIED");
    expect(dropReasonOf({ event_type: { type: 1, sub_type: 189 } })?.text).toBe("AUTH_REQUIRED");
    expect(dropReasonOf(tcpToHost)).toBeUndefined();
    expect(dropReasonLabel(undefined)).toBeUndefined();
  });
  it("DNS rcodes", () => {
    expect(dnsRcodeName(undefined)).toBe("NOERROR");
    expect(dnsRcodeName(2)).toBe("SERVFAIL");
    expect(dnsRcodeName(77)).toBe("RCODE 77");
  });
});

describe("direction, reply, event type", () => {
  it("reads enums as names or numbers", () => {
    expect(directionOf(tcpToHost)).toBe("ingress");
    expect(directionOf({ traffic_direction: 2 })).toBe("egress");
    expect(directionOf({})).toBeUndefined();
    expect(isReplyOf(tcpToHost)).toBe(true);
    expect(isReplyOf(httpRequest)).toBe(false);
    expect(isReplyOf({ is_reply: false, reply: true })).toBe(false);
    expect(eventTypeOf(tcpToHost)).toBe("trace:to-stack");
    expect(eventTypeOf(httpRequest)).toBe("l7");
    expect(eventTypeOf({ event_type: { type: 4 } })).toBe("trace:to-endpoint");
    expect(eventTypeOf({ event_type: { type: 77 } })).toBe("type 77");
  });
});

describe("policies", () => {
  it("lists deny first, names from labels when missing", () => {
    const ps = policiesOf(drop);
    expect(ps.map((p) => [p.effect, p.direction, p.namespace, p.name, p.kind, p.revision])).toEqual([
      ["deny", "egress", "shop", "deny-egress", "CiliumNetworkPolicy", "12"],
      ["allow", "ingress", "shop", "allow-web", undefined, undefined],
    ]);
  });
  it("compact cell text", () => {
    expect(policyCompact(drop)).toMatchObject({ text: "✗ shop/deny-egress +1", denied: true });
    expect(policyCompact(drop)?.title).toContain("denied (egress) by CiliumNetworkPolicy shop/deny-egress");
    expect(policyCompact(tcpToHost)).toBeUndefined();
  });
});

describe("related links", () => {
  it("pods by namespace/pod, world by IP", () => {
    expect(endpointFilter(drop, "source", "from")).toEqual({ "from-pod": ["shop/cart-1"] });
    expect(endpointFilter(drop, "destination", "to")).toEqual({ "to-ip": ["93.184.216.34"] });
    expect(endpointFilter({ destination: { labels: ["reserved:world"] } }, "destination", "to")).toEqual({ "to-label": ["reserved:world"] });
    expect(endpointFilter({}, "source", "from")).toBeUndefined();
  });
  it("keep the time range, replace filters, close the drawer", () => {
    const links = relatedLinks(drop, { filters: { verdict: ["DROPPED"] }, since: "1h", live: false, flow: "k" });
    expect(links.map((l) => l.label)).toEqual(["Flows between these two", "From this pod", "To this destination (port 443)"]);
    expect(links[0].state).toEqual({ since: "1h", until: undefined, live: false, filters: { "from-pod": ["shop/cart-1"], "to-ip": ["93.184.216.34"] } });
    expect(links[2].state.filters).toEqual({ "to-ip": ["93.184.216.34"], "to-port": ["443"] });
  });
});

describe("status helpers", () => {
  it("numbers", () => {
    expect(formatCount(12345)).toBe("12,345");
    expect(formatCompact(1234)).toBe("1,234");
    expect(formatCompact(1_234_567)).toBe("1.2M");
    expect(formatRate(97.5)).toBe("97.5");
    expect(formatRate(2.0)).toBe("2");
    expect(formatRate(undefined)).toBe("—");
  });
  it("states", () => {
    expect(nodeStateLabel("NODE_CONNECTED")).toBe("connected");
    expect(nodeStateLabel("UNKNOWN_NODE_STATE")).toBe("unknown");
    expect(relayStateTone("demo")).toBe("accent");
  });
  it("event records show any shape", () => {
    process.env.TZ = "UTC";
    const v = describeRecord({ node_name: "n1", num_events_lost: "12", time: "2026-01-01T00:00:00Z", cpu: { value: 3 } });
    expect(v.time).toBe("2026-01-01 00:00:00.000000000 +00:00");
    expect(v.fields).toEqual([
      { key: "node_name", value: "n1" },
      { key: "num_events_lost", value: "12" },
      { key: "cpu", value: '{"value":3}' },
    ]);
  });
});

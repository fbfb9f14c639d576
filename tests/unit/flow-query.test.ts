import fc from "fast-check";
import { RE2JS } from "re2js";
import { describe, expect, it } from "vitest";
import { encodeCursor } from "@/server/domain/flow-cursor";
import type { FlowFilterSpec, FlowQuery } from "@/server/domain/flow-filter-spec";
import {
  FLOW_QUERY_PARAMETERS,
  MAX_CURSOR_LENGTH,
  MAX_PATTERN_SIZE,
  MAX_TIME_NS,
  MAX_VALUE_LENGTH,
  MIN_TIME_NS,
  flowQueryToSearchParams,
  formatRfc3339Ns,
  parseDurationNs,
  parseFlowQuery,
  parseMomentNs,
  parseRfc3339Ns,
  toPortableRegex,
} from "@/server/domain/flow-query";

const NOW = new Date("2026-11-23T18:00:00.000Z");
const KEY = "0c6b1e4e-2f9c-4d4b-9a53-3c4f5b6a7d8e";
const CURSOR = encodeCursor(1_795_456_800_000_000_000n, KEY);
const NOW_NS = 1_795_456_800_000_000_000n; // NOW in ns

function parse(qs: string | URLSearchParams): FlowQuery {
  const r = parseFlowQuery(typeof qs === "string" ? new URLSearchParams(qs) : qs, NOW);
  if (!r.ok) throw new Error(r.error);
  return r.query;
}
const filterOf = (qs: string): FlowFilterSpec => parse(qs).filter;

function failure(qs: string | URLSearchParams) {
  const r = parseFlowQuery(typeof qs === "string" ? new URLSearchParams(qs) : qs, NOW);
  if (r.ok) throw new Error(`expected ${String(qs)} to fail`);
  return { parameter: r.parameter, error: r.error };
}

describe("defaults and parameter names", () => {
  it("gives an empty filter, limit 100 and json", () => {
    expect(parse("")).toEqual({ filter: {}, limit: 100, format: "json" });
  });

  it("ignores the cache-busters _ and _rsc", () => {
    expect(parse("_=123&_rsc=abc&verdict=DROPPED")).toEqual({ filter: { verdict: [2] }, limit: 100, format: "json" });
  });

  it("rejects unknown parameters and lists the valid ones", () => {
    const f = failure("verdict=DROPPED&namespce=shop");
    expect(f.parameter).toBe("namespce");
    expect(f.error).toMatch(/^namespce: unknown parameter; valid parameters are since, until, last, verdict, namespace, /);
    for (const name of FLOW_QUERY_PARAMETERS) expect(f.error).toContain(name);
  });

  it("knows exactly the parameters of docs/api.md", () => {
    expect([...FLOW_QUERY_PARAMETERS].sort()).toEqual(
      [
        "since", "until", "last", "verdict", "namespace", "from-namespace", "to-namespace", "pod", "from-pod",
        "to-pod", "label", "from-label", "to-label", "ip", "from-ip", "to-ip", "port", "from-port", "to-port",
        "protocol", "type", "drop-reason-desc", "http-status", "http-method", "http-path", "fqdn", "from-fqdn",
        "to-fqdn", "node-name", "traffic-direction", "cluster", "uuid", "limit", "cursor", "format",
      ].sort(),
    );
  });

  it("starts every error with the parameter's name", () => {
    for (const [qs, parameter] of [
      ["port=x", "port"],
      ["to-port=x", "to-port"],
      ["from-ip=x", "from-ip"],
      ["to-label=(", "to-label"],
      ["from-fqdn=a%20b", "from-fqdn"],
      ["to-namespace=A", "to-namespace"],
      ["from-pod=a/b/c", "from-pod"],
    ]) {
      const f = failure(qs);
      expect(f.parameter).toBe(parameter);
      expect(f.error.startsWith(`${parameter}: `)).toBe(true);
    }
  });
});

describe("lists: repetition and commas OR", () => {
  it("merges repeated parameters and comma-separated values, trimming spaces and dropping duplicates", () => {
    expect(filterOf("namespace=a,b&namespace=c&namespace=%20a%20")).toEqual({ namespace: ["a", "b", "c"] });
  });

  it("rejects empty values", () => {
    expect(failure("namespace=")).toEqual({ parameter: "namespace", error: "namespace: empty value" });
    expect(failure("verdict=DROPPED,")).toEqual({ parameter: "verdict", error: "verdict: empty value" });
  });

  it("keeps a label selector's commas inside one selector (AND); repetition ORs", () => {
    expect(filterOf("label=app=web,tier=db")).toEqual({
      label: [
        [
          { op: "in", key: "app", values: ["web"] },
          { op: "in", key: "tier", values: ["db"] },
        ],
      ],
    });
    expect(filterOf(`from-label=${encodeURIComponent("k in (a,b)")}&from-label=app`)).toEqual({
      fromLabel: [[{ op: "in", key: "k", values: ["a", "b"] }], [{ op: "exists", key: "app" }]],
    });
  });

  it("does not split http-path at commas (regex bounds)", () => {
    expect(filterOf(`http-path=${encodeURIComponent("^/a{1,3}$")}`)).toEqual({ httpPath: ["^/a{1,3}$"] });
  });

  it("caps the number of values and their length", () => {
    const many = Array.from({ length: 101 }, (_, i) => `ns${i}`).join(",");
    expect(failure(`namespace=${many}`).error).toBe("namespace: more than 100 values");
    expect(failure(`cluster=${"a".repeat(MAX_VALUE_LENGTH + 1)}`).error).toBe(
      `cluster: a value is longer than ${MAX_VALUE_LENGTH} characters`,
    );
  });

  it("rejects single-valued parameters given twice", () => {
    expect(failure("limit=10&limit=20")).toEqual({ parameter: "limit", error: "limit: given more than once" });
    expect(failure("since=1h&since=2h").error).toBe("since: given more than once");
  });
});

describe("since / until", () => {
  it("keeps nanosecond precision of RFC 3339 times", () => {
    const q = parse("since=2021-06-16T16:52:13.136834446Z&until=2021-06-16T16:52:14Z");
    expect(q.sinceNs).toBe(1_623_862_333_136_834_446n);
    expect(q.untilNs).toBe(1_623_862_334_000_000_000n);
  });

  it("applies UTC offsets and accepts lower-case t/z and fewer fraction digits", () => {
    expect(parse("since=2021-06-16T18:52:13.5%2B02:00").sinceNs).toBe(1_623_862_333_500_000_000n);
    // an unencoded "+" arrives as a space
    expect(parse("since=2021-06-16T18:52:13.5+02:00").sinceNs).toBe(1_623_862_333_500_000_000n);
    expect(parse("since=2021-06-16t16:52:13.5z").sinceNs).toBe(1_623_862_333_500_000_000n);
    expect(parse("since=2021-06-16T11:22:13-05:30").sinceNs).toBe(1_623_862_333_000_000_000n);
  });

  it.each([
    ["30s", 30n * 10n ** 9n],
    ["15m", 900n * 10n ** 9n],
    ["2h", 7200n * 10n ** 9n],
    ["7d", 7n * 86400n * 10n ** 9n],
    ["1w", 7n * 86400n * 10n ** 9n],
    ["1h30m", 5400n * 10n ** 9n],
    ["1.5h", 5400n * 10n ** 9n],
    ["500ms", 500_000_000n],
    ["0s", 0n],
  ])("reads the duration %s as that long before now", (text, ns) => {
    expect(parse(`since=${text}`).sinceNs).toBe(NOW_NS - ns);
    expect(parse(`until=${text}`).untilNs).toBe(NOW_NS - ns);
  });

  it("says what it expected", () => {
    expect(failure("since=yesterday")).toEqual({
      parameter: "since",
      error: 'since: "yesterday" is neither an RFC 3339 time nor a duration like 15m (e.g. 2026-11-23T18:00:00Z, 30s, 2h, 7d, 1h30m)',
    });
    for (const bad of ["15", "-15m", "15 m", "m", "1y", "2026-11-23", "2026-11-23T18:00Z", "1700000000"]) {
      expect(failure(`until=${encodeURIComponent(bad)}`).error).toMatch(/^until: ".*" is neither an RFC 3339 time nor a duration like 15m/);
    }
  });

  it("names impossible dates", () => {
    expect(failure("since=2021-02-29T00:00:00Z").error).toBe(
      'since: "2021-02-29T00:00:00Z" is not a valid RFC 3339 time: day 29 does not exist in 2021-02',
    );
    expect(parse("since=2024-02-29T00:00:00Z").sinceNs).toBe(1_709_164_800_000_000_000n);
    expect(failure("since=2021-13-01T00:00:00Z").error).toMatch(/month 13 does not exist/);
    expect(failure("since=2021-01-01T24:00:00Z").error).toMatch(/time of day 24:00:00 does not exist/);
    expect(failure("since=2021-01-01T00:00:00%2B24:00").error).toMatch(/UTC offset \+24:00 does not exist/);
  });

  it("refuses durations past 100 years", () => {
    expect(failure("since=36501d").error).toBe('since: "36501d" is longer than 100 years (36500d)');
  });

  it("requires since ≤ until (equal is an empty range, allowed)", () => {
    expect(failure("since=1h&until=2h")).toEqual({
      parameter: "since",
      error: "since: 2026-11-23T17:00:00Z is after until (2026-11-23T16:00:00Z)",
    });
    expect(parse("since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z").sinceNs).toBe(parse("until=2026-01-01T00:00:00Z").untilNs);
    expect(failure("since=2026-01-01T00:00:00.000000002Z&until=2026-01-01T00:00:00.000000001Z").parameter).toBe("since");
  });

  it("clamps since/until beyond the times flows can have to open ends, after comparing them", () => {
    expect(parse("since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59.999999999Z")).toMatchObject({ sinceNs: MIN_TIME_NS, untilNs: MAX_TIME_NS });
    expect(formatRfc3339Ns(MAX_TIME_NS)).toBe("2200-01-01T00:00:00Z");
    expect(parse("since=36500d").sinceNs).toBe(0n);
    expect(parse("until=1969-12-31T23:59:59Z").untilNs).toBe(0n);
    expect(failure("since=9999-01-01T00:00:00Z&until=9000-01-01T00:00:00Z")).toEqual({
      parameter: "since",
      error: "since: 9999-01-01T00:00:00Z is after until (9000-01-01T00:00:00Z)",
    });
    const q = parse("since=0000-01-01T00:00:00Z");
    expect(parse(flowQueryToSearchParams(q))).toEqual(q);
  });

  it("refuses a moment outside the times flows can have", () => {
    expect(parseMomentNs("2026-11-23T18:00:00Z", NOW)).toEqual({ ok: true, value: NOW_NS });
    expect(parseMomentNs("1h", NOW)).toEqual({ ok: true, value: NOW_NS - 3_600_000_000_000n });
    for (const t of ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00.000000001Z", "9999-12-31T23:59:59Z"]) {
      expect(parseMomentNs(t, NOW)).toEqual({ ok: false, error: `"${t}" is outside 1970-01-01T00:00:00Z … 2200-01-01T00:00:00Z, the times flows can have` });
    }
    expect(parseMomentNs("soon", NOW).ok).toBe(false);
  });

  it("formats nanoseconds the way protobuf JSON does", () => {
    expect(formatRfc3339Ns(1_623_862_333_136_834_446n)).toBe("2021-06-16T16:52:13.136834446Z");
    expect(formatRfc3339Ns(1_623_862_333_136_834_000n)).toBe("2021-06-16T16:52:13.136834Z");
    expect(formatRfc3339Ns(1_623_862_333_100_000_000n)).toBe("2021-06-16T16:52:13.100Z");
    expect(formatRfc3339Ns(0n)).toBe("1970-01-01T00:00:00Z");
    expect(formatRfc3339Ns(-1n)).toBe("1969-12-31T23:59:59.999999999Z");
    for (const t of ["0001-01-01T00:00:00Z", "1600-02-29T12:00:00Z", "2100-03-01T00:00:00.000000001Z", "9999-12-31T23:59:59.999999999Z"]) {
      const r = parseRfc3339Ns(t);
      expect(r.ok && formatRfc3339Ns(r.value)).toBe(t);
    }
    expect(parseDurationNs("1h30m")).toEqual({ ok: true, value: 5_400_000_000_000n });
  });
});

describe("limit, last, format, cursor", () => {
  it.each([
    ["limit=1", { limit: 1 }],
    ["limit=5000", { limit: 5000 }],
    ["last=1", { last: 1 }],
    ["last=1000000", { last: 1_000_000 }],
    ["format=jsonl", { format: "jsonl" }],
    ["format=CSV", { format: "csv" }],
    [`cursor=${CURSOR}`, { cursor: CURSOR }],
    [`cursor=${CURSOR}.17`, { cursor: `${CURSOR}.17` }],
  ])("%s", (qs, expected) => {
    expect(parse(qs)).toMatchObject(expected);
  });

  it.each([
    ["limit=0", 'limit: "0" is not an integer from 1 to 5000'],
    ["limit=5001", 'limit: "5001" is not an integer from 1 to 5000'],
    ["limit=1e3", 'limit: "1e3" is not an integer from 1 to 5000'],
    ["limit=-1", 'limit: "-1" is not an integer from 1 to 5000'],
    ["limit=10.5", 'limit: "10.5" is not an integer from 1 to 5000'],
    ["last=0", 'last: "0" is not an integer from 1 to 1000000'],
    ["last=1000001", 'last: "1000001" is not an integer from 1 to 1000000'],
    ["format=xml", 'format: "xml" is not one of json, jsonl, csv'],
    ["cursor=a%20b", `cursor: "a b" is not a cursor from a previous page's "next"`],
    // checked when parsed, not only when the store reads it: a filter matching nothing never does
    ["cursor=eyJ0cyI6IjEyMyJ9.abc_-", `cursor: "eyJ0cyI6IjEyMyJ9.abc_-" is not a cursor from a previous page's "next"`],
    [`cursor=${encodeCursor(2n ** 63n, KEY)}`, `cursor: "${encodeCursor(2n ** 63n, KEY)}" is not a cursor from a previous page's "next"`],
    [`cursor=${CURSOR}.12345678`, `cursor: "${CURSOR}.12345678" is not a cursor from a previous page's "next"`],
  ])("%s fails", (qs, error) => {
    expect(failure(qs).error).toBe(error);
  });

  it("caps the cursor's length", () => {
    expect(failure(`cursor=${"x".repeat(MAX_CURSOR_LENGTH + 1)}`).error).toBe("cursor: a value is longer than 1024 characters");
  });
});

describe("enums", () => {
  it("reads verdicts by name (any case) or number, unknown numbers included", () => {
    expect(filterOf("verdict=DROPPED,forwarded&verdict=5&verdict=99&verdict=verdict_unknown")).toEqual({
      verdict: [2, 1, 5, 99, 0],
    });
  });

  it("rejects unknown verdict names with the valid ones", () => {
    expect(failure("verdict=FORWARD").error).toBe('verdict: "FORWARD" is not a verdict; did you mean FORWARDED?');
    expect(failure("verdict=allowed").error).toBe(
      'verdict: "allowed" is not a verdict; use one of VERDICT_UNKNOWN, FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED or a number',
    );
    expect(failure("verdict=-1").error).toMatch(/^verdict: "-1" is not a verdict/);
    expect(failure("verdict=99999999999").error).toBe('verdict: "99999999999" is not a verdict number from 0 to 2147483647');
  });

  it("reads drop reasons by name or number and suggests close names", () => {
    expect(filterOf("drop-reason-desc=POLICY_DENIED,policy_deny&drop-reason-desc=250")).toEqual({
      dropReasonDesc: [133, 181, 250],
    });
    expect(failure("drop-reason-desc=POLICY").error).toBe(
      'drop-reason-desc: "POLICY" is not a drop reason; did you mean POLICY_DENIED, NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION, POLICY_DENY?',
    );
    expect(failure("drop-reason-desc=OOPS").error).toBe(
      'drop-reason-desc: "OOPS" is not a drop reason; use a name like INVALID_DESTINATION_MAC or a number',
    );
  });

  it("reads traffic directions", () => {
    expect(filterOf("traffic-direction=ingress,EGRESS,unknown")).toEqual({ trafficDirection: [1, 2, 0] });
    expect(failure("traffic-direction=sideways").error).toBe(
      'traffic-direction: "sideways" is not a traffic direction; use ingress or egress',
    );
  });
});

describe("endpoint parameters", () => {
  it("namespace", () => {
    expect(filterOf("namespace=bookinfo&from-namespace=kube-system&to-namespace=a1")).toEqual({
      namespace: ["bookinfo"],
      fromNamespace: ["kube-system"],
      toNamespace: ["a1"],
    });
    expect(failure("namespace=Bookinfo").error).toBe(
      'namespace: "Bookinfo" is not a Kubernetes namespace name (lower-case letters, digits and "-", at most 63)',
    );
    expect(failure("namespace=-a").parameter).toBe("namespace");
    expect(failure(`namespace=${"a".repeat(64)}`).parameter).toBe("namespace");
  });

  it("pod: prefix, namespace/prefix, namespace/", () => {
    expect(filterOf("pod=reviews&from-pod=bookinfo/reviews-v1&to-pod=kube-system/")).toEqual({
      pod: [{ prefix: "reviews" }],
      fromPod: [{ namespace: "bookinfo", prefix: "reviews-v1" }],
      toPod: [{ namespace: "kube-system", prefix: "" }],
    });
    expect(failure("pod=/reviews").error).toBe('pod: "/reviews" has an empty namespace before "/"');
    expect(failure("pod=a/b/c").error).toBe('pod: "a/b/c" has more than one "/"; use namespace/pod-prefix');
    expect(failure("pod=Reviews").error).toBe('pod: "Reviews": a pod name prefix has only lower-case letters, digits, "-" and "."');
    expect(failure("pod=Ns/x").error).toMatch(/^pod: in "Ns\/x": "Ns" is not a Kubernetes namespace name/);
  });

  it("label", () => {
    expect(filterOf(`to-label=${encodeURIComponent("!app")}`)).toEqual({ toLabel: [[{ op: "notExists", key: "app" }]] });
    expect(failure(`label=${encodeURIComponent("app in (a,b")}`).error).toBe(
      'label: "app in (a,b" is not a label selector: missing ")" to close the set of "app in (…)"',
    );
  });

  it("ip: addresses and CIDRs of both versions, host bits cleared", () => {
    expect(filterOf("ip=10.0.0.0/8,2001:db8::/32&from-ip=10.0.2.16&to-ip=10.1.2.3/16")).toEqual({
      ip: [
        { address: "10.0.0.0", bits: 8, version: 4 },
        { address: "2001:db8::", bits: 32, version: 6 },
      ],
      fromIp: [{ address: "10.0.2.16", bits: 32, version: 4 }],
      toIp: [{ address: "10.1.0.0", bits: 16, version: 4 }],
    });
    expect(failure("ip=10.0.0.0/33").error).toBe(
      'ip: "10.0.0.0/33" is not an IP address or CIDR: prefix length "33" must be a number from 0 to 32',
    );
    expect(failure("to-ip=localhost").error).toBe(
      'to-ip: "localhost" is not an IP address or CIDR: "localhost" is not an IPv4 or IPv6 address',
    );
  });

  it("port", () => {
    expect(filterOf("port=53,0&from-port=65535&to-port=9080")).toEqual({ port: [53, 0], fromPort: [65535], toPort: [9080] });
    expect(failure("port=65536").error).toBe('port: "65536" is not a port from 0 to 65535');
    expect(failure("to-port=http").error).toBe('to-port: "http" is not a port from 0 to 65535');
  });

  it("fqdn: lower-cased, one trailing dot dropped, * allowed", () => {
    expect(filterOf("fqdn=*.Example.COM.&from-fqdn=api.github.com&to-fqdn=*")).toEqual({
      fqdn: ["*.example.com"],
      fromFqdn: ["api.github.com"],
      toFqdn: ["*"],
    });
    expect(failure("fqdn=a%20b").error).toBe('fqdn: "a b" is not a DNS name pattern (letters, digits, "-", "_", "." and * wildcards)');
    expect(failure("fqdn=a..").parameter).toBe("fqdn");
    // adjacent wildcards are one: the live matcher's regex would try every split of a name among them
    expect(filterOf(`fqdn=${"*".repeat(40)}x&node-name=${"*".repeat(40)}/**w*`)).toEqual({ fqdn: ["*x"], nodeName: ["*/*w*"] });
    expect(failure("fqdn=.").parameter).toBe("fqdn");
  });

  it("cluster and uuid", () => {
    expect(filterOf("cluster=kind-kind,default&uuid=0C6B1E4E-2F9C-4D4B-9A53-3C4F5B6A7D8E")).toEqual({
      cluster: ["kind-kind", "default"],
      uuid: ["0c6b1e4e-2f9c-4d4b-9a53-3c4f5b6a7d8e"],
    });
    expect(failure("cluster=a%20b").error).toBe('cluster: "a b" is not a cluster name');
    expect(failure("uuid=1234").error).toBe('uuid: "1234" is not a UUID');
  });
});

describe("protocol, type, node, http", () => {
  it("protocol: lower-cased, icmp = icmpv4 + icmpv6", () => {
    expect(filterOf("protocol=TCP,icmp&protocol=icmpv4,dns,http,kafka,udp,sctp")).toEqual({
      protocol: ["tcp", "icmpv4", "icmpv6", "dns", "http", "kafka", "udp", "sctp"],
    });
    expect(failure("protocol=quic").error).toBe(
      'protocol: "quic" is not one of icmp, tcp, udp, icmpv4, icmpv6, sctp, http, dns, kafka',
    );
  });

  it("type: hubble names, trace sub-types, numbers", () => {
    expect(
      filterOf("type=trace,drop,debug,capture,policy-verdict,sock,trace-sock,l7,agent&type=trace:to-endpoint,trace:to-crypto,drop:133,4:3,TRACE:FROM-NETWORK"),
    ).toEqual({
      type: [
        { type: 4 },
        { type: 1 },
        { type: 2 },
        { type: 3 },
        { type: 5 },
        { type: 7 },
        { type: 129 },
        { type: 130 },
        { type: 4, subType: 0 },
        { type: 4, subType: 13 },
        { type: 1, subType: 133 },
        { type: 4, subType: 3 },
        { type: 4, subType: 10 },
      ],
    });
    expect(failure("type=bogus").error).toBe(
      'type: "bogus" is not an event type; use one of drop, debug, capture, trace, policy-verdict, recorder, sock, trace-sock, l7, agent or a number',
    );
    expect(failure("type=trace:nowhere").error).toMatch(/^type: "trace:nowhere": unknown trace sub-type; use one of to-endpoint, to-proxy, /);
    expect(failure("type=drop:policy").error).toBe('type: "drop:policy": only trace has named sub-types; use a number (like drop:133)');
    expect(failure("type=trace:a:b").error).toBe('type: "trace:a:b" has more than one ":"');
  });

  it("node-name", () => {
    expect(filterOf("node-name=Kind-*,cluster/,c/n*,/")).toEqual({ nodeName: ["kind-*", "cluster/", "c/n*", "/"] });
    expect(failure("node-name=a/b/c").error).toBe('node-name: "a/b/c" is not a node name pattern like kind-worker*, or cluster/node');
    expect(failure("node-name=a%20b").parameter).toBe("node-name");
  });

  it("http-status: exact codes and classes", () => {
    expect(filterOf("http-status=404,4%2B,50%2B,200")).toEqual({
      httpStatus: [
        { min: 404, max: 404 },
        { min: 400, max: 499 },
        { min: 500, max: 509 },
        { min: 200, max: 200 },
      ],
    });
    // a "+" typed unencoded in a URL arrives as a space
    expect(filterOf("http-status=4+,40+")).toEqual(filterOf("http-status=4%2B,40%2B"));
    for (const bad of ["4xx", "1000", "600", "404%2B", "0", "%2B", "6"]) {
      expect(failure(`http-status=${bad}`).error).toMatch(/^http-status: ".*" is not an HTTP status like 404 or a class like 4\+ or 40\+$/);
    }
  });

  it("http-method: upper-cased", () => {
    expect(filterOf("http-method=get,Post")).toEqual({ httpMethod: ["GET", "POST"] });
    expect(failure("http-method=G%20ET").error).toBe('http-method: "G ET" is not an HTTP method');
  });

  it("http-path: portable regexes only, class escapes spelled out in ASCII", () => {
    expect(filterOf(`http-path=${encodeURIComponent("^/api/v[12]/(?:users|orders)/\\d+$")}`)).toEqual({
      httpPath: ["^/api/v[12]/(?:users|orders)/[0-9]+$"],
    });
    const bad: [string, RegExp][] = [
      ["(a+)+$", /repeats a group that itself repeats or alternates/],
      ["(a|aa)*", /repeats a group that itself repeats or alternates/],
      ["(?:x*){2}", /repeats a group/],
      ["foo(?=bar)", /uses \(\?…\) syntax other than \(\?:…\)/],
      ["(?i)foo", /uses \(\?…\) syntax/],
      ["\\bfoo", /uses \\b, which differs between RE2 and PostgreSQL/],
      ["(a)\\1", /uses \\1/],
      ["[[:alpha:]]", /POSIX class/],
      ["[]a]", /starts a \[\.\.\.\] set with "\]"/],
      ["(", /is not a valid regular expression/],
      ["[a", /is not a valid regular expression/],
      ["a\\", /is not a valid regular expression/],
      ["[^\\W]", /uses \\W inside \[\.\.\.\], which PostgreSQL does not allow/],
      ["a{,3}", /has a "\{" that is not a repetition/],
      ["a{1", /has a "\{" that is not a repetition/],
      ["a{256}", /repeats more than 255 times/],
      ["\\x41", /uses \\x, which differs/],
      ["a\u0000b", /contains a NUL character/],
    ];
    for (const [source, message] of bad) {
      const f = failure(`http-path=${encodeURIComponent(source)}`);
      expect(f.parameter).toBe("http-path");
      expect(f.error).toMatch(message);
    }
  });

  it("toPortableRegex keeps the safe everyday forms and rewrites class escapes", () => {
    const cases: [string, string][] = [
      ["/metrics", "/metrics"],
      ["^/api/", "^/api/"],
      ["\\.(js|css)$", "\\.(js|css)$"],
      ["(ab)+", "(ab)+"],
      ["(a+)?b", "(a+)?b"],
      ["[a-z]+/[0-9]{1,3}", "[a-z]+/[0-9]{1,3}"],
      ["\\/x\\-y\\{", "\\/x\\-y\\{"],
      ["a*?b", "a*?b"],
      ["\\d\\D\\w\\W", "[0-9][^0-9][0-9A-Za-z_][^0-9A-Za-z_]"],
      ["\\s+\\S", "[ \\t\\n\\r\\f\\v]+[^ \\t\\n\\r\\f\\v]"],
      ["[\\d\\]]+", "[0-9\\]]+"],
      ["[^\\w.]", "[^0-9A-Za-z_.]"],
      ["(?:x|y)z", "(?:x|y)z"],
    ];
    for (const [source, rewritten] of cases) {
      expect([source, toPortableRegex(source)]).toEqual([source, { ok: true, value: rewritten }]);
    }
    // the rewrite is canonical: rewriting again changes nothing
    for (const [, rewritten] of cases) expect(toPortableRegex(rewritten)).toEqual({ ok: true, value: rewritten });
  });
});

describe("patterns: the subset RE2 and PostgreSQL read alike, within a size budget (ADR 0007)", () => {
  it("refuses a quantifier with nothing to repeat (RE2 takes ^*, PostgreSQL does not) and non-ASCII escapes", () => {
    for (const source of ["^*", "$?", "*a", "a|*", "(*)", "a**", "a+*", "a{2}{3}", "a*??", "(?:)?+"]) {
      const f = failure(`http-path=${encodeURIComponent(source)}`);
      expect([source, f.parameter, f.error]).toEqual([source, "http-path", expect.stringMatching(/with nothing before it to repeat|repeats a group/)]);
    }
    expect(failure(`http-path=${encodeURIComponent("x\\é")}`).error).toMatch(/escapes "é"; only ASCII punctuation can be escaped/);
    expect(failure(`http-path=${encodeURIComponent("a)")}`).error).toMatch(/is not a valid regular expression/);
    // lazy quantifiers, an optional group and a group repeated whose body only has "?" stay accepted
    for (const source of ["a*?b", "a{2}?", "a+?", "(a+)?b", "(a?)+", "()*"]) expect(toPortableRegex(source)).toEqual({ ok: true, value: source });
  });

  it("refuses a pattern too large to match quickly before compiling it", () => {
    const huge = "[a-z]{255}".repeat(100); // 1000 characters; ~25k RE2 instructions, ~2 s to compile
    const t0 = performance.now();
    const r = toPortableRegex(huge);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^is too large to match quickly \(about \d+ steps per character; at most 1000/) });
    expect(toPortableRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").ok).toBe(true);
    expect(toPortableRegex(".{0,255}").ok).toBe(true);
  });

  it("keeps all the patterns of one request within MAX_PATTERN_SIZE, naming the parameter that overflows", () => {
    const fqdns = Array.from({ length: 40 }, (_, i) => `svc-${i}.namespace-${i}.svc.cluster.local`);
    expect(parse(fqdns.slice(0, 15).map((f) => `fqdn=${f}`).join("&")).filter.fqdn).toHaveLength(15);
    const f = failure(`label=app&${fqdns.map((v) => `to-fqdn=${v}`).join("&")}`);
    expect(f.parameter).toBe("to-fqdn");
    expect(f.error).toMatch(new RegExp(`^to-fqdn: the patterns of this request are too large to match quickly .*at most ${MAX_PATTERN_SIZE}`));
    const paths = Array.from({ length: 8 }, (_, i) => `http-path=${encodeURIComponent(`^/api/v${i}/[a-z]{1,64}$`)}`);
    expect(failure(paths.join("&")).parameter).toBe("http-path");
    expect(failure(`node-name=${"*a".repeat(400)}`).parameter).toBe("node-name");
    const selector = (n: number) => encodeURIComponent(`k8s:app in (${Array.from({ length: n }, (_, i) => `frontend-${i}`).join(",")})`);
    expect(parse(`label=${selector(60)}`).filter.label).toHaveLength(1);
    expect(failure(`label=${selector(60)}&from-label=${selector(30)}`).parameter).toBe("from-label");
  });

  it("fast-check: every accepted regex is also valid JavaScript (nothing newly accepted) and compiles in RE2", () => {
    const piece = fc.constantFrom("a", "b", ".", "\\d", "\\.", "[^a]", "[a-]", "(", ")", "(?:", "|", "*", "+", "?", "{2}", "{1,3}", "{2,}", "{", "}", "^", "$", "é");
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (pieces) => {
        const r = toPortableRegex(pieces.join(""));
        if (!r.ok) return;
        // JavaScript's parser defined the accepted set before RE2 replaced RegExp: parsed, never run
        expect(() => new RegExp(r.value, "s")).not.toThrow();
        expect(() => RE2JS.compile(r.value, RE2JS.DOTALL)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});

describe("round trip", () => {
  const everything = [
    "since=2021-06-16T16:52:13.136834446Z",
    "until=2h",
    "last=50",
    "verdict=dropped,99",
    "namespace=bookinfo",
    "from-namespace=kube-system",
    "to-namespace=shop",
    "pod=reviews,bookinfo/ratings,kube-system/",
    "from-pod=a/b",
    "to-pod=c",
    `label=${encodeURIComponent("app in (reviews,ratings),!canary,k8s:tier!=db")}`,
    "label=reserved:world",
    `from-label=${encodeURIComponent("app notin (a,b)")}`,
    "to-label=app=",
    "ip=10.0.0.0/8,fd00::/8",
    "from-ip=10.0.2.16",
    "to-ip=2001:db8::1",
    "port=53",
    "from-port=0",
    "to-port=9080",
    "protocol=icmp,tcp",
    "type=trace:to-stack,drop:133,l7,sock,4:99,agent",
    "drop-reason-desc=POLICY_DENIED,250",
    "http-status=404,5%2B,20%2B",
    "http-method=get",
    `http-path=${encodeURIComponent("^/a{1,3},b$")}`,
    "fqdn=*.example.com",
    "from-fqdn=api.github.com.",
    "to-fqdn=*",
    "node-name=kind-*,c/",
    "traffic-direction=egress,0",
    "cluster=kind-kind",
    "uuid=0c6b1e4e-2f9c-4d4b-9a53-3c4f5b6a7d8e",
    "limit=500",
    `cursor=${CURSOR}.3`,
    "format=csv",
  ].join("&");

  it("parse(toSearchParams(q)) equals q for a query using every parameter", () => {
    const q = parse(everything);
    expect(Object.keys(q.filter).length).toBe(29); // every FlowFilterSpec field is set
    const again = parse(flowQueryToSearchParams(q));
    expect(again).toEqual(q);
    expect(flowQueryToSearchParams(again).toString()).toBe(flowQueryToSearchParams(q).toString());
  });

  it("writes canonical, readable parameters: one per value, absolute times, defaults left out", () => {
    const params = flowQueryToSearchParams(parse("verdict=dropped,FORWARDED&label=app=web,tier=db&since=1h&protocol=icmp&type=trace:0"));
    expect([...params]).toEqual([
      ["since", "2026-11-23T17:00:00Z"],
      ["verdict", "DROPPED"],
      ["verdict", "FORWARDED"],
      ["label", "app=web,tier=db"],
      ["protocol", "icmpv4"],
      ["protocol", "icmpv6"],
      ["type", "trace:to-endpoint"],
    ]);
    expect(flowQueryToSearchParams(parse("")).toString()).toBe("");
  });

  it("round-trips many single-parameter queries", () => {
    for (const qs of everything.split("&")) {
      const q = parse(qs);
      expect([qs, parse(flowQueryToSearchParams(q))]).toEqual([qs, q]);
    }
  });

  it("refuses to write an HTTP status range that has no spelling", () => {
    expect(() => flowQueryToSearchParams({ filter: { httpStatus: [{ min: 400, max: 450 }] }, limit: 100, format: "json" })).toThrow(
      /no parameter spelling/,
    );
  });
});

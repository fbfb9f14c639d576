/**
 * The Observer gRPC API on the real runtime (store + ingest from a real test relay + the gRPC
 * server getRuntime() starts), driven by a grpc-js client with the generated messages, requests
 * built the way the hubble CLI builds them: every FlowFilter field, whitelist/blacklist,
 * since/until edges, first/last, lost events and gaps in place, bad requests, and the same answer
 * as /api/flows for the same filter.
 */
import { create, fromBinary, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { FlowFilterSchema, IPVersion, TrafficDirection, Verdict, type FlowFilter } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { responseJson } from "@/server/flow-codec/flow-json";
import { FILTER_WINDOW, TIMELINE } from "../fixtures/api-dataset";
import { call, qs, useApiRuntime } from "../fixtures/api-harness";
import { responseOf } from "../fixtures/flow-builder";
import { storeSkipReason, storeUnderTest } from "../fixtures/test-db";
import { grpcError, observerClient, ts, type FlowsRequestInit, type ObserverTestClient } from "../fixtures/grpc-client";
import { GRPC_FLOWS, GRPC_NAMES, grpcName, nameOfKey, windowAt, windowLostEvents } from "../fixtures/grpc-dataset";
import { compileFilterSet } from "@/server/domain/flows/flow-match";
import { filterSetOf } from "@/server/hubble/grpc-filter";

type FilterInit = MessageInitShape<typeof FlowFilterSchema>;

/** PostgreSQL here; the same file runs on Citus in the citus project (COPY reads, keyset pages) */
const KIND = storeUnderTest("postgres");
const SKIP = storeSkipReason(KIND);

describe.skipIf(SKIP !== null)(`Observer gRPC history on ${KIND}${SKIP ? ` — skipped: ${SKIP}` : ""}`, () => {
  const env = useApiRuntime(KIND, ({ publish }) => {
    publish(...[GRPC_FLOWS, TIMELINE].flatMap((g) => Object.values(g).map(responseOf)));
    publish(...windowLostEvents());
  });

  let client: ObserverTestClient;
  beforeAll(async () => {
    expect(env.rt.grpc.state).toBe("serving");
    if (env.rt.grpc.state !== "serving") return;
    client = observerClient(env.rt.grpc.address);
    // a gap the ingest would record after an outage, at t = 15 s of the window
    await env.rt.db.query(`INSERT INTO gaps (node_name, from_ts, to_ts, reason) VALUES ('kind-worker2', $1::bigint, $2::bigint, 'test gap')`, [
      windowAt(15).toString(),
      windowAt(16).toString(),
    ]);
  });
  afterAll(() => client?.close());

  const windowReq = (req: FlowsRequestInit = {}): FlowsRequestInit => ({ since: ts(FILTER_WINDOW.since), until: ts(FILTER_WINDOW.until), ...req });
  const flowsOnly = (rs: GetFlowsResponse[]) => rs.filter((r) => r.responseTypes.case === "flow");
  const names = (rs: GetFlowsResponse[]) => flowsOnly(rs).map((r) => grpcName(r.responseTypes.value as never));
  const sorted = (xs: string[]) => [...xs].sort();

  async function grpcNames(whitelist: FilterInit[], blacklist: FilterInit[] = []): Promise<string[]> {
    return sorted(names(await client.flows(windowReq({ whitelist, blacklist }))));
  }

  /** /api/flows for the window, newest first, as GetFlowsResponse JSON */
  async function apiResponses(params: Record<string, string | string[]>): Promise<unknown[]> {
    const res = await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, limit: "1000", ...params })}`);
    const body = (await res.json()) as FlowPage;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.flows.map((f) => ({ flow: f.flow, node_name: f.node_name, time: f.time }));
  }

  const DROPS = ["denied", "stale", "drop-noreply"];
  const HTTP = ["http-ok", "http-503", "http-404"];

  /** [what, whitelist, blacklist, expected names] — the hubble CLI's filters, each FlowFilter field */
  const FIELD_CASES: [string, FilterInit[], FilterInit[], string[]][] = [
    ["uuid", [{ uuid: [GRPC_FLOWS.fwd.uuid] }], [], ["fwd"]],
    ["source_ip CIDR", [{ sourceIp: ["10.244.4.0/24"] }], [], ["stale", "no-uuid"]],
    ["destination_ip", [{ destinationIp: ["1.1.1.1"] }], [], ["stale"]],
    ["source_pod ns/prefix", [{ sourcePod: ["shop/api"] }], [], ["dns", ...HTTP, "world", "reply"]],
    ["destination_pod ns/", [{ destinationPod: ["batch/"] }], [], ["no-uuid"]],
    ["source_pod without namespace = no namespace", [{ sourcePod: ["frontend"] }], [], []],
    ["source_fqdn", [{ sourceFqdn: ["*.github.com"] }], [], []],
    ["destination_fqdn", [{ destinationFqdn: ["*.github.com"] }], [], ["world"]],
    ["source_label", [{ sourceLabel: ["k8s:tier=backend"] }], [], ["dns", ...HTTP, "world"]],
    ["destination_label", [{ destinationLabel: ["tier in (db)"] }], [], ["denied"]],
    ["source_service", [{ sourceService: ["shop/front"] }], [], ["svc"]],
    ["destination_service", [{ destinationService: ["shop/api-svc"] }], [], ["svc"]],
    ["source_workload", [{ sourceWorkload: [{ name: "frontend" }] }], [], ["fwd", "denied", "svc", "dns-org"]],
    ["destination_workload kind", [{ destinationWorkload: [{ kind: "StatefulSet" }] }], [], ["svc"]],
    ["traffic_direction", [{ trafficDirection: [TrafficDirection.EGRESS] }], [], ["stale", "dns", ...HTTP, "world", "dns-org"]],
    ["verdict", [{ verdict: [Verdict.DROPPED] }], [], DROPS],
    ["event_type", [{ eventType: [{ type: 129 }] }], [], ["dns", ...HTTP, "dns-org"]],
    ["event_type sub_type", [{ eventType: [{ type: 4, matchSubType: true, subType: 3 }] }], [], ["world"]],
    ["http_status_code", [{ httpStatusCode: ["5+"] }], [], ["http-503"]],
    ["protocol", [{ protocol: ["icmp"] }], [], ["icmp"]],
    ["source_port", [{ sourcePort: ["8080"] }], [], [...HTTP, "reply"]],
    ["destination_port", [{ destinationPort: ["53"] }], [], ["dns", "dns-org"]],
    ["reply true", [{ reply: [true] }], [], [...HTTP, "reply"]],
    ["reply false: a drop without is_reply counts as not a reply", [{ reply: [false], sourceIdentity: [2] }], [], ["drop-noreply"]],
    ["reply: a forwarded flow without is_reply matches neither", [{ reply: [false, true], sourcePod: ["ops/"] }], [], []],
    ["reply: ... but is there", [{ sourcePod: ["ops/"] }], [], ["fwd-noreply"]],
    ["dns_query regexp", [{ dnsQuery: ["example\\.org\\.$"] }], [], ["dns-org"]],
    ["source_identity", [{ sourceIdentity: [1234] }], [], ["svc"]],
    ["destination_identity", [{ destinationIdentity: [1234] }], [], ["reply"]],
    ["http_method", [{ httpMethod: ["post"] }], [], ["http-503"]],
    ["http_path", [{ httpPath: ["^/v1/orders/[0-9]+$"] }], [], ["http-ok"]],
    ["tcp_flags SYN", [{ tcpFlags: [{ SYN: true }] }], [], ["denied", "stale", "svc", "drop-noreply"]],
    ["tcp_flags SYN+ACK", [{ tcpFlags: [{ SYN: true, ACK: true }] }], [], ["svc"]],
    ["node_name", [{ nodeName: ["east/*"] }], [], ["east"]],
    ["ip_version", [{ ipVersion: [IPVersion.IPv6] }], [], ["v6"]],
    ["trace_id", [{ traceId: ["00f067aa0ba902b7"] }], [], ["reply"]],
    // AND within a filter, OR across filters, blacklist removes (hubble observe --namespace shop --verdict DROPPED)
    ["AND within", [{ sourcePod: ["shop/"], verdict: [Verdict.DROPPED] }], [], ["denied"]],
    ["OR across (CLI --namespace)", [{ sourcePod: ["batch/"] }, { destinationPod: ["batch/"] }], [], ["stale", "no-uuid"]],
    ["blacklist only", [], [{ sourcePod: ["shop/"] }, { destinationPod: ["shop/"] }], ["stale", "icmp", "east", "v6", "no-uuid", "tie-a", "tie-b", "tie-c", "fwd-noreply"]],
    ["whitelist minus blacklist", [{ verdict: [Verdict.DROPPED] }], [{ destinationPod: ["shop/payments"] }], ["stale", "drop-noreply"]],
    ["values OR within a field", [{ httpStatusCode: ["200", "404"] }], [], ["http-ok", "http-404"]],
  ];

  describe("GetFlows: every FlowFilter field", () => {
    it.each(FIELD_CASES)("%s", async (_what, whitelist, blacklist, expected) => {
      expect(await grpcNames(whitelist, blacklist)).toEqual(sorted(expected));
    });

    // the other side of the one matcher: what live flows (follow, /api/live) are filtered with
    it.each(FIELD_CASES)("%s: the in-memory matcher agrees with SQL", async (_what, whitelist, blacklist, expected) => {
      const res = await call(flowsGET, `/api/flows?${qs({ ...FILTER_WINDOW, limit: "1000" })}`);
      const items = ((await res.json()) as FlowPage).flows;
      const match = compileFilterSet(filterSetOf({ whitelist: whitelist.map((f) => create(FlowFilterSchema, f)), blacklist: blacklist.map((f) => create(FlowFilterSchema, f)) }));
      expect(sorted(items.filter(match).map((i) => nameOfKey(i.key)))).toEqual(sorted(expected));
    });

    it("no filter: every flow of the window, oldest first, with the lost events and the gap in their place", async () => {
      const rs = await client.flows(windowReq());
      expect(sorted(names(rs))).toEqual(sorted(GRPC_NAMES));
      const kinds = rs.map((r) => (r.responseTypes.case === "flow" ? grpcName(r.responseTypes.value) : r.responseTypes.case));
      // lost events at 5.5 s and 30 s, the gap at 15 s (a LostEvent with first/last = the gap)
      expect(kinds.indexOf("lostEvents")).toBe(kinds.indexOf("http-ok") + 1);
      const lost = rs.filter((r) => r.responseTypes.case === "lostEvents");
      expect(lost).toHaveLength(3);
      const gap = lost.find((r) => r.nodeName === "kind-worker2")!;
      expect(gap.responseTypes.value).toMatchObject({ numEventsLost: 0n });
      const times = rs.map((r) => r.time!.seconds * 1_000_000_000n + BigInt(r.time!.nanos));
      expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(times);
      expect(lost.map((r) => r.time!.seconds * 1_000_000_000n + BigInt(r.time!.nanos))).toEqual([windowAt(5.5), windowAt(15), windowAt(30)]);
    });
  });

  /** [FlowFilter whitelist, the same filter as /api/flows parameters] */
  const SAME_AS_API: [FilterInit[], Record<string, string | string[]>][] = [
    [[{ verdict: [Verdict.DROPPED] }], { verdict: "DROPPED" }],
    [[{ sourcePod: ["shop/"] }], { "from-namespace": "shop" }],
    [[{ destinationPod: ["shop/api"] }], { "to-pod": "shop/api" }],
    [[{ sourceIp: ["10.244.0.0/16"], destinationPort: ["8080"] }], { "from-ip": "10.244.0.0/16", "to-port": "8080" }],
    [[{ httpStatusCode: ["4+"], httpMethod: ["GET"] }], { "http-status": "4+", "http-method": "GET" }],
    [[{ destinationFqdn: ["api.github.com"] }], { "to-fqdn": "api.github.com" }],
    [[{ nodeName: ["kind-worker2"] }], { "node-name": "kind-worker2" }],
    [[{ protocol: ["dns"] }], { protocol: "dns" }],
    [[{ eventType: [{ type: 1 }] }], { type: "drop" }],
    [[{ sourceLabel: ["k8s:app=api"] }], { "from-label": "k8s:app=api" }],
    [[{ trafficDirection: [TrafficDirection.INGRESS] }], { "traffic-direction": "ingress" }],
    [[], {}],
  ];

  describe("GetFlows returns what /api/flows returns", () => {
    it.each(SAME_AS_API)("%j ≡ %j", async (whitelist, params) => {
      const rs = flowsOnly(await client.flows(windowReq({ whitelist })));
      const api = await apiResponses(params);
      expect(rs.length).toBeGreaterThan(0);
      // the same flows, in hubble's JSON, /api/flows newest first and GetFlows oldest first
      expect(rs.map(responseJson)).toEqual(api.reverse());
    });

    it("sends the stored bytes: a flow decodes to what the relay sent", async () => {
      const bytes = await client.flowBytes(windowReq({ whitelist: [{ uuid: [GRPC_FLOWS.svc.uuid] }] }));
      // filters apply to flows; lost events are always sent
      const flows = bytes.map((b) => fromBinary(GetFlowsResponseSchema, b)).filter((r) => r.responseTypes.case === "flow");
      expect(flows).toHaveLength(1);
      const got = flows[0];
      expect(toJson(GetFlowsResponseSchema, got)).toEqual(toJson(GetFlowsResponseSchema, responseOf(GRPC_FLOWS.svc)));
    });
  });

  describe("GetFlows: since/until, first/last", () => {
    const t = (s: number) => new Date(Number(windowAt(s) / 1_000_000n)).toISOString();

    it("since is inclusive, until exclusive", async () => {
      const rs = await client.flows({ since: ts(t(2)), until: ts(t(4)) });
      expect(names(rs)).toEqual(["denied", "stale"]);
      const exact = await client.flows({ since: ts(t(13)), until: ts(t(13)) });
      expect(exact).toEqual([]);
    });

    it("number without first: the newest N of the window, oldest first", async () => {
      const rs = await client.flows(windowReq({ number: 3n, whitelist: [{ verdict: [Verdict.FORWARDED] }] }));
      expect(names(rs)).toEqual(["reply", "fwd-noreply", "dns-org"]); // t 21, 23, 24
    });

    it("number with first: the oldest N", async () => {
      const rs = await client.flows(windowReq({ number: 2n, first: true }));
      expect(names(rs)).toEqual(["fwd", "denied"]);
      // no lost event after the last flow sent
      expect(rs.every((r) => r.responseTypes.case === "flow")).toBe(true);
    });

    it("ties at one nanosecond keep their order across a page boundary", async () => {
      const rs = await client.flows(windowReq({ whitelist: [{ sourcePod: ["ties/"] }] }));
      const api = (await apiResponses({ "from-namespace": "ties" })).reverse();
      expect(flowsOnly(rs).map(responseJson)).toEqual(api);
    });

    it("a number past 2^53 is 'all'", async () => {
      const rs = await client.flows(windowReq({ number: 2n ** 64n - 1n }));
      expect(flowsOnly(rs)).toHaveLength(GRPC_NAMES.length);
    });
  });

  describe("GetFlows: bad requests are INVALID_ARGUMENT naming the field", () => {
    const cases: [string, FlowsRequestInit, RegExp][] = [
      ["until before since", { since: ts("2025-06-01T01:00:00Z"), until: ts("2025-06-01T00:00:00Z") }, /^until: /],
      ["first with follow", { first: true, follow: true, number: 1n }, /^first: cannot be combined with follow/],
      ["unknown verdict", { whitelist: [{ verdict: [99 as Verdict] }] }, /^whitelist\[0\]\.verdict: 99 is not a flow\.Verdict/],
      ["unknown traffic direction", { blacklist: [{}, { trafficDirection: [7 as TrafficDirection] }] }, /^blacklist\[1\]\.traffic_direction: /],
      ["malformed regexp", { whitelist: [{ httpPath: ["(unclosed"] }] }, /^whitelist\[0\]\.http_path: /],
      ["malformed dns regexp", { whitelist: [{ dnsQuery: ["a**"] }] }, /^whitelist\[0\]\.dns_query: /],
      ["regexp with lookaround", { whitelist: [{ httpPath: ["(?=a)b"] }] }, /^whitelist\[0\]\.http_path: /],
      ["patterns over the request's budget", { whitelist: [{ dnsQuery: ["[a-z]{60}x"] }, { dnsQuery: Array.from({ length: 30 }, (_, i) => `[a-z]{60}${i}`) }] }, /^whitelist: .*too large/],
      ["bad port", { whitelist: [{ sourcePort: ["http"] }] }, /^whitelist\[0\]\.source_port: /],
      ["bad CIDR", { whitelist: [{ sourceIp: ["10.0.0.0/33"] }] }, /^whitelist\[0\]\.source_ip: /],
      ["bad label selector", { whitelist: [{ sourceLabel: ["app in (a"] }] }, /^whitelist\[0\]\.source_label: /],
      ["bad status", { whitelist: [{ httpStatusCode: ["6xx"] }] }, /^whitelist\[0\]\.http_status_code: /],
      ["bad protocol", { whitelist: [{ protocol: ["quic"] }] }, /^whitelist\[0\]\.protocol: /],
      ["bad since nanos", { since: { seconds: 1n, nanos: 2_000_000_000 } }, /^since: nanos/],
    ];
    it.each(cases)("%s", async (_what, req, message) => {
      const err = await grpcError(client.flows(req));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    });

    it("a FlowFilter field this server does not know is refused, not ignored", async () => {
      const f: FlowFilter = create(FlowFilterSchema, {});
      f.$unknown = [{ no: 99, wireType: 2, data: new Uint8Array([1, 0x41]) }];
      const err = await grpcError(client.flows({ whitelist: [f] }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/whitelist\[0\]\.#99/);
    });
  });
});

/**
 * The Observer server on real gRPC (loopback): backlog queries on recorded flows from two nodes,
 * the ring, node/namespace/status RPCs, filters, agent events and peers. Streaming behaviour
 * (follow, backpressure, kill, stop) is in relay-server-streaming.test.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { clone, create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentEventType, FlowSchema, LostEventSource, Verdict } from "@/proto/gen/flow/flow_pb";
import { GetAgentEventsResponseSchema, GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { ChangeNotificationType, type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { loadRecordedFiles, recordedFlowsDir } from "@/server/demo/recorded-flows";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";
import { connect, flowsOnly, nowNs, timeOf, tinyFlow, until, type TestClient } from "./relay-server-helpers";

const NODES = ["kind-worker", "kind-worker2"];

/** The recorded TCP sample (400 flows, one node), dealt alternately onto two nodes. */
function recordedTwoNodes(): GetFlowsResponse[] {
  const dir = recordedFlowsDir();
  expect(fs.existsSync(path.join(dir, "basic-sample-400-tcp-flows.json")), `recorded flows in ${dir}`).toBe(true);
  const file = loadRecordedFiles(dir, () => {}).find((f) => f.name === "basic-sample-400-tcp-flows.json")!;
  return file.responses.map((r, i) => {
    const c = clone(GetFlowsResponseSchema, r);
    c.nodeName = NODES[i % 2];
    if (c.responseTypes.case === "flow") c.responseTypes.value.nodeName = NODES[i % 2];
    return c;
  });
}

const key = (r: GetFlowsResponse) => `${r.nodeName}@${timeOf(r)}`;
const flowBytes = (r: GetFlowsResponse) =>
  Buffer.from(toBinary(FlowSchema, r.responseTypes.case === "flow" ? r.responseTypes.value : create(FlowSchema))).toString("hex");

function expectSorted(list: GetFlowsResponse[]): void {
  for (let i = 1; i < list.length; i++) expect(timeOf(list[i]) >= timeOf(list[i - 1]), `sorted at ${i}`).toBe(true);
}

describe("relay server: backlog queries on recorded flows from two nodes", () => {
  let relay: RelayServer;
  let client: TestClient;
  let all: GetFlowsResponse[];
  const perNode = (node: string) => all.filter((r) => r.nodeName === node);
  const sortedByTime = (list: GetFlowsResponse[]) => [...list].sort((a, b) => (timeOf(a) < timeOf(b) ? -1 : timeOf(a) > timeOf(b) ? 1 : 0));

  beforeAll(async () => {
    relay = await startRelayServer();
    all = recordedTwoNodes();
    // one node after the other: the server, not the publish order, must sort by time
    relay.publishMany(perNode(NODES[1]));
    relay.publishMany(perNode(NODES[0]));
    client = connect(relay.address);
  });
  afterAll(async () => {
    client?.close();
    await relay?.stop();
  });

  it("number: the last N of each node, merged and sorted by time, announced by node_status", async () => {
    const got = await client.flows({ number: 30n });
    expect(got[0].responseTypes.case).toBe("nodeStatus");
    const announce = got[0].responseTypes.value as { stateChange: NodeState; nodeNames: string[] };
    expect(announce.stateChange).toBe(NodeState.NODE_CONNECTED);
    expect(announce.nodeNames).toEqual(NODES);

    const flows = flowsOnly(got);
    expect(flows).toHaveLength(60);
    expectSorted(flows);
    const want = sortedByTime([...perNode(NODES[0]).slice(-30), ...perNode(NODES[1]).slice(-30)]);
    expect(flows.map(key)).toEqual(want.map(key));
    // what was published is what is served, byte for byte
    expect(flows.map(flowBytes)).toEqual(want.map(flowBytes));
  });

  it("first: the earliest N of each node", async () => {
    const flows = flowsOnly(await client.flows({ number: 5n, first: true }));
    const want = sortedByTime([...perNode(NODES[0]).slice(0, 5), ...perNode(NODES[1]).slice(0, 5)]);
    expect(flows.map(key)).toEqual(want.map(key));
  });

  it("since is inclusive, until is inclusive, both across nodes", async () => {
    const sorted = sortedByTime(all);
    const since = sorted[100].time!;
    const until = sorted[180].time!;
    const flows = flowsOnly(await client.flows({ since, until }));
    const want = sorted.filter((r) => timeOf(r) >= timeOf(sorted[100]) && timeOf(r) <= timeOf(sorted[180]));
    expect(flows.map(key)).toEqual(want.map(key));
    expect(flows[0].nodeName).toBe(sorted[100].nodeName);
  });

  it("number 0 without follow returns the whole ring", async () => {
    expect(flowsOnly(await client.flows({}))).toHaveLength(all.length);
  });

  it("first together with follow is rejected like Hubble does", async () => {
    await expect(client.flows({ first: true, follow: true })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it("filters: whitelist by node and pod prefix, blacklist, unsupported fields fail loudly", async () => {
    const byNode = flowsOnly(await client.flows({ whitelist: [{ nodeName: ["kind-worker2"] }] }));
    expect(byNode).toHaveLength(perNode("kind-worker2").length);

    const pod = "bookinfo/productpage";
    const fromPod = flowsOnly(await client.flows({ whitelist: [{ sourcePod: [pod] }] }));
    const want = all.filter((r) => r.responseTypes.case === "flow" && r.responseTypes.value.source?.podName.startsWith("productpage"));
    expect(fromPod.length).toBeGreaterThan(0);
    expect(fromPod).toHaveLength(want.length);

    const notFromPod = flowsOnly(await client.flows({ blacklist: [{ sourcePod: [pod] }] }));
    expect(notFromPod).toHaveLength(all.length - want.length);

    await expect(client.flows({ whitelist: [{ sourceLabel: ["app=web"] }] })).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it("GetNamespaces lists the namespaces seen in flows", async () => {
    const res = await client.getNamespaces();
    expect(res.namespaces.map((n) => n.namespace)).toEqual(expect.arrayContaining(["bookinfo"]));
    expect(res.namespaces.every((n) => n.cluster !== "")).toBe(true);
  });
});

describe("relay server: rings, nodes and status", () => {
  let relay: RelayServer;
  let client: TestClient;
  beforeAll(async () => {
    relay = await startRelayServer({ ringSize: 100, version: "1.19.1-test" });
    client = connect(relay.address);
  });
  afterAll(async () => {
    client?.close();
    await relay?.stop();
  });

  it("a full ring overwrites its oldest flows: they cannot be fetched any more", async () => {
    const base = nowNs() - 30_000_000_000n;
    const published = Array.from({ length: 250 }, (_, i) => tinyFlow("ring-node", base + BigInt(i) * 1_000_000n));
    relay.publishMany(published);
    relay.publish(tinyFlow("other-node", base + 10_000_000_000n));

    const nodes = await client.getNodes();
    const ring = nodes.nodes.find((n) => n.name === "ring-node")!;
    expect(ring.numFlows).toBe(100n);
    expect(ring.maxFlows).toBe(100n);
    expect(ring.numFlows).toBe(ring.maxFlows);
    expect(ring.seenFlows).toBe(250n);
    expect(ring.state).toBe(NodeState.NODE_CONNECTED);
    expect(ring.version).toBe("1.19.1-test");

    const flows = flowsOnly(await client.flows({ whitelist: [{ nodeName: ["ring-node"] }] }));
    expect(flows.map(timeOf)).toEqual(published.slice(150).map(timeOf));
    // a since before the oldest kept flow silently starts at the oldest one: the client sees the gap
    const since = flowsOnly(await client.flows({ since: nsToTimestamp(base), whitelist: [{ nodeName: ["ring-node"] }] }));
    expect(timeOf(since[0])).toBe(timeOf(published[150]));

    const st = await client.serverStatus();
    expect(st.numFlows).toBe(101n);
    expect(st.maxFlows).toBe(200n);
    expect(st.seenFlows).toBe(251n);
    expect(st.numConnectedNodes).toBe(2);
    expect(st.numUnavailableNodes).toBe(0);
    expect(st.version).toBe("1.19.1-test");
    expect(st.uptimeNs > 0n).toBe(true);
    expect(st.flowsRate).toBeCloseTo(101 / 60, 5);
  });

  it("setNodes and node_status events change node state; GetNodes and ServerStatus show it", async () => {
    relay.setNodes([{ name: "kind-worker", address: "172.18.0.3:4244" }, { name: "kind-worker2", state: NodeState.NODE_CONNECTED }]);
    relay.publish(
      create(GetFlowsResponseSchema, {
        time: nsToTimestamp(nowNs()),
        responseTypes: { case: "nodeStatus", value: { stateChange: NodeState.NODE_UNAVAILABLE, nodeNames: ["kind-worker2"], message: "connection refused" } },
      }),
    );
    const nodes = await client.getNodes();
    expect(nodes.nodes.find((n) => n.name === "kind-worker")).toMatchObject({ address: "172.18.0.3:4244", state: NodeState.NODE_CONNECTED, maxFlows: 100n });
    expect(nodes.nodes.find((n) => n.name === "kind-worker2")?.state).toBe(NodeState.NODE_UNAVAILABLE);
    const st = await client.serverStatus();
    expect(st.unavailableNodes).toEqual(["kind-worker2"]);
    expect(st.numUnavailableNodes).toBe(1);

    // a new stream announces the unavailable node separately, like Relay
    const head = (await client.flows({ number: 1n })).filter((r) => r.responseTypes.case === "nodeStatus");
    const states = head.map((r) => (r.responseTypes.case === "nodeStatus" ? [r.responseTypes.value.stateChange, r.responseTypes.value.nodeNames] : []));
    expect(states).toContainEqual([NodeState.NODE_UNAVAILABLE, ["kind-worker2"]]);
  });

  it("GetAgentEvents serves published agent events with number / since / follow", async () => {
    const t = nowNs();
    const ev = (i: number) =>
      create(GetAgentEventsResponseSchema, {
        nodeName: "kind-worker",
        time: nsToTimestamp(t + BigInt(i) * 1_000_000n),
        agentEvent: {
          type: AgentEventType.POLICY_UPDATED,
          notification: { case: "policyUpdate", value: { labels: ["k8s:io.cilium.k8s.policy.name=backend-to-db"], revision: BigInt(10 + i), ruleCount: 1n } },
        },
      });
    for (let i = 0; i < 5; i++) relay.publishAgentEvent(ev(i));
    const last2 = await client.agentEvents({ number: 2n });
    expect(last2.map((e) => (e.agentEvent?.notification.case === "policyUpdate" ? e.agentEvent.notification.value.revision : 0n))).toEqual([13n, 14n]);
    const since = await client.agentEvents({ since: nsToTimestamp(t + 3_000_000n) });
    expect(since).toHaveLength(2);
  });

  it("peer.Notify lists the nodes and reports new ones", async () => {
    const stream = client.notify();
    const got: ChangeNotification[] = [];
    stream.on("data", (n: ChangeNotification) => got.push(n));
    stream.on("error", () => {});
    await until(() => got.some((n) => n.name === "kind-worker"), "initial peers");
    expect(got.find((n) => n.name === "kind-worker")).toMatchObject({ type: ChangeNotificationType.PEER_ADDED, address: "172.18.0.3:4244" });
    relay.publish(tinyFlow("brand-new-node", nowNs()));
    await until(() => got.some((n) => n.name === "brand-new-node"), "the new node");
    expect(got.at(-1)?.type).toBe(ChangeNotificationType.PEER_ADDED);
    stream.cancel();
  });

  it("lost_events are kept for since-queries, bypass filters and do not count towards number", async () => {
    const t = nowNs() + 5_000_000_000n;
    relay.publish(tinyFlow("lossy", t));
    relay.publish(
      create(GetFlowsResponseSchema, {
        nodeName: "lossy",
        time: nsToTimestamp(t + 1n),
        responseTypes: { case: "lostEvents", value: { source: LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: 42n, cpu: 1 } },
      }),
    );
    relay.publish(tinyFlow("lossy", t + 2n, { verdict: Verdict.DROPPED }));
    const got = await client.flows({ since: nsToTimestamp(t), whitelist: [{ verdict: [Verdict.DROPPED] }] });
    const cases = got.filter((r) => r.responseTypes.case !== "nodeStatus").map((r) => r.responseTypes.case);
    expect(cases).toEqual(["lostEvents", "flow"]);
    // "last 2" covers the time of the lost event, so it comes along without counting as one of the 2
    const last = await client.flows({ number: 2n, whitelist: [{ nodeName: ["lossy"] }] });
    expect(last.filter((r) => r.responseTypes.case !== "nodeStatus").map((r) => r.responseTypes.case)).toEqual(["flow", "lostEvents", "flow"]);
    // "last 1" starts after it
    const last1 = await client.flows({ number: 1n, whitelist: [{ nodeName: ["lossy"] }] });
    expect(last1.filter((r) => r.responseTypes.case !== "nodeStatus").map((r) => r.responseTypes.case)).toEqual(["flow"]);
  });
});

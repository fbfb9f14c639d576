/**
 * The built-in demo cluster served over real gRPC: back-fill available at once, live traffic
 * following the clock, policy changes announced as agent events, clean stop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentEventType } from "@/proto/gen/flow/flow_pb";
import type { GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { startDemoRelay, type DemoRelay } from "@/server/demo/demo-relay";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";
import { connect, flowsOnly, nowNs, timeOf, until, type TestClient } from "./relay-server-helpers";

describe("demo relay", () => {
  let demo: DemoRelay;
  let client: TestClient;
  const logs: string[] = [];
  const startedNs = nowNs();

  beforeAll(async () => {
    demo = await startDemoRelay({ port: 0, rate: 50, seed: 7, backfillMs: 60_000, policyPeriodMs: 20_000, tickMs: 50, log: (m) => logs.push(m) });
    await demo.ready;
    client = connect(demo.address);
  });
  afterAll(async () => {
    client?.close();
    await demo?.stop();
  });

  it("serves the back-filled minute at once, sorted, from the kind nodes and the recorded ones", async () => {
    expect(demo.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const flows = flowsOnly(await client.flows({ since: nsToTimestamp(startedNs - 70_000_000_000n) }));
    expect(flows.length).toBeGreaterThan(2000);
    expect(timeOf(flows[0]) < startedNs - 50_000_000_000n).toBe(true);
    for (let i = 1; i < flows.length; i++) expect(timeOf(flows[i]) >= timeOf(flows[i - 1])).toBe(true);
    const nodes = new Set(flows.map((f) => f.nodeName));
    for (const n of ["kind-control-plane", "kind-worker", "kind-worker2"]) expect(nodes).toContain(n);
    expect([...nodes].some((n) => n.startsWith("gke-")), "recorded flows mixed in").toBe(true);
    expect(logs.join("\n")).toMatch(/back-filled \d+ flows/);

    const status = await client.serverStatus();
    expect(Number(status.numFlows)).toBeGreaterThanOrEqual(flows.length);
    expect(status.numConnectedNodes).toBeGreaterThanOrEqual(3);
  });

  it("announces the policy changes of the back-fill as agent events", async () => {
    const events = await client.agentEvents({});
    const types = new Set(events.map((e) => e.agentEvent?.type));
    expect(types).toContain(AgentEventType.AGENT_STARTED);
    expect(types).toContain(AgentEventType.POLICY_DELETED);
    expect(types).toContain(AgentEventType.POLICY_UPDATED);
  });

  it("keeps publishing live traffic with current timestamps", async () => {
    const stream = client.getFlows({ follow: true });
    const got: GetFlowsResponse[] = [];
    stream.on("data", (r: GetFlowsResponse) => got.push(r));
    stream.on("error", () => {});
    await until(() => flowsOnly(got).length >= 20, "live flows", 15_000);
    stream.cancel();
    const live = flowsOnly(got);
    const now = nowNs();
    expect(live.every((f) => timeOf(f) > startedNs - 1_000_000_000n && timeOf(f) <= now + 10_000_000_000n)).toBe(true);
  });
});

/**
 * Streaming behaviour of the Observer server on real gRPC: follow (backlog then live, events in
 * order), client cancel, backpressure with a reader that stops reading, kill() as a crash and
 * stop() as a graceful shutdown.
 */
import { create } from "@bufbuild/protobuf";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { LostEventSource } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import { nsToTimestamp, timestampToNs } from "@/server/flow-codec/timestamp";
import { connect, nowNs, timeOf, tinyFlow, until, type TestClient } from "./relay-server-helpers";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(opts: Parameters<typeof startRelayServer>[0] = {}): Promise<{ relay: RelayServer; client: TestClient }> {
  const relay = await startRelayServer(opts);
  const client = connect(relay.address);
  cleanups.push(() => client.close(), () => relay.stop());
  return { relay, client };
}

interface Follow {
  got: GetFlowsResponse[];
  error?: ServiceError;
  ended: boolean;
  flows(): GetFlowsResponse[];
}

function follow(client: TestClient, req: Parameters<TestClient["getFlows"]>[0]) {
  const stream = client.getFlows({ follow: true, ...req });
  const f: Follow = {
    got: [],
    ended: false,
    flows: () => f.got.filter((r) => r.responseTypes.case === "flow"),
  };
  stream.on("data", (r: GetFlowsResponse) => f.got.push(r));
  stream.on("error", (e: ServiceError) => (f.error = e));
  stream.on("end", () => (f.ended = true));
  return { stream, f };
}

describe("relay server streaming", () => {
  it("follow sends the backlog, then live flows and events in publish order; cancel ends it cleanly", async () => {
    const { relay, client } = await setup({ announceNodes: false });
    const t = nowNs();
    for (let i = 0; i < 10; i++) relay.publish(tinyFlow(i % 2 ? "a" : "b", t + BigInt(i)));
    const { stream, f } = follow(client, { number: 2n });
    await until(() => f.got.length === 4, "the backlog (2 per node)");
    expect(f.got.map(timeOf)).toEqual([t + 6n, t + 7n, t + 8n, t + 9n]);
    expect(relay.stats().activeStreams).toBe(1);

    relay.publish(tinyFlow("a", t + 10n));
    relay.publish(
      create(GetFlowsResponseSchema, {
        nodeName: "b",
        time: nsToTimestamp(t + 11n),
        responseTypes: { case: "lostEvents", value: { source: LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: 7n, cpu: 2 } },
      }),
    );
    relay.publish(tinyFlow("b", t + 12n));
    relay.publish(
      create(GetFlowsResponseSchema, {
        time: nsToTimestamp(t + 13n),
        responseTypes: { case: "nodeStatus", value: { stateChange: NodeState.NODE_UNAVAILABLE, nodeNames: ["b"], message: "gone" } },
      }),
    );
    relay.publish(tinyFlow("a", t + 14n));
    await until(() => f.got.length === 9, "the live responses");
    expect(f.got.slice(4).map((r) => r.responseTypes.case)).toEqual(["flow", "lostEvents", "flow", "nodeStatus", "flow"]);
    expect(f.got.slice(4).map(timeOf)).toEqual([10n, 11n, 12n, 13n, 14n].map((d) => t + d));

    stream.cancel();
    await until(() => relay.stats().activeStreams === 0, "the server to notice the cancel");
    expect(f.error?.code).toBe(status.CANCELLED);
    // publishing after the cancel is harmless
    relay.publish(tinyFlow("a", t + 15n));
    expect(relay.stats().served).toBe(9);
  });

  it("follow with until ends once a newer flow arrives", async () => {
    const { relay, client } = await setup({ announceNodes: false });
    const t = nowNs();
    relay.publish(tinyFlow("a", t));
    const { f } = follow(client, { since: nsToTimestamp(t), until: nsToTimestamp(t + 5n) });
    await until(() => f.got.length === 1, "the backlog");
    relay.publish(tinyFlow("a", t + 5n));
    relay.publish(tinyFlow("a", t + 6n));
    await until(() => f.ended, "the end of the stream");
    expect(f.got.map(timeOf)).toEqual([t, t + 5n]);
    expect(f.error).toBeUndefined();
  });

  it("respects backpressure: a reader that stops reading is lapped, and told how much it lost", async () => {
    const ring = 50;
    const { relay, client } = await setup({ ringSize: ring, announceNodes: false });
    const { stream, f } = follow(client, {});
    await until(() => relay.stats().activeStreams === 1, "the stream");
    stream.pause();

    const total = 20_000;
    const t = nowNs();
    for (let i = 0; i < total; i++) {
      relay.publish(tinyFlow("busy", t + BigInt(i), { Summary: "x".repeat(200) }));
      // give the server every chance to write: only flow control may hold it back
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    // HTTP/2 flow control stopped the server long before it wrote everything
    expect(relay.stats().served).toBeLessThan(total / 2);

    stream.resume();
    const lostSum = () =>
      f.got.reduce((s, r) => s + (r.responseTypes.case === "lostEvents" ? Number(r.responseTypes.value.numEventsLost) : 0), 0);
    await until(() => f.flows().length + lostSum() === total, "every flow delivered or reported lost");
    const markers = f.got.filter((r) => r.responseTypes.case === "lostEvents");
    expect(markers.length).toBeGreaterThan(0);
    for (const m of markers) {
      expect(m.responseTypes.case === "lostEvents" && m.responseTypes.value.source).toBe(LostEventSource.HUBBLE_RING_BUFFER);
    }
    // delivered flows stay in order, and the newest ones made it
    const times = f.flows().map(timeOf);
    for (let i = 1; i < times.length; i++) expect(times[i] > times[i - 1]).toBe(true);
    expect(times.at(-1)).toBe(t + BigInt(total - 1));
    // the marker's first/last name the range that was dropped
    const m = markers[0].responseTypes.value as { first?: { seconds: bigint; nanos: number }; last?: { seconds: bigint; nanos: number } };
    const first = timestampToNs(m.first as never)!;
    const last = timestampToNs(m.last as never)!;
    expect(first <= last).toBe(true);
    expect(times.some((x) => x >= first && x <= last)).toBe(false);
  });

  it("kill() is a crash: every open stream fails with UNAVAILABLE and the port can be reused", async () => {
    const relay = await startRelayServer({ announceNodes: false });
    const client = connect(relay.address);
    cleanups.push(() => client.close());
    relay.publish(tinyFlow("a", nowNs()));
    const one = follow(client, { number: 1n });
    const two = follow(client, {});
    await until(() => one.f.got.length === 1 && relay.stats().activeStreams === 2, "two open streams");
    relay.kill();
    await until(() => !!one.f.error && !!two.f.error, "both streams to fail");
    expect(one.f.error!.code).toBe(status.UNAVAILABLE);
    expect(two.f.error!.code).toBe(status.UNAVAILABLE);
    expect(relay.stats().activeStreams).toBe(0);

    const again = await startRelayServer({ port: relay.port });
    cleanups.push(() => again.stop());
    expect(again.address).toBe(relay.address);
  });

  it("stop() is graceful: queued responses are delivered, then followers get UNAVAILABLE", async () => {
    const relay = await startRelayServer({ announceNodes: false });
    const client = connect(relay.address);
    cleanups.push(() => client.close());
    const t = nowNs();
    relay.publish(tinyFlow("a", t));
    const { f } = follow(client, {});
    await until(() => relay.stats().activeStreams === 1, "the stream");
    for (let i = 1; i <= 50; i++) relay.publish(tinyFlow("a", t + BigInt(i)));
    await relay.stop();
    await until(() => !!f.error, "the stream to end");
    expect(f.error!.code).toBe(status.UNAVAILABLE);
    expect(f.flows()).toHaveLength(50);
  });
});

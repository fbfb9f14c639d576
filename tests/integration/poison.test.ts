/**
 * One odd flow never stops the stream (issue: ingest never wedges). Through the real runtime (gRPC
 * relay → ingest → PostgreSQL) and the real routes:
 * - valid flows at the edges of their types (uint64 revision and socket_cookie 2^64−1, uint32
 *   drop_reason 2^32−1, negative int32, unknown enum numbers, unknown fields) are stored and
 *   exported exactly;
 * - a flow the database refuses (a CHECK constraint added to the real table) is quarantined with
 *   the database's error while every other flow of its batch is stored;
 * - malformed responses (not UTF-8, truncated, a Timestamp out of its range) are quarantined;
 * - /api/status, /metrics and /api/quarantine tell about it, and nothing is stored twice when the
 *   relay re-sends after a reconnect.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { GET as quarantineGET } from "@/app/api/quarantine/route";
import { GET as statusGET } from "@/app/api/status/route";
import { GET as metricsGET } from "@/app/metrics/route";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { DropReason, Verdict, type Flow } from "@/proto/gen/flow/flow_pb";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { responseJson } from "@/server/flow-codec/flow-json";
import { startRelayServer, type RelayServer } from "@/server/demo/relay/relay-server";
import type { StatusReport } from "@/server/domain/flows/flow-item";
import { buildFlow, endpoint, responseOf, tcp } from "../fixtures/flow-builder";
import { call, useApiRuntime } from "../fixtures/api-harness";
import { waitFor } from "../fixtures/test-pipeline";

const U64_MAX = 2n ** 64n - 1n;
const NODE = "poison-node";
const now = () => BigInt(Date.now()) * 1_000_000n;

function odd(): Flow {
  return buildFlow({
    time: now(),
    nodeName: NODE,
    source: endpoint({ ns: "shop", app: "frontend" }),
    destination: endpoint({ ns: "shop", app: "backend" }),
    l4: tcp(40000, 8080),
    verdict: 99 as Verdict, // a verdict newer than our enum
    dropReason: 0xffffffff, // uint32 max (deprecated field)
    dropReasonDesc: 4242 as DropReason,
    socketCookie: U64_MAX,
    cgroupId: U64_MAX,
    proxyPort: 0xffffffff,
    policyMatchType: 0xffffffff,
    eventType: { type: -2147483648, subType: -1 }, // int32 min
    ingressAllowedBy: [{ name: "allow-all", namespace: "shop", kind: "CiliumNetworkPolicy", revision: U64_MAX, labels: ["k8s:a=b"] }],
    interface: { index: 0xffffffff, name: "eth0" },
    ipTraceId: { traceId: U64_MAX, ipOptionType: 0xffffffff },
  });
}

const bytesOf = (f: Flow) => Buffer.from(toBinary(GetFlowsResponseSchema, responseOf(f)));
/** a relay files a flow under the flow's own time (its `since` compares that) */
const timeOf = (f: Flow) => (f.time ? f.time.seconds * 1_000_000_000n + BigInt(f.time.nanos) : now());
/** hubble JSON of exactly these bytes, decoded the way every reader decodes them */
const jsonOfBytes = (bytes: Uint8Array) => responseJson(fromBinary(GetFlowsResponseSchema, bytes));

describe("one odd flow never blocks the others", () => {
  const env = useApiRuntime("postgres", () => {});
  /** every response sent, as a relay's ring would hold it */
  const sent: { bytes: Buffer; ns: bigint }[] = [];
  const send = (bytes: Buffer, ns = now()) => {
    sent.push({ bytes, ns });
    env.relay.publishRaw(bytes, NODE, ns);
    env.published++;
  };
  const count = async (table: string) => Number((await env.rt.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0].n);

  it("stores valid flows at the edges of their types, exactly", async () => {
    const flows = [odd(), ...Array.from({ length: 50 }, () => buildFlow({ time: now(), nodeName: NODE })), odd()];
    for (const f of flows) send(bytesOf(f), timeOf(f));
    await env.settle();
    for (const f of [flows[0], flows[flows.length - 1]]) {
      const res = await call(flowsGET, `/api/flows?uuid=${f.uuid}&format=jsonl`);
      expect(res.status).toBe(200);
      const lines = (await res.text()).trim().split("\n");
      expect(lines).toHaveLength(1);
      const got = JSON.parse(lines[0]);
      expect(got).toEqual(jsonOfBytes(bytesOf(f)));
      expect(got.flow.ingress_allowed_by[0].revision).toBe(U64_MAX.toString());
      expect(got.flow.socket_cookie).toBe(U64_MAX.toString());
      expect(got.flow.verdict).toBe(99);
    }
    const status = (await (await call(statusGET, "/api/status")).json()) as StatusReport;
    expect(status.ingest.quarantined).toBe(0);
    expect(status.storage.state).toBe("ok");
    expect(await count("flows")).toBe(flows.length);
  });

  it("quarantines what the store refuses and stores every other flow of the batch", async () => {
    // a real refusal by the real database: no flow may go to port 666 from now on
    await env.rt.db.exec(`ALTER TABLE flows ADD CONSTRAINT test_no_port_666 CHECK (dport IS DISTINCT FROM 666)`);
    try {
      const before = await count("flows");
      const flows = Array.from({ length: 300 }, (_, i) => buildFlow({ time: now(), nodeName: NODE, l4: tcp(30000 + i, [7, 150, 299].includes(i) ? 666 : 8080) }));
      const bad = flows.filter((f) => f.l4?.protocol.case === "TCP" && f.l4.protocol.value.destinationPort === 666);
      for (const f of flows) send(bytesOf(f), timeOf(f));
      await env.settle();
      expect(await count("flows")).toBe(before + 297);
      const q = (await (await call(quarantineGET, "/api/quarantine?stage=write")).json()) as { items: Record<string, unknown>[] };
      expect(q.items).toHaveLength(3);
      for (const item of q.items) {
        expect(item.error).toMatch(/^23514 .*test_no_port_666/);
        const flow = bad.find((f) => f.uuid === item.key)!;
        expect(flow).toBeDefined();
        expect(Buffer.from(item.bytes_base64 as string, "base64").equals(bytesOf(flow))).toBe(true);
        expect(item.response).toEqual(jsonOfBytes(bytesOf(flow)));
      }
    } finally {
      await env.rt.db.exec(`ALTER TABLE flows DROP CONSTRAINT test_no_port_666`);
    }
  });

  it("quarantines malformed responses with their bytes and goes on", async () => {
    const before = await count("flows");
    // not UTF-8: the pod name's bytes are patched to 0xff inside an otherwise valid message
    const notUtf8 = bytesOf(buildFlow({ time: now(), nodeName: NODE, source: endpoint({ ns: "shop", app: "zzzzzz" }) }));
    for (let i = notUtf8.indexOf("zzzzzz"); i >= 0 && notUtf8[i] === 0x7a; i++) notUtf8[i] = 0xff;
    const valid = bytesOf(buildFlow({ time: now(), nodeName: NODE }));
    const truncated = Buffer.from(valid.subarray(0, valid.length - 5));
    const farTime = buildFlow({ nodeName: NODE });
    farTime.time = create(TimestampSchema, { seconds: 253_402_300_800n }); // year 10000: past the Timestamp's range
    const badTime = bytesOf(farTime);
    for (const b of [notUtf8, truncated, badTime]) send(b);
    const last = buildFlow({ time: now(), nodeName: NODE });
    send(bytesOf(last), timeOf(last));
    await env.settle();
    expect(await count("flows")).toBe(before + 1);
    const q = (await (await call(quarantineGET, "/api/quarantine?stage=decode&limit=10")).json()) as { items: { error: string; bytes_base64: string }[] };
    const errors = q.items.map((i) => i.error).join("\n");
    expect(errors).toMatch(/UTF-8/i);
    expect(errors).toMatch(/past the end|truncated/);
    expect(errors).toMatch(/seconds 253402300800 outside/);
    const kept = q.items.map((i) => Buffer.from(i.bytes_base64, "base64"));
    for (const b of [notUtf8, truncated, badTime]) expect(kept.some((k) => k.equals(b))).toBe(true);

    // the status' counts are refreshed in the background (at most a few seconds old), never awaited by a request
    let quarantined = -1;
    await waitFor(async () => {
      quarantined = ((await (await call(statusGET, "/api/status")).json()) as StatusReport).ingest.quarantined;
      return quarantined >= 6;
    }, "the status counting 6 quarantined", 15_000);
    expect(quarantined).toBe(6);
    const metrics = await (await call(metricsGET, "/metrics")).text();
    expect(metrics).toMatch(/^flowlens_flows_quarantined_total 6$/m);
    const jsonl = await (await call(quarantineGET, "/api/quarantine?format=jsonl")).text();
    expect(jsonl.trim().split("\n")).toHaveLength(6);
  });

  it("stores and quarantines nothing twice when a relay re-sends after a reconnect", async () => {
    const flows = await count("flows");
    const quarantined = await count("quarantine");
    const reconnects = env.rt.ingest.reconnects;
    const port = env.relay.port;
    env.relay.kill();
    await waitFor(() => env.rt.ingest.reconnects > reconnects, "a reconnect");
    // the relay comes back with everything still in its ring; the ingest resumes a little before
    // its newest flow, so the overlap arrives again
    const relay = await startRelayServer({ port, ringSize: 5000 });
    for (const s of sent) relay.publishRaw(s.bytes, NODE, s.ns);
    (env as { relay: RelayServer }).relay = relay;
    await waitFor(() => env.rt.ingest.state === "connected", "the stream back");
    await new Promise((r) => setTimeout(r, 1500));
    await env.rt.ingest.flush();
    expect(env.rt.ingest.duplicates).toBeGreaterThan(0);
    expect(await count("flows")).toBe(flows);
    expect(await count("quarantine")).toBe(quarantined);
  });

  it("rejects bad parameters of /api/quarantine with 400 naming them", async () => {
    for (const [q, parameter] of [
      ["format=xml", "format"],
      ["limit=0", "limit"],
      ["limit=abc", "limit"],
      ["cursor=-1", "cursor"],
      ["cursor=99999999999999999999", "cursor"],
      ["stage=other", "stage"],
      ["foo=1", "foo"],
      ["limit=1&limit=2", "limit"],
    ]) {
      const res = await call(quarantineGET, `/api/quarantine?${q}`);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { parameter: string; error: string };
      expect(body.parameter).toBe(parameter);
      expect(body.error).toContain(parameter);
    }
  });
});

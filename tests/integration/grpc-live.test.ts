/**
 * The Observer gRPC API over time and transport: `follow` across the history/live seam (every flow
 * once, none missing, while the ingest stores flows as the stream starts), lost events while
 * following, ServerStatus / GetNodes / GetNamespaces / GetAgentEvents, grpc.health.v1, TLS and mTLS
 * (certificates made here with the openssl CLI), and a fast-check property: random FlowFilters
 * give what /api/flows gives for the same filter.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as flowsGET } from "@/app/api/flows/route";
import { FlowFilterSchema, LostEventSource, Verdict } from "@/proto/gen/flow/flow_pb";
import { GetAgentEventsResponseSchema, GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { startGrpcServer, type GrpcServer } from "@/server/hubble/grpc-server";
import { runtimeGrpcDeps } from "@/server/runtime";
import { FILTER_FLOWS, FILTER_WINDOW } from "../fixtures/api-dataset";
import { call, useApiRuntime } from "../fixtures/api-harness";
import { buildFlow, endpoint, responseOf } from "../fixtures/flow-builder";
import { observerClient, ts, type ObserverTestClient } from "../fixtures/grpc-client";
import { waitFor } from "../fixtures/test-pipeline";


const env = useApiRuntime("postgres", ({ publish, relay }) => {
  publish(...Object.values(FILTER_FLOWS).map(responseOf));
  relay.publishAgentEvent(
    create(GetAgentEventsResponseSchema, {
      agentEvent: { type: 3, notification: { case: "policyUpdate", value: { labels: ["k8s:io.cilium.k8s.policy.name=allow-web", "k8s:io.cilium.k8s.policy.namespace=shop"], revision: 7n, ruleCount: 1n } } },
      nodeName: "kind-worker",
      time: ts("2025-06-01T00:00:30Z"),
    }),
  );
}, { timeoutMs: 300_000 });

let client: ObserverTestClient;
beforeAll(() => {
  if (env.rt.grpc.state !== "serving") throw new Error(`gRPC not serving: ${JSON.stringify(env.rt.grpc)}`);
  client = observerClient(env.rt.grpc.address);
});
afterAll(() => client?.close());

const uuids = (rs: { responseTypes: { case?: string; value?: unknown } }[]) =>
  rs.filter((r) => r.responseTypes.case === "flow").map((r) => (r.responseTypes.value as { uuid: string }).uuid);

describe("follow", () => {
  it("history then live, across the seam: every flow exactly once", async () => {
    const start = new Date();
    const mk = (i: number) => buildFlow({ time: new Date(start.getTime() + i), source: endpoint({ ns: "seam", app: "a" }), destination: endpoint({ ns: "seam", app: "b" }) });
    const before = Array.from({ length: 300 }, (_, i) => mk(i));
    env.publish(...before.map(responseOf));
    await env.settle();
    // the stream starts while more flows are being published and stored
    const during = Array.from({ length: 1500 }, (_, i) => mk(300 + i));
    const stream = client.follow({ follow: true, since: ts(new Date(start.getTime() - 1000).toISOString()), whitelist: [{ sourcePod: ["seam/"] }] });
    for (let i = 0; i < during.length; i += 100) {
      env.publish(...during.slice(i, i + 100).map(responseOf));
      await new Promise((r) => setTimeout(r, 20));
    }
    await env.settle();
    const expected = [...before, ...during].map((f) => f.uuid);
    await waitFor(() => uuids(stream.responses).length >= expected.length, "every flow on the follow stream", 60_000);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would come now
    stream.cancel();
    const got = uuids(stream.responses);
    expect(new Set(got).size).toBe(got.length);
    expect(new Set(got)).toEqual(new Set(expected));
    expect(stream.error()?.code ?? grpc.status.CANCELLED).toBe(grpc.status.CANCELLED);
  });

  it("number + follow (hubble-ui's request): the newest N, then new flows; filters apply to live flows", async () => {
    const stream = client.follow({ follow: true, number: 3n, whitelist: [{ sourcePod: ["seam/"] }] });
    await waitFor(() => uuids(stream.responses).length >= 3, "the last 3", 30_000);
    const fresh = buildFlow({ time: new Date(), source: endpoint({ ns: "seam", app: "a" }), destination: endpoint({ ns: "seam", app: "b" }) });
    const other = buildFlow({ time: new Date(), source: endpoint({ ns: "elsewhere", app: "a" }) });
    env.publish(responseOf(other), responseOf(fresh));
    await waitFor(() => uuids(stream.responses).includes(fresh.uuid), "the new flow", 30_000);
    stream.cancel();
    expect(uuids(stream.responses)).toHaveLength(4);
    expect(uuids(stream.responses)).not.toContain(other.uuid);
  });

  it("lost events stored while following are sent", async () => {
    const stream = client.follow({ follow: true, whitelist: [{ sourcePod: ["nothing-here/"] }] });
    await new Promise((r) => setTimeout(r, 300));
    env.relay.publish(
      create(GetFlowsResponseSchema, {
        responseTypes: { case: "lostEvents", value: { source: LostEventSource.OBSERVER_EVENTS_QUEUE, numEventsLost: 42n } },
        nodeName: "kind-worker",
        time: ts(new Date().toISOString()),
      }),
    );
    await waitFor(() => stream.responses.some((r) => r.responseTypes.case === "lostEvents"), "the lost event", 30_000);
    stream.cancel();
    const lost = stream.responses.find((r) => r.responseTypes.case === "lostEvents")!;
    expect(lost.responseTypes.value).toMatchObject({ numEventsLost: 42n, source: LostEventSource.OBSERVER_EVENTS_QUEUE });
  });
});

describe("the other Observer RPCs", () => {
  it("ServerStatus counts the stored flows", async () => {
    const s = await client.status();
    await waitFor(async () => Number((await client.status()).numFlows) >= Object.keys(FILTER_FLOWS).length, "the count", 20_000);
    expect(s.version).toMatch(/^flowlens /);
    expect(s.uptimeNs).toBeGreaterThan(0n);
    expect(s.maxFlows).toBe(0n);
  });

  it("GetNodes names the nodes of the stored flows", async () => {
    const names = (await client.nodes()).nodes.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(["kind-worker", "kind-worker2", "east/worker-1"]));
  });

  it("GetNamespaces lists the stored flows' namespaces with their cluster", async () => {
    const ns = (await client.namespaces()).namespaces.map((n) => `${n.cluster}/${n.namespace}`);
    expect(ns).toEqual(expect.arrayContaining(["default/shop", "default/batch", "east/billing", "default/kube-system"]));
  });

  it("GetAgentEvents serves the stored agent events", async () => {
    await waitFor(async () => (await env.rt.agentEvents.repo.count()) > 0, "the agent event stored", 30_000);
    const evs = await client.agentEvents({ since: ts(FILTER_WINDOW.since) });
    expect(evs).toHaveLength(1);
    expect(evs[0].agentEvent?.notification).toMatchObject({ case: "policyUpdate", value: { revision: 7n } });
    expect(await client.agentEvents({ since: ts(FILTER_WINDOW.until) })).toHaveLength(0);
  });

  it("anything else is UNIMPLEMENTED with a message", async () => {
    const Debug = grpc.makeGenericClientConstructor(
      { getDebugEvents: { path: "/observer.Observer/GetDebugEvents", requestStream: false, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      "Observer",
    );
    const c = new Debug(env.rt.grpc.state === "serving" ? env.rt.grpc.address : "", grpc.credentials.createInsecure()) as unknown as { getDebugEvents(b: Buffer): grpc.ClientReadableStream<Buffer>; close(): void };
    const err = await new Promise<grpc.ServiceError>((resolve) => c.getDebugEvents(Buffer.alloc(0)).on("error", resolve));
    c.close();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.details).toMatch(/GetDebugEvents/);
  });

  it("grpc.health.v1 answers SERVING", async () => {
    const Health = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
    const h = new Health(env.rt.grpc.state === "serving" ? env.rt.grpc.address : "", grpc.credentials.createInsecure()) as unknown as {
      check(req: object, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
      close(): void;
    };
    const res = await new Promise<{ status: string }>((resolve, reject) => h.check({ service: "" }, (e, r) => (e ? reject(e) : resolve(r))));
    h.close();
    expect(res.status).toBe("SERVING");
  });
});

describe("TLS and mTLS", () => {
  let dir: string;
  const servers: GrpcServer[] = [];
  const pem = (name: string) => readFileSync(path.join(dir, name));
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "flowlens-grpc-tls-"));
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca");
    for (const who of ["server", "client"]) {
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
      ssl("x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${who}.pem`, "-days", "1", "-extfile", "san.ext");
    }
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (clientCa: boolean) => {
    const s = await startGrpcServer(
      { address: "127.0.0.1:0", tls: { certFile: path.join(dir, "server.pem"), keyFile: path.join(dir, "server.key"), clientCaFiles: clientCa ? [path.join(dir, "ca.pem")] : [] } },
      runtimeGrpcDeps(env.rt),
    );
    servers.push(s);
    return s;
  };
  const window = { since: ts(FILTER_WINDOW.since), until: ts(FILTER_WINDOW.until), whitelist: [create(FlowFilterSchema, { verdict: [Verdict.DROPPED] })] };

  it("TLS: a client trusting the CA reads flows; a plaintext client cannot", async () => {
    const s = await start(false);
    expect(s.tls).toBe("tls");
    const c = observerClient(s.address, grpc.credentials.createSsl(pem("ca.pem")));
    expect(uuids(await c.flows(window))).toHaveLength(2);
    c.close();
    const plain = observerClient(s.address, grpc.credentials.createInsecure(), { "grpc.max_reconnect_backoff_ms": 200 });
    await expect(plain.flows({ ...window })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    plain.close();
  });

  it("mTLS: a client certificate signed by the CA is required", async () => {
    const s = await start(true);
    expect(s.tls).toBe("mtls");
    const withCert = observerClient(s.address, grpc.credentials.createSsl(pem("ca.pem"), pem("client.key"), pem("client.pem")));
    expect(uuids(await withCert.flows(window))).toHaveLength(2);
    withCert.close();
    const noCert = observerClient(s.address, grpc.credentials.createSsl(pem("ca.pem")));
    await expect(noCert.flows(window)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    noCert.close();
  });
});

type FilterInit = MessageInitShape<typeof FlowFilterSchema>;

/** FlowFilter fields that have a /api/flows parameter, with values from the dataset's vocabulary */
const FIELDS: { field: keyof FilterInit; param: string; values: unknown[]; text?: (v: never) => string }[] = [
  { field: "sourcePod", param: "from-pod", values: ["shop/", "shop/api", "batch/job", "ties/", "billing/", "kube-system/"] },
  { field: "destinationPod", param: "to-pod", values: ["shop/", "shop/payments", "batch/queue", "ties/b", "infra/"] },
  { field: "sourceIp", param: "from-ip", values: ["10.244.0.0/16", "10.244.1.10", "fd00:10::/64", "10.10.0.5"] },
  { field: "destinationIp", param: "to-ip", values: ["1.1.1.1", "10.244.0.0/16", "140.82.112.0/24"] },
  { field: "verdict", param: "verdict", values: [Verdict.FORWARDED, Verdict.DROPPED, Verdict.AUDIT], text: (v: number) => String(v) },
  { field: "sourcePort", param: "from-port", values: ["8080", "43210", "40001"] },
  { field: "destinationPort", param: "to-port", values: ["8080", "443", "53", "9090"] },
  { field: "httpStatusCode", param: "http-status", values: ["200", "4+", "5+", "503"] },
  { field: "protocol", param: "protocol", values: ["tcp", "udp", "icmp", "http", "dns"] },
  { field: "httpMethod", param: "http-method", values: ["GET", "POST"] },
  { field: "destinationFqdn", param: "to-fqdn", values: ["api.github.com", "*.github.com"] },
  { field: "sourceLabel", param: "from-label", values: ["k8s:app=api", "tier", "!tier"] },
  { field: "destinationLabel", param: "to-label", values: ["k8s:tier=db", "app in (api,frontend)"] },
  { field: "nodeName", param: "node-name", values: ["kind-worker", "kind-worker2", "east/*"] },
  { field: "trafficDirection", param: "traffic-direction", values: [1, 2], text: (v: number) => String(v) },
  { field: "eventType", param: "type", values: [{ type: 4 }, { type: 1 }, { type: 129 }, { type: 4, matchSubType: true, subType: 3 }], text: (v: { type: number; matchSubType?: boolean; subType?: number }) => (v.matchSubType ? `${v.type}:${v.subType}` : String(v.type)) },
];

describe("property: random FlowFilters agree with /api/flows", () => {
  it("whitelist of one filter ≡ the same parameters", async () => {
    const filterArb = fc
      .subarray(FIELDS, { minLength: 1, maxLength: 3 })
      .chain((fields) => fc.tuple(...fields.map((f) => fc.subarray(f.values, { minLength: 1, maxLength: 2 }).map((vs) => [f, vs] as const))));
    await fc.assert(
      fc.asyncProperty(filterArb, async (chosen) => {
        const filter: Record<string, unknown[]> = {};
        const params = new URLSearchParams({ ...FILTER_WINDOW, limit: "1000" });
        for (const [f, vs] of chosen) {
          filter[f.field] = vs;
          for (const v of vs) params.append(f.param, f.text ? f.text(v as never) : String(v));
        }
        const grpcRes = await client.flows({ since: ts(FILTER_WINDOW.since), until: ts(FILTER_WINDOW.until), whitelist: [filter as FilterInit] });
        const res = await call(flowsGET, `/api/flows?${params}`);
        const body = (await res.json()) as FlowPage;
        expect(res.status, JSON.stringify(body)).toBe(200);
        expect(uuids(grpcRes).sort()).toEqual(body.flows.map((x) => (x.flow.uuid as string | undefined) ?? "").sort());
      }),
      { numRuns: 40 },
    );
  });
});

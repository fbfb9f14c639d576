/**
 * A plain grpc-js Observer client for the relay-server tests (generic client from the service
 * definitions, as a third-party client would build it), plus flow fixtures.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { FlowSchema } from "@/proto/gen/flow/flow_pb";
import {
  GetAgentEventsRequestSchema,
  GetFlowsRequestSchema,
  GetFlowsResponseSchema,
  type GetAgentEventsResponse,
  type GetFlowsResponse,
  type GetNamespacesResponse,
  type GetNodesResponse,
  type ServerStatusResponse,
} from "@/proto/gen/observer/observer_pb";
import { type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { observerService, peerService } from "@/server/hubble/observer-service";
import { nsToTimestamp, timestampToNs } from "@/server/flow-codec/timestamp";

const ObserverClient = grpc.makeGenericClientConstructor(observerService, "Observer");
const PeerClient = grpc.makeGenericClientConstructor(peerService, "Peer");

type Unary<Res> = (req: object, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export interface TestClient {
  raw: grpc.Client;
  getFlows(req: MessageInitShape<typeof GetFlowsRequestSchema>): grpc.ClientReadableStream<GetFlowsResponse>;
  /** a non-follow GetFlows, collected */
  flows(req: MessageInitShape<typeof GetFlowsRequestSchema>): Promise<GetFlowsResponse[]>;
  agentEvents(req: MessageInitShape<typeof GetAgentEventsRequestSchema>): Promise<GetAgentEventsResponse[]>;
  serverStatus(): Promise<ServerStatusResponse>;
  getNodes(): Promise<GetNodesResponse>;
  getNamespaces(): Promise<GetNamespacesResponse>;
  notify(): grpc.ClientReadableStream<ChangeNotification>;
  close(): void;
}

export function connect(address: string): TestClient {
  const c = new ObserverClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Record<string, (...a: unknown[]) => unknown>;
  const peer = new PeerClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Record<string, (...a: unknown[]) => unknown>;
  const unary = <Res>(method: string) =>
    new Promise<Res>((resolve, reject) =>
      (c[method] as Unary<Res>).call(c, {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
  const collect = <T>(stream: grpc.ClientReadableStream<T>) =>
    new Promise<T[]>((resolve, reject) => {
      const out: T[] = [];
      stream.on("data", (d: T) => out.push(d));
      stream.on("error", reject);
      stream.on("end", () => resolve(out));
    });
  const getFlows = (req: MessageInitShape<typeof GetFlowsRequestSchema>) =>
    c.getFlows(create(GetFlowsRequestSchema, req)) as grpc.ClientReadableStream<GetFlowsResponse>;
  return {
    raw: c,
    getFlows,
    flows: (req) => collect(getFlows(req)),
    agentEvents: (req) =>
      collect(c.getAgentEvents(create(GetAgentEventsRequestSchema, req)) as grpc.ClientReadableStream<GetAgentEventsResponse>),
    serverStatus: () => unary("serverStatus"),
    getNodes: () => unary("getNodes"),
    getNamespaces: () => unary("getNamespaces"),
    notify: () => peer.notify({}) as grpc.ClientReadableStream<ChangeNotification>,
    close: () => {
      c.close();
      peer.close();
    },
  };
}

/** Polls until `pred` holds (short intervals: the tests wait for real network delivery). */
export async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function timeOf(r: GetFlowsResponse): bigint {
  return timestampToNs(r.time)!;
}

export function flowsOnly(list: GetFlowsResponse[]): GetFlowsResponse[] {
  return list.filter((r) => r.responseTypes.case === "flow");
}

/** A small flow at `ns` on `node` (cheap to encode: for volume tests). */
export function tinyFlow(node: string, ns: bigint, extra: MessageInitShape<typeof FlowSchema> = {}): GetFlowsResponse {
  const time = nsToTimestamp(ns);
  return create(GetFlowsResponseSchema, {
    nodeName: node,
    time,
    responseTypes: { case: "flow", value: create(FlowSchema, { time, nodeName: node, uuid: `${node}-${ns}`, ...extra }) },
  });
}

export const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/**
 * grpc-js service definitions for the Observer and Peer APIs, serialised with our protobuf-es code.
 * Method paths are Hubble's own (/observer.Observer/GetFlows, …), so a real Relay and our demo
 * relay speak the same wire protocol.
 */
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  GetAgentEventsRequestSchema,
  GetAgentEventsResponseSchema,
  GetFlowsRequestSchema,
  GetFlowsResponseSchema,
  GetNamespacesRequestSchema,
  GetNamespacesResponseSchema,
  GetNodesRequestSchema,
  GetNodesResponseSchema,
  ServerStatusRequestSchema,
  ServerStatusResponseSchema,
} from "@/proto/gen/observer/observer_pb";
import { ChangeNotificationSchema, NotifyRequestSchema } from "@/proto/gen/peer/peer_pb";

function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  responseStream: boolean,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: (m) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (m) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b) => fromBinary(output, b),
  };
}

export const observerService = {
  getFlows: method("/observer.Observer/GetFlows", GetFlowsRequestSchema, GetFlowsResponseSchema, true),
  getAgentEvents: method(
    "/observer.Observer/GetAgentEvents",
    GetAgentEventsRequestSchema,
    GetAgentEventsResponseSchema,
    true,
  ),
  getNodes: method("/observer.Observer/GetNodes", GetNodesRequestSchema, GetNodesResponseSchema, false),
  getNamespaces: method(
    "/observer.Observer/GetNamespaces",
    GetNamespacesRequestSchema,
    GetNamespacesResponseSchema,
    false,
  ),
  serverStatus: method(
    "/observer.Observer/ServerStatus",
    ServerStatusRequestSchema,
    ServerStatusResponseSchema,
    false,
  ),
} satisfies ServiceDefinition;

export const peerService = {
  notify: method("/peer.Peer/Notify", NotifyRequestSchema, ChangeNotificationSchema, true),
} satisfies ServiceDefinition;

/**
 * GetFlows for the ingest path: responses stay raw bytes. A full protobuf-es decode costs ~26 µs per
 * flow (shared/notes/ingest-performance.md); the ingest splits the bytes itself and decodes only
 * what it stores in columns.
 */
export const rawGetFlows: MethodDefinition<MessageShape<typeof GetFlowsRequestSchema>, Buffer> = {
  ...observerService.getFlows,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

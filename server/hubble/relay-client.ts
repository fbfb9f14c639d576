/**
 * The only code that dials Hubble Relay: channel credentials like the hubble CLI (--tls,
 * --tls-ca-cert-files, --tls-client-cert-file/-key-file, --tls-server-name) and the calls the
 * ingest makes. GetFlows responses stay raw bytes (see observer-service.ts).
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import {
  GetAgentEventsRequestSchema,
  GetFlowsRequestSchema,
  GetNodesRequestSchema,
  ServerStatusRequestSchema,
  type GetAgentEventsResponse,
  type GetNodesResponse,
  type ServerStatusResponse,
} from "@/proto/gen/observer/observer_pb";
import { observerService, rawGetFlows } from "./observer-service";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";

export interface RelayTls {
  enabled: boolean;
  caCertFiles: string[];
  clientCertFile?: string;
  clientKeyFile?: string;
  serverName?: string;
}

export interface FlowsRequest {
  /** ns since the epoch */
  sinceNs?: bigint;
  /** last N flows per node (only without since) */
  number?: number;
  follow: boolean;
}

const ObserverClient = grpc.makeGenericClientConstructor({ ...observerService, getFlowsRaw: rawGetFlows }, "Observer");
type Client = InstanceType<typeof ObserverClient> & Record<string, (...args: unknown[]) => unknown>;

export function credentialsFor(tls: RelayTls): grpc.ChannelCredentials {
  if (!tls.enabled) return grpc.credentials.createInsecure();
  const ca = tls.caCertFiles.length ? Buffer.concat(tls.caCertFiles.map((f) => readFileSync(f))) : null;
  const cert = tls.clientCertFile ? readFileSync(tls.clientCertFile) : null;
  const key = tls.clientKeyFile ? readFileSync(tls.clientKeyFile) : null;
  return grpc.credentials.createSsl(ca, key, cert);
}

export class RelayClient {
  private readonly client: Client;

  constructor(
    readonly address: string,
    tls: RelayTls = { enabled: false, caCertFiles: [] },
  ) {
    const options: grpc.ClientOptions = {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // HTTP/2's default 64 KB window holds ~90 flows, so the stream stalls on every window update;
      // 4 MB keeps a fast Relay streaming while a paused reader still bounds memory.
      "grpc-node.flow_control_window": 4 * 1024 * 1024,
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      // reconnects are ours (capped backoff in the ingest); keep grpc's own short
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    };
    if (tls.enabled && tls.serverName) options["grpc.ssl_target_name_override"] = tls.serverName;
    this.client = new ObserverClient(address, credentialsFor(tls), options) as Client;
  }

  /** GetFlows with raw response bytes; the caller owns the stream (cancel() to stop). */
  getFlows(req: FlowsRequest): grpc.ClientReadableStream<Buffer> {
    const msg = create(GetFlowsRequestSchema, {
      follow: req.follow,
      ...(req.number !== undefined ? { number: BigInt(req.number) } : {}),
      ...(req.sinceNs !== undefined
        ? { since: nsToTimestamp(req.sinceNs) }
        : {}),
    });
    return (this.client.getFlowsRaw as (r: unknown) => grpc.ClientReadableStream<Buffer>)(msg);
  }

  /**
   * GetAgentEvents, decoded (a few events a minute). A Relay answers UNIMPLEMENTED; an agent's
   * own Hubble server (and the demo cluster) serve them.
   */
  getAgentEvents(req: { sinceNs?: bigint; follow: boolean }): grpc.ClientReadableStream<GetAgentEventsResponse> {
    const msg = create(GetAgentEventsRequestSchema, {
      follow: req.follow,
      ...(req.sinceNs !== undefined ? { since: nsToTimestamp(req.sinceNs) } : {}),
    });
    return (this.client.getAgentEvents as (r: unknown) => grpc.ClientReadableStream<GetAgentEventsResponse>)(msg);
  }

  private unary<T>(name: "serverStatus" | "getNodes", req: unknown, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = this.client[name] as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void;
      fn.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, v) => (e ? reject(e) : resolve(v)));
    });
  }

  serverStatus(timeoutMs = 5000): Promise<ServerStatusResponse> {
    return this.unary("serverStatus", create(ServerStatusRequestSchema), timeoutMs);
  }

  getNodes(timeoutMs = 5000): Promise<GetNodesResponse> {
    return this.unary("getNodes", create(GetNodesRequestSchema), timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}

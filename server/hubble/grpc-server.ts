/**
 * Flowlens's own Observer gRPC server: the API Hubble Relay speaks, on everything stored, so
 * `hubble observe --server 127.0.0.1:4246 …` (and any Observer client: Grafana's Hubble data
 * source, exporters, another Flowlens) reads history and follows live. grpc.health.v1 answers
 * `hubble status`. TLS and mTLS as the Relay's server side (FLOWLENS_GRPC_TLS_*).
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { observerService, rawGetFlows } from "./observer-service";
import { allowAll, type Authorize } from "./grpc-auth";
import { getFlowsHandler, type GetFlowsDeps } from "./grpc-get-flows";
import { observerHandlers, type ObserverDeps } from "./grpc-observer";

export interface GrpcTls {
  certFile: string;
  keyFile: string;
  /** set: client certificates signed by these CAs are required (mTLS) */
  clientCaFiles: string[];
}

export interface GrpcServerOptions {
  /** host:port; port 0 = a free port (tests) */
  address: string;
  tls?: GrpcTls;
  /** who may call and what they see (grpc-auth.ts); default everyone, everything */
  authorize?: Authorize;
}

export interface GrpcServer {
  /** host:port actually bound */
  address: string;
  tls: "off" | "tls" | "mtls";
  stop(): Promise<void>;
}

export type GrpcDeps = Omit<GetFlowsDeps, "eventPollMs"> & Omit<ObserverDeps, "eventPollMs"> & { eventPollMs?: number };

function credentials(tls: GrpcTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.clientCaFiles.length ? Buffer.concat(tls.clientCaFiles.map((f) => readFileSync(f))) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: readFileSync(tls.keyFile), cert_chain: readFileSync(tls.certFile) }], ca !== null);
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

export async function startGrpcServer(opts: GrpcServerOptions, deps: GrpcDeps): Promise<GrpcServer> {
  const authorize = opts.authorize ?? allowAll;
  const eventPollMs = deps.eventPollMs ?? 1000;
  const server = new grpc.Server({
    // a follow stream may be quiet for long: keep idle connections open, notice dead peers
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 10_000,
  });
  const observer = observerHandlers({ ...deps, eventPollMs }, authorize);
  server.addService(
    { ...observerService, getFlows: rawGetFlows },
    {
      getFlows: getFlowsHandler({ ...deps, eventPollMs }, authorize),
      ...observer,
    } as grpc.UntypedServiceImplementation,
  );
  const health = new HealthImplementation({ "": "SERVING", "observer.Observer": "SERVING" });
  health.addToServer(server);

  const { host, port: wanted } = splitAddress(opts.address);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${wanted}`, credentials(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let stopping: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    tls: !opts.tls ? "off" : opts.tls.clientCaFiles.length ? "mtls" : "tls",
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        health.setStatus("", "NOT_SERVING");
        health.setStatus("observer.Observer", "NOT_SERVING");
        // follow streams never end by themselves: a short grace for unary calls, then close all
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}

/**
 * Per-node ingest's node list: peer.Peer/Notify, as Hubble Relay itself finds the agents. The
 * service sends every known node as PEER_ADDED on connect, then changes. Addresses are the agents'
 * own Hubble servers ("10.0.0.3:4244"; an address without a port gets FLOWLENS_AGENT_PORT), each
 * with the TLS server name its certificate carries.
 */
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { ChangeNotificationType, NotifyRequestSchema, type ChangeNotification } from "@/proto/gen/peer/peer_pb";
import { peerService } from "./observer-service";
import { credentialsFor, type RelayTls } from "./relay-client";

export interface PeerNode {
  name: string;
  /** host:port of the agent's Hubble server */
  address: string;
  /** the name its TLS certificate is for (ChangeNotification.tls.server_name), if any */
  tlsServerName?: string;
}

const PeerClient = grpc.makeGenericClientConstructor(peerService, "Peer");

/** "10.0.0.3" → "10.0.0.3:4244", "fd00::3" → "[fd00::3]:4244"; an address with a port stays */
export function agentAddress(address: string, defaultPort: number): string {
  const a = address.trim();
  if (a.startsWith("unix:")) return a;
  if (/^\[[^\]]+\]:\d+$/.test(a) || /^[^:]+:\d+$/.test(a)) return a;
  if (a.includes(":")) return `[${a.replace(/^\[|\]$/g, "")}]:${defaultPort}`;
  return `${a}:${defaultPort}`;
}

export class PeerWatcher {
  readonly nodes = new Map<string, PeerNode>();
  /** the node list came at least once */
  listed = false;
  lastError: string | undefined;
  private readonly client: grpc.Client;
  private stream: grpc.ClientReadableStream<ChangeNotification> | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private delay = 500;

  constructor(
    readonly address: string,
    tls: RelayTls,
    private readonly o: { defaultPort: number; onChange?: () => void },
  ) {
    const options: grpc.ClientOptions = { "grpc.keepalive_time_ms": 30_000, "grpc.keepalive_timeout_ms": 10_000 };
    if (tls.enabled && tls.serverName) options["grpc.ssl_target_name_override"] = tls.serverName;
    this.client = new PeerClient(address, credentialsFor(tls), options);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const stream = (this.client as unknown as { notify: (r: unknown) => grpc.ClientReadableStream<ChangeNotification> }).notify(create(NotifyRequestSchema));
    this.stream = stream;
    stream.on("data", (n: ChangeNotification) => {
      this.delay = 500;
      this.listed = true;
      this.apply(n);
    });
    const again = (err?: grpc.ServiceError) => {
      if (this.stream !== stream) return;
      this.stream = null;
      if (err) this.lastError = `${err.code ?? ""} ${err.details || err.message}`.trim();
      if (this.stopped) return;
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10_000);
    };
    stream.on("error", again);
    stream.on("end", () => again());
  }

  private apply(n: ChangeNotification): void {
    if (!n.name) return;
    if (n.type === ChangeNotificationType.PEER_DELETED) {
      if (this.nodes.delete(n.name)) this.o.onChange?.();
      return;
    }
    if (!n.address) return;
    const node: PeerNode = { name: n.name, address: agentAddress(n.address, this.o.defaultPort), ...(n.tls?.serverName ? { tlsServerName: n.tls.serverName } : {}) };
    const old = this.nodes.get(n.name);
    if (old && old.address === node.address && old.tlsServerName === node.tlsServerName) return;
    this.nodes.set(n.name, node);
    this.o.onChange?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const s = this.stream;
    this.stream = null;
    s?.cancel();
    this.client.close();
  }
}

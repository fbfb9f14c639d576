/**
 * The shape every API and page uses for one flow: hubble's own JSON form of the Flow (proto field
 * names, enums as names, unknown enums as numbers, 64-bit ints as strings) wrapped like a
 * GetFlowsResponse, plus the storage key. See docs/api.md.
 */
export type FlowJson = Record<string, unknown> & {
  time?: string;
  verdict?: string | number;
  uuid?: string;
  node_name?: string;
};

export interface FlowItem {
  /** uuid when the agent sent one, otherwise a hash of node + encoding, formatted as a UUID. */
  key: string;
  flow: FlowJson;
  node_name?: string;
  time?: string;
}

/** An item as the GetFlowsResponse it came from, in hubble's JSON form (`hubble observe -o jsonpb`). */
export function itemResponse(item: FlowItem): Record<string, unknown> {
  const o: Record<string, unknown> = { flow: item.flow };
  if (item.node_name !== undefined) o.node_name = item.node_name;
  if (item.time !== undefined) o.time = item.time;
  return o;
}

export interface FlowPage {
  flows: FlowItem[];
  next: string | null;
}

export type RelayState = "connected" | "connecting" | "disconnected" | "demo";

export interface StatusReport {
  relay: { address: string; state: RelayState; error?: string };
  /** state: is the store answering; while unavailable, the last connection error and since when */
  storage: { kind: "postgres" | "embedded"; flows: number; state: "ok" | "unavailable"; error?: string; since?: string };
  /** quarantined: responses kept as bytes instead of stored (GET /api/quarantine) */
  ingest: { flowsPerSecond: number; lostEvents: number; gaps: number; quarantined: number };
  nodes: { name: string; state: string }[];
  /** the Observer gRPC API: `hubble observe --server <address>`; failed = could not listen (error says why) */
  grpc: { state: "serving" | "off" | "failed"; address?: string; tls?: "off" | "tls" | "mtls"; error?: string };
  /** who is asking and how Flowlens is protected (for the header) */
  access?: AccessReport;
}

export interface AccessReport {
  /** local: no sign-in, loopback only; off: no sign-in on purpose (FLOWLENS_AUTH=off); on: sign-in / tokens */
  mode: "local" | "off" | "on";
  /** the address `npm start` listens on, when known */
  bind?: string;
  user: string;
  role: string | null;
  /** namespace patterns the caller sees; ["*"] = all */
  namespaces: string[];
  /** a browser session: the token to send as X-Flowlens-CSRF with state-changing requests */
  csrf?: string;
  canExport: boolean;
  isAdmin: boolean;
}

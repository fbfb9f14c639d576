/**
 * The two sides of a flow as audit language and policy language need them: a pod (namespace +
 * workload + labels), the world (by DNS name, CIDR or IP) or a Cilium entity (host, remote-node…).
 * Derived from hubble's Flow JSON so stored flows, live flows and exports agree.
 */
import { reservedKindOf, type EntityKind } from "./reserved-identities";
import { record, strs, text } from "@/server/domain/shared/json";

export type PeerKind = "pod" | "world" | "cidr" | EntityKind | "unknown";

export interface Peer {
  kind: PeerKind;
  namespace?: string;
  /** "Kind/name" of the owning workload, e.g. "Deployment/frontend" */
  workload?: string;
  pod?: string;
  /** Cilium label strings as Hubble sends them (`k8s:app=web`, `reserved:world`, `cidr:…`) */
  labels: string[];
  identity?: number;
  ip?: string;
  /** DNS names the IP is known by */
  names: string[];
  /** most specific `cidr:` label, when Cilium gave the peer a CIDR identity */
  cidr?: string;
  cluster?: string;
}

type J = Record<string, unknown>;

function bits(cidr: string): number {
  const n = Number(cidr.split("/")[1]);
  return Number.isFinite(n) ? n : -1;
}

/** `endpoint` is flow.source / flow.destination; `ip` and `names` the matching side's IP and names. */
export function peerOf(endpoint: unknown, ip: string | undefined, names: string[]): Peer {
  const ep = record(endpoint);
  const labels = strs(ep.labels);
  const workloads = Array.isArray(ep.workloads) ? (ep.workloads as J[]) : [];
  const w = workloads[0];
  const peer: Peer = {
    kind: "unknown",
    labels,
    names: [...new Set(names.map((n) => n.replace(/\.$/, "").toLowerCase()))].sort(),
  };
  const ns = text(ep.namespace);
  if (ns) peer.namespace = ns;
  if (w && (text(w.name) || text(w.kind))) peer.workload = `${text(w.kind) ?? ""}/${text(w.name) ?? ""}`;
  const pod = text(ep.pod_name);
  if (pod) peer.pod = pod;
  const identity = Number(ep.identity ?? 0);
  if (identity > 0) peer.identity = identity;
  if (ip) peer.ip = ip;
  const cluster = text(ep.cluster_name);
  if (cluster) peer.cluster = cluster;
  const cidrs = labels.filter((l) => l.startsWith("cidr:")).map((l) => l.slice(5).replace(/-/g, ":"));
  if (cidrs.length) peer.cidr = cidrs.sort((a, b) => bits(b) - bits(a))[0];

  const reserved = reservedKindOf(labels, identity, ns);
  if (reserved === "world") peer.kind = peer.cidr ? "cidr" : "world";
  else if (reserved) peer.kind = reserved;
  else if (peer.cidr) peer.kind = "cidr";
  else if (ns) peer.kind = "pod";
  else if (peer.names.length) peer.kind = "world";
  return peer;
}

/** The app-ish name of a pod peer: its workload name, else its app label, else the pod name. */
export function workloadName(p: Peer): string | undefined {
  if (p.workload) return p.workload.split("/").pop() || undefined;
  const app = p.labels.find((l) => /^(k8s:)?(app|app\.kubernetes\.io\/name|k8s-app)=/.test(l));
  return app ? app.split("=").slice(1).join("=") : p.pod;
}

/** Stable grouping key: pods by cluster/namespace/workload, the world by name, CIDR or IP. */
export function peerKey(p: Peer): string {
  switch (p.kind) {
    case "pod":
      return `pod:${p.cluster ?? ""}/${p.namespace ?? ""}/${p.workload ?? workloadName(p) ?? ""}`;
    case "world":
      return p.names.length ? `fqdn:${p.names.join(",")}` : `ip:${p.ip ?? ""}`;
    case "cidr":
      return `cidr:${p.cidr}`;
    case "unknown":
      return `unknown:${p.identity ?? ""}:${p.ip ?? ""}`;
    default:
      return `entity:${p.kind}`;
  }
}

/** Short human label: `shop/Deployment/frontend`, `api.stripe.com`, `10.0.0.0/8`, `host`. */
export function peerLabel(p: Peer): string {
  switch (p.kind) {
    case "pod":
      return `${p.namespace}/${p.workload ?? workloadName(p) ?? "?"}`;
    case "world":
      return p.names.length ? `${p.names.join(", ")}${p.ip ? ` (${p.ip})` : ""}` : `world ${p.ip ?? ""}`.trim();
    case "cidr":
      return `CIDR ${p.cidr}`;
    case "unknown":
      return p.ip ? `unknown ${p.ip}` : `identity ${p.identity ?? "?"}`;
    default:
      return `${p.kind}${p.ip ? ` ${p.ip}` : ""}`;
  }
}

/** Both peers of a flow JSON. */
export function flowPeers(flow: J): { src: Peer; dst: Peer } {
  const ip = record(flow.IP);
  return {
    src: peerOf(flow.source, text(ip.source), strs(flow.source_names)),
    dst: peerOf(flow.destination, text(ip.destination), strs(flow.destination_names)),
  };
}

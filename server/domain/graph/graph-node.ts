/**
 * Which map node one side of a flow belongs to, from hubble's Flow JSON (so stored contexts and live
 * items group identically). Pods collapse to their workload: the first entry of `workloads`, else
 * an app label, else the pod name without its ReplicaSet/pod hash. Reserved identities are one node
 * per cluster; the world splits into FQDN nodes (destination_names/source_names, or an `fqdn:`
 * label), CIDR identities, and a single "world" for the rest, so thousands of external IPs do not
 * turn into thousands of nodes.
 */
import type { GraphNode, GraphNodeKind } from "./graph-types";
import { reservedKindOf } from "../shared/reserved-identities";
import { record, strs, text } from "@/server/domain/shared/json";


const APP_LABEL = /^(?:[a-z0-9-]+:)?(app\.kubernetes\.io\/name|app|k8s-app|name)=(.+)$/;

function labelValue(labels: string[], key: string): string | undefined {
  for (const l of labels) {
    const m = APP_LABEL.exec(l);
    if (m && m[1] === key && m[2]) return m[2];
  }
  return undefined;
}

function appOf(labels: string[]): string | undefined {
  return labelValue(labels, "app.kubernetes.io/name") ?? labelValue(labels, "app") ?? labelValue(labels, "k8s-app") ?? labelValue(labels, "name");
}

/**
 * `backend-7d9f8b6c5d-x2x9k` → `backend`, `database-0` → `database`: pods of one controller share a
 * node. Kubernetes draws these suffixes from an alphabet without vowels (and 0, 1, 3), which keeps
 * `node-exporter` from losing its "-exporter".
 */
const SAFE = "[bcdfghjklmnpqrstvwxz2456789]";
const HASHED = new RegExp(`-${SAFE}{6,10}-${SAFE}{5}$`);
const POD_SUFFIX = new RegExp(`-${SAFE}{5}$`);
export function podBaseName(pod: string): string {
  if (HASHED.test(pod)) return pod.replace(HASHED, "");
  if (POD_SUFFIX.test(pod)) return pod.replace(POD_SUFFIX, "");
  return pod.replace(/-\d+$/, "");
}

function cleanName(n: string): string {
  return n.replace(/\.$/, "").toLowerCase();
}

function fqdnOf(labels: string[], names: string[]): string | undefined {
  const all = names.map(cleanName).filter(Boolean);
  if (all.length) return [...new Set(all)].sort()[0];
  const l = labels.find((x) => x.startsWith("fqdn:"));
  return l ? cleanName(l.slice(5)) : undefined;
}

function cidrOf(labels: string[]): string | undefined {
  // Cilium writes IPv6 CIDR labels with '-' for ':'; the most specific prefix names the identity
  const cidrs = labels.filter((l) => l.startsWith("cidr:")).map((l) => l.slice(5).replace(/-/g, ":"));
  const bits = (c: string) => Number(c.split("/")[1] ?? -1);
  return cidrs.sort((a, b) => bits(b) - bits(a))[0];
}

/** `endpoint` is flow.source or flow.destination; `ip` and `names` belong to the same side. */
export function nodeOf(endpoint: unknown, ip: string | undefined, names: string[]): GraphNode {
  const ep = record(endpoint);
  const labels = strs(ep.labels);
  const cluster = text(ep.cluster_name);
  const namespace = text(ep.namespace);
  const identity = Number(ep.identity ?? 0) || 0;
  const c = cluster ?? "";

  const kind = reservedKindOf(labels, identity, namespace);
  const isWorld = kind === "world";
  const reserved = isWorld ? undefined : kind;
  if (isWorld || (!namespace && !reserved)) {
    const fqdn = fqdnOf(labels, names);
    if (fqdn) return { id: `fqdn:${fqdn}`, kind: "fqdn", label: fqdn };
    const cidr = cidrOf(labels);
    if (cidr) return { id: `cidr:${cidr}`, kind: "cidr", label: cidr };
    if (isWorld) return { id: "world", kind: "world", label: "world" };
  }
  if (reserved) {
    return { id: `${reserved}:${c}`, kind: reserved, label: reserved, ...(cluster ? { cluster } : {}) };
  }
  if (namespace) {
    const workloads = Array.isArray(ep.workloads) ? ep.workloads.map(record) : [];
    const w = workloads.find((x) => text(x.name));
    const pod = text(ep.pod_name);
    const app = appOf(labels);
    const name = text(w?.name) ?? app ?? (pod ? podBaseName(pod) : undefined) ?? (identity ? `identity-${identity}` : "unknown");
    const node: GraphNode = { id: `w:${c}/${namespace}/${name}`, kind: "workload", label: name, namespace };
    if (cluster) node.cluster = cluster;
    if (w && text(w.name)) node.workload = `${text(w.kind) ?? ""}/${text(w.name)}`;
    if (app) node.app = app;
    return node;
  }
  // no endpoint information at all (e.g. a flow seen before identity resolution): group by identity
  const key = identity ? `identity-${identity}` : (ip ?? "unknown");
  return { id: `unknown:${c}/${key}`, kind: "unknown", label: identity ? `identity ${identity}` : (ip ?? "unknown"), ...(cluster ? { cluster } : {}) };
}

/** Noise hidden by default (hubble-ui #240): host, health and unmanaged peers and all of kube-system. */
export function isNoise(n: GraphNode): boolean {
  return n.kind === "host" || n.kind === "health" || n.kind === "unmanaged" || n.namespace === "kube-system";
}

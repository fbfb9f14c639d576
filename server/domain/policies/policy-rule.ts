/**
 * One small model of an allow policy, rendered two ways: as a CiliumNetworkPolicy (cilium.io/v2)
 * and as a Kubernetes NetworkPolicy (networking.k8s.io/v1). Both the "rule that would allow this
 * drop" and the namespace suggestion build this model, and the coverage preview evaluates the same
 * model, so what we preview is what we print.
 *
 * Least privilege: selectors use the workload's identifying labels only; a peer is never widened
 * silently — where a format cannot express a peer or a port exactly, the plan carries a warning
 * (and NetworkPolicy output is withheld rather than allowing more than was asked).
 */
import { stringify } from "yaml";

export type Entity = "host" | "remote-node" | "kube-apiserver" | "health" | "ingress" | "world";

export type PeerSelector =
  | { kind: "endpoints"; namespace: string; labels: Record<string, string> }
  | { kind: "fqdn"; name: string; ips: string[] }
  | { kind: "cidr"; cidr: string }
  | { kind: "entity"; entity: Entity; ips: string[] };

export interface PortRule {
  protocol: "TCP" | "UDP" | "SCTP" | "ANY" | "ICMPv4" | "ICMPv6";
  port?: number;
  icmpType?: number;
}

export interface AllowRule {
  direction: "ingress" | "egress";
  /** undefined = the empty rule `{}` (default deny for that direction) */
  peer?: PeerSelector;
  /** empty = every port (always accompanied by a warning) */
  ports: PortRule[];
  http?: { method: string; path: string }[];
  /** DNS proxy rules (Cilium only): which names may be looked up */
  dns?: ({ matchPattern: string } | { matchName: string })[];
}

export interface PolicyPlan {
  name: string;
  namespace: string;
  /** endpoint labels (keys without source prefix); {} = every pod of the namespace */
  subject: Record<string, string>;
  rules: AllowRule[];
  warnings: string[];
  /** why this policy exists, for metadata annotations and the UI */
  description: string;
}

/** Labels that identify a workload, in order of preference (all of those present are used). */
const IDENTIFYING = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
  "app",
  "k8s-app",
  "component",
  "tier",
  "name",
];
/** Per-pod or Cilium-internal labels: selecting on them would select one pod or nothing stable. */
const UNSTABLE = /^(io\.kubernetes\.pod\.namespace|io\.cilium\.|pod-template-hash$|controller-revision-hash$|statefulset\.kubernetes\.io\/pod-name$|apps\.kubernetes\.io\/pod-index$|batch\.kubernetes\.io\/controller-uid$|controller-uid$|pod-template-generation$)/;

/** The matchLabels that select a workload's pods, from Hubble's `k8s:key=value` labels. */
export function selectorLabels(labels: readonly string[]): Record<string, string> {
  const kv = new Map<string, string>();
  for (const l of labels) {
    if (!l.startsWith("k8s:")) continue;
    const body = l.slice(4);
    const eq = body.indexOf("=");
    const key = eq < 0 ? body : body.slice(0, eq);
    if (UNSTABLE.test(key)) continue;
    kv.set(key, eq < 0 ? "" : body.slice(eq + 1));
  }
  const ident = IDENTIFYING.filter((k) => kv.has(k));
  const keys = ident.length ? ident : [...kv.keys()].sort();
  return Object.fromEntries(keys.map((k) => [k, kv.get(k)!]));
}

/** A DNS-1123 name of at most 63 characters. */
export function policyNameFrom(...parts: string[]): string {
  const s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return (s.slice(0, 63).replace(/-+$/, "") || "allow");
}

/** An exact-path regex for a Cilium HTTP rule (Cilium anchors nothing itself). */
export function exactPath(path: string): string {
  // RE2 (Cilium's engine) metacharacters only: "/" stays readable
  return `^${(path || "/").replace(/[.+*?()|[\]{}^$\\]/g, "\\$&")}$`;
}

const NS_LABEL = "k8s:io.kubernetes.pod.namespace";

function ciliumPeer(rule: AllowRule, policyNs: string): Record<string, unknown> {
  const p = rule.peer;
  if (!p) return {};
  const dir = rule.direction === "ingress" ? "from" : "to";
  switch (p.kind) {
    case "endpoints": {
      // a namespaced CNP's endpoint selectors only see its own namespace unless told otherwise
      const matchLabels: Record<string, string> = { ...p.labels };
      if (p.namespace !== policyNs) matchLabels[NS_LABEL] = p.namespace;
      return { [`${dir}Endpoints`]: [Object.keys(matchLabels).length ? { matchLabels } : {}] };
    }
    case "fqdn":
      return { toFQDNs: [{ matchName: p.name }] };
    case "cidr":
      return { [`${dir}CIDR`]: [p.cidr] };
    case "entity":
      return { [`${dir}Entities`]: [p.entity] };
  }
}

function ciliumPorts(rule: AllowRule): Record<string, unknown> {
  const l4 = rule.ports.filter((p) => p.protocol !== "ICMPv4" && p.protocol !== "ICMPv6");
  const icmp = rule.ports.filter((p) => p.protocol === "ICMPv4" || p.protocol === "ICMPv6");
  const out: Record<string, unknown> = {};
  if (l4.length) {
    const toPort: Record<string, unknown> = {
      ports: l4.map((p) => ({ port: String(p.port ?? 0), protocol: p.protocol })),
    };
    const rules: Record<string, unknown> = {};
    if (rule.http?.length) rules.http = rule.http.map((h) => ({ method: h.method, path: exactPath(h.path) }));
    if (rule.dns?.length) rules.dns = rule.dns;
    if (Object.keys(rules).length) toPort.rules = rules;
    out.toPorts = [toPort];
  }
  if (icmp.length) {
    out.icmps = [{ fields: icmp.map((p) => ({ type: p.icmpType ?? 0, family: p.protocol === "ICMPv6" ? "IPv6" : "IPv4" })) }];
  }
  return out;
}

export function toCiliumNetworkPolicy(plan: PolicyPlan): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    endpointSelector: Object.keys(plan.subject).length ? { matchLabels: plan.subject } : {},
  };
  for (const dir of ["ingress", "egress"] as const) {
    const rules = plan.rules.filter((r) => r.direction === dir);
    if (rules.length) spec[dir] = rules.map((r) => ({ ...ciliumPeer(r, plan.namespace), ...ciliumPorts(r) }));
  }
  return {
    apiVersion: "cilium.io/v2",
    kind: "CiliumNetworkPolicy",
    metadata: { name: plan.name, namespace: plan.namespace, annotations: { "flowlens.io/description": plan.description } },
    spec,
  };
}

export interface KubernetesRender {
  policy: Record<string, unknown> | null;
  /** what NetworkPolicy cannot express here (and why the policy is null, or wider than Cilium's) */
  notes: string[];
}

const ipBlock = (ip: string) => ({ ipBlock: { cidr: ip.includes(":") ? `${ip}/128` : `${ip}/32` } });

function npPeer(rule: AllowRule, policyNs: string, notes: string[]): Record<string, unknown>[] | null {
  const p = rule.peer;
  if (!p) return [];
  switch (p.kind) {
    case "endpoints": {
      const podSelector = Object.keys(p.labels).length ? { matchLabels: p.labels } : {};
      if (p.namespace === policyNs) return [{ podSelector }];
      return [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } }, podSelector }];
    }
    case "cidr":
      return [{ ipBlock: { cidr: p.cidr } }];
    case "fqdn":
      if (!p.ips.length) {
        notes.push(`NetworkPolicy cannot name ${p.name}: no IP of it was observed, so this rule is left out.`);
        return null;
      }
      notes.push(
        `NetworkPolicy has no DNS names: ${p.name} is allowed by every IP it was seen at (${p.ips.join(", ")}). DNS answers change: when ${p.name} moves to another IP this rule stops matching — prefer the CiliumNetworkPolicy (toFQDNs).`,
      );
      return p.ips.map(ipBlock);
    case "entity":
      if (p.entity === "world") {
        notes.push("NetworkPolicy: allowing the world means ipBlock 0.0.0.0/0 — left out; use the CiliumNetworkPolicy.");
        return null;
      }
      if (!p.ips.length) {
        notes.push(`NetworkPolicy has no "${p.entity}" entity and no IP was observed: this rule is left out.`);
        return null;
      }
      notes.push(`NetworkPolicy has no "${p.entity}" entity: allowed by the node IPs observed (${p.ips.join(", ")}).`);
      return p.ips.map(ipBlock);
  }
}

export function toNetworkPolicy(plan: PolicyPlan): KubernetesRender {
  const notes: string[] = [];
  const spec: Record<string, unknown> = {
    podSelector: Object.keys(plan.subject).length ? { matchLabels: plan.subject } : {},
  };
  const types: string[] = [];
  let kept = 0;
  for (const dir of ["ingress", "egress"] as const) {
    const rules = plan.rules.filter((r) => r.direction === dir);
    if (!rules.length) continue;
    types.push(dir === "ingress" ? "Ingress" : "Egress");
    const out: Record<string, unknown>[] = [];
    for (const r of rules) {
      if (!r.peer) continue; // `{}` in Cilium = default deny; in NetworkPolicy the policyType alone does it
      if (r.ports.some((p) => p.protocol === "ICMPv4" || p.protocol === "ICMPv6")) {
        notes.push("NetworkPolicy cannot match ICMP: that rule is left out.");
        continue;
      }
      const peers = npPeer(r, plan.namespace, notes);
      if (peers === null) continue;
      if (r.http?.length) notes.push("NetworkPolicy has no HTTP rules: it allows every request on the port.");
      if (r.dns?.length && r.peer.kind === "endpoints") notes.push("NetworkPolicy cannot restrict DNS names: every lookup is allowed.");
      const rule: Record<string, unknown> = { [dir === "ingress" ? "from" : "to"]: peers };
      const ports = r.ports.flatMap((p) =>
        p.protocol === "ANY" ? [{ port: p.port, protocol: "UDP" }, { port: p.port, protocol: "TCP" }] : [{ port: p.port, protocol: p.protocol }],
      );
      if (ports.length) rule.ports = ports;
      out.push(rule);
      kept++;
    }
    spec[dir] = out;
  }
  spec.policyTypes = types;
  const allowing = plan.rules.filter((r) => r.peer).length;
  if (allowing > 0 && kept === 0) return { policy: null, notes };
  return {
    policy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: plan.name, namespace: plan.namespace, annotations: { "flowlens.io/description": plan.description } },
      spec,
    },
    notes: [...new Set(notes)],
  };
}

export function toYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0 });
}

/** Several documents in one YAML stream (kubectl apply -f accepts it). */
export function toYamlStream(docs: unknown[]): string {
  return docs.map(toYaml).join("---\n");
}

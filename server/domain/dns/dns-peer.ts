/**
 * Who asked and who answered: a DNS peer from a Hubble endpoint. The workload name is what the
 * findings and lanes are keyed by, so it uses the most specific thing Hubble sent: the workload
 * (Cilium 1.13+), else the app / k8s-app label, else the pod name without its generated suffix,
 * else the reserved identity (host, world) or the IP.
 */
import type { DnsPeer } from "./dns-types";

/** What a peer needs of an endpoint: a protobuf Endpoint has it, and so does its JSON after fromJsonEndpoint. */
export interface EndpointLike {
  namespace: string;
  podName: string;
  labels: readonly string[];
  workloads: readonly { name: string }[];
}

/** The same fields from hubble's JSON form of an Endpoint (any of them may be missing). */
export function fromJsonEndpoint(ep: unknown): EndpointLike | undefined {
  if (!ep || typeof ep !== "object") return undefined;
  const e = ep as { namespace?: string; pod_name?: string; labels?: string[]; workloads?: { name?: string }[] };
  return {
    namespace: e.namespace ?? "",
    podName: e.pod_name ?? "",
    labels: e.labels ?? [],
    workloads: (e.workloads ?? []).map((w) => ({ name: w.name ?? "" })),
  };
}

function labelValue(ep: EndpointLike, key: string): string | undefined {
  for (const l of ep.labels) {
    const bare = l.replace(/^[a-z0-9-]+:/, "");
    const eq = bare.indexOf("=");
    if (eq > 0 && bare.slice(0, eq) === key) return bare.slice(eq + 1);
  }
  return undefined;
}

/** node-local-dns-88zrp → node-local-dns, coredns-5d78c9869d-x7k2p → coredns, web-0 → web */
export function podBaseName(pod: string): string {
  return pod.replace(/(-[a-z0-9]{6,10})?-[a-z0-9]{5}$/, "").replace(/-\d+$/, "") || pod;
}

/** "namespace/name" of the workload, from the most specific thing Hubble sent. */
export function peer(ep: EndpointLike | undefined, ip: string): DnsPeer {
  const namespace = ep?.namespace ?? "";
  const pod = ep?.podName ?? "";
  const scoped = (name: string) => (namespace ? `${namespace}/${name}` : name);
  let workload = "";
  if (ep) {
    const w = ep.workloads.find((x) => x.name);
    const app = labelValue(ep, "app") ?? labelValue(ep, "k8s-app") ?? labelValue(ep, "app.kubernetes.io/name");
    if (w) workload = scoped(w.name);
    else if (app && namespace) workload = scoped(app);
    else if (pod) workload = scoped(podBaseName(pod));
    else {
      const reserved = ep.labels.find((l) => l.startsWith("reserved:"));
      if (reserved) workload = reserved === "reserved:world" && ip ? ip : reserved.slice("reserved:".length);
    }
  }
  return { ip, namespace, pod, workload: workload || ip || "unknown" };
}

/** Cilium's fixed numeric identities, named as their `reserved:` labels: for endpoints that came without labels. */
export const RESERVED_IDENTITIES: Readonly<Record<number, string>> = {
  1: "host",
  2: "world",
  3: "unmanaged",
  4: "health",
  5: "init",
  6: "remote-node",
  7: "kube-apiserver",
  8: "ingress",
  9: "world-ipv4",
  10: "world-ipv6",
};

/** The Cilium entities a peer can be (each one node per cluster on the map, one `toEntities` in policy). */
export type EntityKind = "host" | "remote-node" | "kube-apiserver" | "health" | "ingress" | "init" | "unmanaged";

/**
 * reserved label → entity, most specific first: the kube-apiserver's endpoints also carry
 * reserved:host or reserved:remote-node on some setups, and a remote node is a host too.
 */
const RESERVED_LABELS: readonly (readonly [string, EntityKind])[] = [
  ["reserved:kube-apiserver", "kube-apiserver"],
  ["reserved:health", "health"],
  ["reserved:remote-node", "remote-node"],
  ["reserved:host", "host"],
  ["reserved:ingress", "ingress"],
  ["reserved:init", "init"],
  ["reserved:unmanaged", "unmanaged"],
];

/**
 * What Cilium's reserved identities make one side of a flow: an entity, the world (`reserved:world`,
 * `reserved:world-ipv4/-ipv6`), or undefined (a pod, a CIDR identity, or nothing known). Labels
 * decide first; the numeric identity only when no label says and the endpoint has no
 * namespace (a namespace means a pod). The one rule for /drops, /map and the policy views.
 */
export function reservedKindOf(labels: readonly string[], identity: number, namespace: string | undefined): EntityKind | "world" | undefined {
  for (const [label, kind] of RESERVED_LABELS) if (labels.includes(label)) return kind;
  if (labels.some((l) => l.startsWith("reserved:world"))) return "world";
  if (namespace) return undefined;
  const name = RESERVED_IDENTITIES[identity];
  if (name === undefined) return undefined;
  return name.startsWith("world") ? "world" : (name as EntityKind);
}

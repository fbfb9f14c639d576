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

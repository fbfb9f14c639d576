/**
 * The demo cluster: a 3-node kind cluster running Cilium 1.19 with the `shop` app from the
 * Kubernetes NetworkPolicy course (frontend → backend → database), CoreDNS, an ingress
 * controller and Prometheus. Addresses follow kind's defaults (nodes on 172.18.0.0/16, pods on
 * 10.244.N.0/24 per node, services on 10.96.0.0/16), identities and endpoint IDs look like what
 * a real agent allocates.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EndpointSchema, ServiceSchema } from "@/proto/gen/flow/flow_pb";

export type EndpointInit = MessageInitShape<typeof EndpointSchema>;
export type ServiceInit = MessageInitShape<typeof ServiceSchema>;

export const CLUSTER = "default";

export interface DemoNode {
  name: string;
  ip: string;
  /** cilium_host address: where host-originated traffic to pods comes from */
  hostIp: string;
  /** cilium-health endpoint on this node */
  healthIp: string;
  labels: string[];
}

function nodeLabels(name: string, controlPlane = false): string[] {
  const labels = [
    "beta.kubernetes.io/arch=amd64",
    "beta.kubernetes.io/os=linux",
    "kubernetes.io/arch=amd64",
    `kubernetes.io/hostname=${name}`,
    "kubernetes.io/os=linux",
  ];
  if (controlPlane) labels.push("node-role.kubernetes.io/control-plane=", "node.kubernetes.io/exclude-from-external-load-balancers=");
  return labels;
}

export const NODES = {
  controlPlane: {
    name: "kind-control-plane",
    ip: "172.18.0.2",
    hostIp: "10.244.0.73",
    healthIp: "10.244.0.160",
    labels: nodeLabels("kind-control-plane", true),
  },
  worker: { name: "kind-worker", ip: "172.18.0.3", hostIp: "10.244.1.160", healthIp: "10.244.1.204", labels: nodeLabels("kind-worker") },
  worker2: { name: "kind-worker2", ip: "172.18.0.4", hostIp: "10.244.2.18", healthIp: "10.244.2.95", labels: nodeLabels("kind-worker2") },
} satisfies Record<string, DemoNode>;

export const NODE_LIST: DemoNode[] = Object.values(NODES);

/** One side of a flow: what Hubble would put into source/destination, plus where it lives. */
export interface Peer {
  endpoint: EndpointInit;
  ip: string;
  /** node hosting a Cilium-managed endpoint; undefined for peers outside the cluster */
  node?: DemoNode;
  /** a Cilium endpoint (pod) whose traffic the agent sees and whose policy it enforces */
  managed: boolean;
  mac?: string;
  app?: string;
  service?: ServiceInit;
  /** DNS names Hubble knows the IP by (destination_names / source_names) */
  names?: string[];
}

interface PodSpec {
  app: string;
  namespace: string;
  podName: string;
  node: DemoNode;
  ip: string;
  identity: number;
  endpointId: number;
  serviceAccount: string;
  workload: { name: string; kind: string };
  appLabelKey?: string;
  extraLabels?: string[];
  service?: ServiceInit;
}

function podLabels(p: PodSpec): string[] {
  return [
    `k8s:${p.appLabelKey ?? "app"}=${p.app}`,
    ...(p.extraLabels ?? []),
    `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${p.namespace}`,
    `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`,
    `k8s:io.cilium.k8s.policy.serviceaccount=${p.serviceAccount}`,
    `k8s:io.kubernetes.pod.namespace=${p.namespace}`,
  ].sort();
}

function macFor(ip: string): string {
  const [, , c, d] = ip.split(".").map(Number);
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return `8e:${hex((c * 7) & 0xff)}:${hex((d * 13) & 0xff)}:4c:${hex(c)}:${hex(d)}`;
}

function pod(p: PodSpec): Peer {
  return {
    endpoint: {
      ID: p.endpointId,
      identity: p.identity,
      namespace: p.namespace,
      labels: podLabels(p),
      podName: p.podName,
      workloads: [p.workload],
      clusterName: CLUSTER,
    },
    ip: p.ip,
    node: p.node,
    managed: true,
    mac: macFor(p.ip),
    app: p.app,
    service: p.service,
  };
}

const deployment = (name: string) => ({ name, kind: "Deployment" });
const statefulSet = (name: string) => ({ name, kind: "StatefulSet" });

export const SERVICES = {
  frontend: { name: "frontend", namespace: "shop" },
  backend: { name: "backend", namespace: "shop" },
  database: { name: "database", namespace: "shop" },
  kubeDns: { name: "kube-dns", namespace: "kube-system" },
  ingress: { name: "ingress-nginx-controller", namespace: "ingress-nginx" },
} satisfies Record<string, ServiceInit>;

const shop = (app: string, podName: string, node: DemoNode, ip: string, identity: number, endpointId: number, kind = "Deployment") =>
  pod({
    app,
    namespace: "shop",
    podName,
    node,
    ip,
    identity,
    endpointId,
    serviceAccount: app,
    workload: kind === "Deployment" ? deployment(app) : statefulSet(app),
    service: SERVICES[app as "frontend" | "backend" | "database"],
    extraLabels: [`k8s:tier=${app === "frontend" ? "web" : app === "backend" ? "api" : "data"}`],
  });

export const PODS = {
  frontend: [
    shop("frontend", "frontend-6d8c9b7f5d-2xkqp", NODES.worker, "10.244.1.23", 21843, 1187),
    shop("frontend", "frontend-6d8c9b7f5d-v7m4n", NODES.worker2, "10.244.2.41", 21843, 392),
  ],
  backend: [
    shop("backend", "backend-5f7b8c6d9-hq4zt", NODES.worker, "10.244.1.57", 8453, 2604),
    shop("backend", "backend-5f7b8c6d9-w2x8r", NODES.worker2, "10.244.2.112", 8453, 1419),
  ],
  database: [shop("database", "database-0", NODES.worker, "10.244.1.201", 40271, 3071, "StatefulSet")],
  coredns: [
    pod({
      app: "kube-dns",
      appLabelKey: "k8s-app",
      namespace: "kube-system",
      podName: "coredns-7db6d8ff4d-4jv6n",
      node: NODES.controlPlane,
      ip: "10.244.0.11",
      identity: 62337,
      endpointId: 1021,
      serviceAccount: "coredns",
      workload: deployment("coredns"),
      service: SERVICES.kubeDns,
    }),
    pod({
      app: "kube-dns",
      appLabelKey: "k8s-app",
      namespace: "kube-system",
      podName: "coredns-7db6d8ff4d-wx9kp",
      node: NODES.worker,
      ip: "10.244.1.9",
      identity: 62337,
      endpointId: 507,
      serviceAccount: "coredns",
      workload: deployment("coredns"),
      service: SERVICES.kubeDns,
    }),
  ],
  ingress: [
    pod({
      app: "ingress-nginx",
      appLabelKey: "app.kubernetes.io/name",
      extraLabels: ["k8s:app.kubernetes.io/component=controller", "k8s:app.kubernetes.io/instance=ingress-nginx"],
      namespace: "ingress-nginx",
      podName: "ingress-nginx-controller-7c6974c4d8-r2kcl",
      node: NODES.controlPlane,
      ip: "10.244.0.45",
      identity: 3201,
      endpointId: 1688,
      serviceAccount: "ingress-nginx",
      workload: deployment("ingress-nginx-controller"),
      service: SERVICES.ingress,
    }),
  ],
  prometheus: [
    pod({
      app: "prometheus",
      appLabelKey: "app.kubernetes.io/name",
      extraLabels: ["k8s:app.kubernetes.io/instance=k8s", "k8s:prometheus=k8s"],
      namespace: "monitoring",
      podName: "prometheus-k8s-0",
      node: NODES.worker2,
      ip: "10.244.2.87",
      identity: 11762,
      endpointId: 2245,
      serviceAccount: "prometheus-k8s",
      workload: statefulSet("prometheus-k8s"),
    }),
  ],
};

/** One Peer object per key: flows built from it share its Endpoint message (demo-flow-builder). */
function memo<A extends unknown[]>(key: (...a: A) => string, make: (...a: A) => Peer): (...a: A) => Peer {
  const cache = new Map<string, Peer>();
  return (...a) => {
    const k = key(...a);
    let p = cache.get(k);
    if (!p) cache.set(k, (p = make(...a)));
    return p;
  };
}

/** reserved:host as seen by the agent on `node` (kubelet probes come from cilium_host). */
export const hostPeer = memo(
  (node: DemoNode) => node.name,
  (node) => ({ endpoint: { identity: 1, labels: ["reserved:host"] }, ip: node.hostIp, node, managed: false }),
);

/** Another node as a peer, at `ip` (cilium-health probes between nodes come from remote-node). */
export const remoteNodePeer = memo(
  (node: DemoNode, ip: string = node.hostIp) => `${node.name}/${ip}`,
  (node, ip = node.hostIp) => ({ endpoint: { identity: 6, labels: ["reserved:remote-node"] }, ip, node, managed: false }),
);

/** The cilium-health endpoint of a node. */
export const healthPeer = memo(
  (node: DemoNode) => node.name,
  (node) => ({
    endpoint: { ID: 132 + NODE_LIST.indexOf(node), identity: 4, labels: ["reserved:health"] },
    ip: node.healthIp,
    node,
    managed: true,
  }),
);

export const KUBE_APISERVER: Peer = {
  endpoint: { identity: 7, labels: ["reserved:kube-apiserver"] },
  ip: NODES.controlPlane.ip,
  managed: false,
};

export interface WorldSite {
  name: string;
  ips: string[];
  cnames?: string[];
  /** identity and labels of the IPs; toFQDNs-selected IPs get a local fqdn identity */
  identity: number;
  labels: string[];
}

export const WORLD_SITES = {
  stripe: {
    name: "api.stripe.com",
    ips: ["54.187.174.169", "54.187.205.235", "54.187.216.72"],
    identity: 16777217,
    labels: ["fqdn:api.stripe.com", "reserved:world"],
  },
  pypi: { name: "pypi.org", ips: ["151.101.0.223", "151.101.64.223"], identity: 2, labels: ["reserved:world"] },
  analytics: {
    name: "www.google-analytics.com",
    ips: ["142.250.185.78"],
    cnames: ["www-google-analytics.l.google.com."],
    identity: 2,
    labels: ["reserved:world"],
  },
  example: { name: "example.com", ips: ["93.184.216.34"], identity: 2, labels: ["reserved:world"] },
} satisfies Record<string, WorldSite>;

export const worldPeer = memo(
  (site: WorldSite, ip: string = site.ips[0]) => `${site.name}/${ip}`,
  (site, ip = site.ips[0]) => ({ endpoint: { identity: site.identity, labels: site.labels }, ip, managed: false, names: [site.name] }),
);

/** Clients on the internet (documentation ranges) reaching the ingress controller. */
export const WORLD_CLIENTS = ["203.0.113.24", "198.51.100.77", "203.0.113.190", "192.0.2.45", "93.184.216.34"];

export const worldClient = memo(
  (ip: string) => ip,
  (ip) => ({ endpoint: { identity: 2, labels: ["reserved:world"] }, ip, managed: false }),
);

/** Upstream resolver CoreDNS forwards to (kind's Docker network gateway). */
export const UPSTREAM_DNS: Peer = { endpoint: { identity: 2, labels: ["reserved:world"] }, ip: "172.18.0.1", managed: false };

/** An IP that belonged to a pod deleted a minute ago: packets to it hit STALE_OR_UNROUTABLE_IP. */
export const STALE_POD: Peer = { endpoint: { identity: 2, labels: ["reserved:world"] }, ip: "10.244.2.77", managed: false };

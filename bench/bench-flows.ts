/**
 * Realistic synthetic flows for benchmarks: ~600 conversations across 3 nodes and 12 namespaces,
 * TCP with ephemeral source ports and flags, 10 % DNS and 8 % HTTP (L7 with latency), 3 % drops
 * with a denying policy; every flow with a uuid like a current agent.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { GetFlowsResponseSchema, type GetFlowsResponse } from "@/proto/gen/observer/observer_pb";
import { DropReason, FlowType, IPVersion, L7FlowType, TraceObservationPoint, TrafficDirection, Verdict, type Endpoint } from "@/proto/gen/flow/flow_pb";

const NODES = ["kind-control-plane", "kind-worker", "kind-worker2"];

function ep(ns: number, app: number, pod: number): Endpoint {
  const nsName = `team-${ns}`;
  const appName = `svc-${app}`;
  return {
    $typeName: "flow.Endpoint",
    ID: 1000 + ns * 100 + app * 10 + pod,
    identity: 20000 + ns * 100 + app,
    namespace: nsName,
    labels: [
      `k8s:app=${appName}`,
      `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${nsName}`,
      "k8s:io.cilium.k8s.policy.cluster=default",
      `k8s:io.cilium.k8s.policy.serviceaccount=${appName}`,
      `k8s:io.kubernetes.pod.namespace=${nsName}`,
    ],
    podName: `${appName}-7d9f8b6c5-${pod}x${ns}q`,
    workloads: [{ $typeName: "flow.Workload", name: appName, kind: "Deployment" }],
    clusterName: "default",
  };
}

/** `nodes`: the node names flows are observed on (a per-node benchmark gives each agent its own) */
export function* benchFlows(count: number, startNs: bigint, stepNs = 20_000n, nodes: readonly string[] = NODES): Generator<GetFlowsResponse> {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < count; i++) {
    const conv = Math.floor(rnd() * 600);
    const ns = conv % 12;
    const src = ep(ns, conv % 7, conv % 3);
    const dst = ep((ns + (conv % 4 === 0 ? 1 : 0)) % 12, (conv + 3) % 7, (conv + 1) % 3);
    const node = nodes[conv % nodes.length];
    const kind = rnd();
    const time = startNs + BigInt(i) * stepNs;
    const base = {
      time: { seconds: time / 1_000_000_000n, nanos: Number(time % 1_000_000_000n) },
      uuid: randomUUID(),
      nodeName: node,
      source: src,
      destination: dst,
      IP: { source: `10.244.${ns}.${(conv % 250) + 2}`, destination: `10.244.${(ns + 1) % 12}.${((conv + 3) % 250) + 2}`, ipVersion: IPVersion.IPv4 },
      trafficDirection: conv % 2 ? TrafficDirection.EGRESS : TrafficDirection.INGRESS,
      isReply: false,
    };
    let flow;
    if (kind < 0.1) {
      const response = rnd() < 0.5;
      flow = {
        ...base,
        verdict: Verdict.FORWARDED,
        Type: FlowType.L7,
        eventType: { type: 129 },
        l4: { protocol: { case: "UDP" as const, value: { sourcePort: 30000 + Math.floor(rnd() * 30000), destinationPort: 53 } } },
        l7: {
          type: response ? L7FlowType.RESPONSE : L7FlowType.REQUEST,
          latencyNs: response ? BigInt(Math.floor(rnd() * 20e6)) : 0n,
          record: {
            case: "dns" as const,
            value: {
              query: `svc-${conv % 7}.team-${ns}.svc.cluster.local.`,
              qtypes: ["A"],
              rcode: response && rnd() < 0.3 ? 3 : 0,
              ips: response ? [`10.96.${ns}.${conv % 250}`] : [],
              ttl: response ? 30 : 0,
              observationSource: "proxy",
            },
          },
        },
        Summary: `DNS ${response ? "Answer" : "Query"} svc-${conv % 7}.team-${ns}.svc.cluster.local. A`,
      };
    } else if (kind < 0.18) {
      const response = rnd() < 0.5;
      flow = {
        ...base,
        verdict: Verdict.FORWARDED,
        Type: FlowType.L7,
        eventType: { type: 129 },
        l4: { protocol: { case: "TCP" as const, value: { sourcePort: 30000 + Math.floor(rnd() * 30000), destinationPort: 8080 } } },
        l7: {
          type: response ? L7FlowType.RESPONSE : L7FlowType.REQUEST,
          latencyNs: response ? BigInt(Math.floor(rnd() * 50e6)) : 0n,
          record: {
            case: "http" as const,
            value: { code: response ? (rnd() < 0.04 ? 503 : 200) : 0, method: "GET", url: `http://svc-${conv % 7}:8080/api/items/${Math.floor(rnd() * 1000)}`, protocol: "HTTP/1.1" },
          },
        },
        Summary: `HTTP/1.1 GET http://svc-${conv % 7}:8080/api/items`,
      };
    } else {
      const dropped = kind > 0.97;
      const syn = rnd() < 0.1;
      flow = {
        ...base,
        verdict: dropped ? Verdict.DROPPED : Verdict.FORWARDED,
        dropReasonDesc: dropped ? DropReason.POLICY_DENIED : DropReason.DROP_REASON_UNKNOWN,
        Type: FlowType.L3_L4,
        eventType: { type: dropped ? 1 : 4, subType: dropped ? 133 : 0 },
        traceObservationPoint: dropped ? TraceObservationPoint.UNKNOWN_POINT : TraceObservationPoint.TO_ENDPOINT,
        l4: { protocol: { case: "TCP" as const, value: { sourcePort: 30000 + Math.floor(rnd() * 30000), destinationPort: 8080 + (conv % 5), flags: syn ? { SYN: true } : { ACK: true, PSH: rnd() < 0.5 } } } },
        ingressDeniedBy: dropped ? [{ name: "default-deny", namespace: dst.namespace, kind: "CiliumNetworkPolicy", revision: 7n }] : [],
        ingressAllowedBy: dropped ? [] : [{ name: `allow-${conv % 7}`, namespace: dst.namespace, kind: "CiliumNetworkPolicy", revision: 7n }],
        Summary: syn ? "TCP Flags: SYN" : "TCP Flags: ACK, PSH",
      };
    }
    yield create(GetFlowsResponseSchema, { responseTypes: { case: "flow", value: flow as never }, nodeName: node, time: base.time });
  }
}

import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { allowRuleFor, type AllowSuggestion } from "@/server/domain/policies/policy-allow";
import { selectorLabels, policyNameFrom } from "@/server/domain/policies/policy-rule";
import { drop, endpoint, hostEndpoint, tcp, udp, worldEndpoint } from "../fixtures/flow-builder";
import { DropReason, egress, groupOf } from "./drop-fixtures";
import { FlowType, L7FlowType } from "@/proto/gen/flow/flow_pb";

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, any> };

const frontend = endpoint({ ns: "shop", app: "frontend", labels: ["k8s:pod-template-hash=7d9f8", "k8s:tier=web"] });
const backend = endpoint({ ns: "shop", app: "backend" });

function ok(s: ReturnType<typeof allowRuleFor>): AllowSuggestion {
  if (!s.ok) throw new Error(`no suggestion: ${s.reason}`);
  return s.suggestion;
}

/** Both YAML texts parse, and have the shape kubectl expects. */
function docs(s: AllowSuggestion): { cnp: Doc; np: Doc | null } {
  const cnp = parse(s.ciliumYaml) as Doc;
  expect(cnp.apiVersion).toBe("cilium.io/v2");
  expect(cnp.kind).toBe("CiliumNetworkPolicy");
  expect(cnp.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  expect(cnp.metadata.name.length).toBeLessThanOrEqual(63);
  expect(cnp.spec.endpointSelector).toBeTypeOf("object");
  expect(cnp).toEqual(s.cilium);
  let np: Doc | null = null;
  if (s.kubernetesYaml) {
    np = parse(s.kubernetesYaml) as Doc;
    expect(np.apiVersion).toBe("networking.k8s.io/v1");
    expect(np.kind).toBe("NetworkPolicy");
    expect(np.spec.podSelector).toBeTypeOf("object");
    expect(Array.isArray(np.spec.policyTypes)).toBe(true);
  }
  return { cnp, np };
}

describe("least-privilege allow rule for a drop", () => {
  it("pod in the same namespace: ingress on the destination from the source's labels, one port", () => {
    const s = ok(allowRuleFor(groupOf(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/default-deny"] }, { source: frontend, destination: backend, l4: tcp(41000, 8080, { SYN: true }) }))));
    const { cnp, np } = docs(s);
    expect(cnp.metadata).toMatchObject({ name: "allow-frontend-to-backend-tcp8080", namespace: "shop" });
    expect(cnp.spec.endpointSelector).toEqual({ matchLabels: { app: "backend" } });
    // identifying labels only: no pod-template-hash, no namespace label inside the same namespace
    expect(cnp.spec.ingress).toEqual([{ fromEndpoints: [{ matchLabels: { app: "frontend", tier: "web" } }], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] }]);
    expect(cnp.spec.egress).toBeUndefined();
    expect(np!.spec).toEqual({
      podSelector: { matchLabels: { app: "backend" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "frontend", tier: "web" } } }], ports: [{ port: 8080, protocol: "TCP" }] }],
    });
    expect(s.warnings).toEqual([]);
  });

  it("pod in another namespace: CNP names the namespace label, NetworkPolicy a namespaceSelector — never all namespaces", () => {
    const prom = endpoint({ ns: "monitoring", app: "prometheus" });
    const s = ok(allowRuleFor(groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: prom, destination: backend, l4: tcp(41000, 9090, { SYN: true }) }))));
    const { cnp, np } = docs(s);
    expect(cnp.spec.ingress[0].fromEndpoints).toEqual([{ matchLabels: { app: "prometheus", "k8s:io.kubernetes.pod.namespace": "monitoring" } }]);
    expect(np!.spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: { app: "prometheus" } } },
    ]);
    expect(JSON.stringify(np)).not.toContain('"namespaceSelector":{}');
  });

  it("world by DNS name: egress toFQDNs plus the DNS lookup of exactly that name; NetworkPolicy falls back to the IP with a warning", () => {
    const g = groupOf(
      drop(
        { reason: DropReason.POLICY_DENIED },
        { ...egress, source: backend, destination: worldEndpoint(), destinationNames: ["api.github.com"], IP: { source: "10.244.1.5", destination: "140.82.112.5", ipVersion: 1 }, l4: tcp(41000, 443, { SYN: true }) },
      ),
    );
    const s = ok(allowRuleFor(g));
    const { cnp, np } = docs(s);
    expect(cnp.spec.endpointSelector).toEqual({ matchLabels: { app: "backend" } });
    expect(cnp.spec.egress[0]).toEqual({ toFQDNs: [{ matchName: "api.github.com" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] });
    expect(cnp.spec.egress[1].toEndpoints).toEqual([{ matchLabels: { "k8s-app": "kube-dns", "k8s:io.kubernetes.pod.namespace": "kube-system" } }]);
    expect(cnp.spec.egress[1].toPorts[0].rules.dns).toEqual([{ matchName: "api.github.com" }]);
    expect(np!.spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: "140.82.112.5/32" } }], ports: [{ port: 443, protocol: "TCP" }] });
    expect(s.warnings.join(" ")).toMatch(/NetworkPolicy has no DNS names/);
  });

  it("world by CIDR identity: toCIDR of that CIDR, saying it is wider than the one address", () => {
    const g = groupOf(
      drop({ reason: DropReason.POLICY_DENIED }, { ...egress, source: backend, destination: worldEndpoint(["cidr:10.96.0.0/12"]), IP: { source: "10.244.1.5", destination: "10.100.1.1", ipVersion: 1 }, l4: udp(41000, 514) }),
    );
    const s = ok(allowRuleFor(g));
    const { cnp, np } = docs(s);
    expect(cnp.spec.egress[0]).toEqual({ toCIDR: ["10.96.0.0/12"], toPorts: [{ ports: [{ port: "514", protocol: "UDP" }] }] });
    expect(np!.spec.egress[0].to).toEqual([{ ipBlock: { cidr: "10.96.0.0/12" } }]);
    expect(s.warnings.join(" ")).toMatch(/10\.100\.1\.1\/32/);
  });

  it("world by IP only: a /32, not the whole world", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: worldEndpoint(), destination: backend, IP: { source: "203.0.113.9", destination: "10.244.1.5", ipVersion: 1 } }));
    const { cnp } = docs(ok(allowRuleFor(g)));
    expect(cnp.spec.ingress[0].fromCIDR).toEqual(["203.0.113.9/32"]);
  });

  it("world with nothing known: entity world, with a loud warning", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { ...egress, source: backend, destination: worldEndpoint(), IP: undefined }));
    const s = ok(allowRuleFor(g));
    const { cnp, np } = docs(s);
    expect(cnp.spec.egress[0].toEntities).toEqual(["world"]);
    expect(s.warnings.join(" ")).toMatch(/WHOLE INTERNET/);
    expect(np).toBeNull();
  });

  it("host entity: fromEntities host; NetworkPolicy only by the observed node IP", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: hostEndpoint(), destination: backend, IP: { source: "172.18.0.2", destination: "10.244.1.5", ipVersion: 1 } }));
    const s = ok(allowRuleFor(g));
    const { cnp, np } = docs(s);
    expect(cnp.spec.ingress[0].fromEntities).toEqual(["host"]);
    expect(np!.spec.ingress[0].from).toEqual([{ ipBlock: { cidr: "172.18.0.2/32" } }]);
    expect(s.warnings.join(" ")).toMatch(/no "host" entity/);
  });

  it("remote-node entity on egress", () => {
    const remote = { identity: 6, labels: ["reserved:remote-node"] } as never;
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { ...egress, source: backend, destination: remote, IP: { source: "10.244.1.5", destination: "172.18.0.3", ipVersion: 1 }, l4: tcp(1, 10250, { SYN: true }) }));
    expect(docs(ok(allowRuleFor(g))).cnp.spec.egress[0].toEntities).toEqual(["remote-node"]);
  });

  it("HTTP drop: an L7 rule with the exact method and path", () => {
    const g = groupOf(
      drop(
        { reason: DropReason.POLICY_DENIED, deniedBy: ["shop/frontend-to-backend"] },
        {
          source: frontend,
          destination: backend,
          Type: FlowType.L7,
          l7: { type: L7FlowType.REQUEST, record: { case: "http", value: { method: "DELETE", url: "http://backend:8080/api/orders/7?x=1", protocol: "HTTP/1.1" } } },
        },
      ),
    );
    expect(g.http).toEqual([{ method: "DELETE", path: "/api/orders/7" }]);
    const s = ok(allowRuleFor(g));
    const { cnp } = docs(s);
    expect(cnp.spec.ingress[0].toPorts[0].rules.http).toEqual([{ method: "DELETE", path: "^/api/orders/7$" }]);
    expect(s.warnings.join(" ")).toMatch(/no HTTP rules/);
  });

  it("POLICY_DENY: still the rule, but warns that the deny wins", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENY, deniedBy: ["shop/deny-external-egress"] }, { ...egress, source: frontend, destination: worldEndpoint(), destinationNames: ["example.com"], IP: { source: "10.0.0.1", destination: "93.184.216.34", ipVersion: 1 } }));
    const s = ok(allowRuleFor(g));
    expect(s.warnings[0]).toMatch(/explicitly denied \(shop\/deny-external-egress\).*deny rules win/);
  });

  it("no allow rule for drops a policy cannot fix, nor for non-pod subjects", () => {
    const r = allowRuleFor(groupOf(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { source: frontend, destination: backend })));
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.reason).toMatch(/not a policy decision/);
    const host = allowRuleFor(groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: frontend, destination: hostEndpoint() })));
    expect(!host.ok && host.reason).toMatch(/not a pod/);
  });

  it("ICMP: Cilium icmps fields; NetworkPolicy cannot and says so", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: frontend, destination: backend, l4: { protocol: { case: "ICMPv4", value: { type: 8, code: 0 } } } as never }));
    const s = ok(allowRuleFor(g));
    const { cnp, np } = docs(s);
    expect(cnp.spec.ingress[0].icmps).toEqual([{ fields: [{ type: 8, family: "IPv4" }] }]);
    expect(np).toBeNull();
    expect(s.warnings.join(" ")).toMatch(/cannot match ICMP/);
  });
});

describe("selector labels and names", () => {
  it("keeps identifying labels and drops per-pod ones", () => {
    expect(selectorLabels(["k8s:app=a", "k8s:pod-template-hash=x", "k8s:io.kubernetes.pod.namespace=n", "k8s:io.cilium.k8s.policy.cluster=c", "reserved:host"])).toEqual({ app: "a" });
    expect(selectorLabels(["k8s:role=db", "k8s:pod-template-hash=x"])).toEqual({ role: "db" });
    expect(selectorLabels([])).toEqual({});
  });
  it("names are DNS-1123 and at most 63 characters", () => {
    const n = policyNameFrom("allow", "A_very.Long/name".repeat(10));
    expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(n.length).toBeLessThanOrEqual(63);
  });
});

import { describe, expect, it } from "vitest";
import { dropReasonInfo, dropReasonName, dropReasonNumber } from "@/server/domain/shared/drop-reasons";
import { deniedByText, dropWhy, whyText } from "@/server/domain/drops/drop-why";
import { drop, endpoint, worldEndpoint, hostEndpoint, tcp } from "../fixtures/flow-builder";
import { DropReason, TrafficDirection, Verdict, egress, groupOf, groupsOf } from "./drop-fixtures";

const web = endpoint({ ns: "shop", app: "frontend" });
const api = endpoint({ ns: "shop", app: "backend" });

describe("drop reasons", () => {
  it("names known reasons and keeps unknown numbers as numbers", () => {
    expect(dropReasonName(133)).toBe("POLICY_DENIED");
    expect(dropReasonName(181)).toBe("POLICY_DENY");
    expect(dropReasonName(250)).toBe("250");
    expect(dropReasonNumber("POLICY_DENY")).toBe(181);
    expect(dropReasonNumber(250)).toBe(250);
    expect(dropReasonNumber(undefined)).toBe(0);
    const unknown = dropReasonInfo(250);
    expect(unknown.known).toBe(false);
    expect(unknown.meaning).toMatch(/250/);
    expect(unknown.meaning).toMatch(/not known/);
  });
});

describe("why texts", () => {
  it("POLICY_DENY names the explicit deny policy", () => {
    const g = groupOf(
      drop(
        { reason: DropReason.POLICY_DENY, deniedBy: ["shop/deny-external-egress"] },
        { ...egress, source: web, destination: worldEndpoint(), destinationNames: ["example.com"], IP: { source: "10.0.0.1", destination: "93.184.216.34", ipVersion: 1 }, l4: tcp(40000, 443, { SYN: true }) },
      ),
    );
    expect(g.reasonName).toBe("POLICY_DENY");
    const why = whyText(g);
    expect(why).toMatch(/explicitly denied by CiliumNetworkPolicy shop\/deny-external-egress \(revision 1\)/);
    expect(why).toMatch(/deny rules win/);
  });

  it("POLICY_DENIED names the selecting policy when Hubble sent one", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/backend-to-db"] }, { source: api, destination: endpoint({ ns: "shop", app: "database" }), l4: tcp(40000, 5432, { SYN: true }) }));
    expect(whyText(g)).toMatch(/shop\/backend-to-db \(revision 1\) selects shop\/Deployment\/database for ingress but no rule .* allows shop\/Deployment\/backend on TCP\/5432/);
  });

  it("POLICY_DENIED without a named policy is a default deny", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: web, destination: api, l4: tcp(40000, 9090, { SYN: true }) }));
    expect(g.deniedBy).toEqual([]);
    expect(whyText(g)).toMatch(/^default deny: shop\/Deployment\/backend is selected by an ingress policy \(no flow names the policy\) and no rule allows this peer on TCP\/9090/);
    // the export's denied_by cell says so instead of staying empty
    expect(deniedByText(g)).toBe("no policy name in the flow");
    // other flows of the window name the policies deciding backend's ingress
    const known = { ...g, selectedBy: ["shop/default-deny", "shop/frontend-to-backend"] };
    expect(whyText(known)).toMatch(/other flows show shop\/default-deny, shop\/frontend-to-backend deciding its ingress/);
    expect(deniedByText(known)).toBe("no policy name in the flow; selected by shop/default-deny shop/frontend-to-backend");
    expect(deniedByText(groupOf(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { source: web, destination: api })))).toBe("not a policy decision");
  });

  it("AUDIT says it would have been dropped", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { verdict: Verdict.AUDIT, source: web, destination: api }));
    expect(g.verdict).toBe("AUDIT");
    expect(whyText(g)).toMatch(/^Would have been dropped/);
  });

  it("explains AUTH_REQUIRED, non-policy reasons and unknown numbers by their meaning", () => {
    expect(whyText(groupOf(drop({ reason: DropReason.AUTH_REQUIRED }, { source: web, destination: api })))).toMatch(/mutual authentication/);
    expect(whyText(groupOf(drop({ reason: DropReason.STALE_OR_UNROUTABLE_IP }, { source: web, destination: api })))).toMatch(/^STALE_OR_UNROUTABLE_IP: .*not routable/);
    expect(whyText(groupOf(drop({ reason: DropReason.CT_MAP_INSERTION_FAILED }, { source: web, destination: api })))).toMatch(/connection tracking map is full/);
    const unknown = whyText(groupOf(drop({ reason: 250 }, { source: web, destination: api })));
    expect(unknown).toMatch(/^250 \(unknown reason\): Drop reason 250 is not known/);
  });

  it("WHO/WHAT/WHEN/WHERE read like an audit entry and merge contexts of one workload", () => {
    const a = drop({ reason: DropReason.POLICY_DENIED }, { source: web, destination: api, nodeName: "kind-worker", time: "2026-11-23T18:00:00Z" });
    const b = drop({ reason: DropReason.POLICY_DENIED }, { source: endpoint({ ns: "shop", app: "frontend", pod: "frontend-other" }), destination: api, nodeName: "kind-worker2", time: "2026-11-23T18:05:00Z" });
    const gs = groupsOf(a, b);
    expect(gs).toHaveLength(1);
    const w = dropWhy(gs[0]);
    // WHO names every pod the group saw, as srcPods lists them
    expect(w.who).toMatch(/^shop\/Deployment\/frontend \(2 pods: frontend-\S+, frontend-other, identity/);
    expect(w.what).toBe("TCP/8080 from shop/Deployment/frontend to shop/Deployment/backend, dropped");
    expect(w.when).toBe("2 times between 2026-11-23T18:00:00Z and 2026-11-23T18:05:00Z");
    expect(w.where).toMatch(/^on nodes kind-worker, kind-worker2 \(cluster default\), at shop\/Deployment\/backend's ingress$/);
    expect(gs[0].srcPods).toHaveLength(2);
  });

  it("keeps different reasons, ports, directions and policies apart", () => {
    const base = { source: web, destination: api };
    const gs = groupsOf(
      drop({ reason: DropReason.POLICY_DENIED }, base),
      drop({ reason: DropReason.POLICY_DENY, deniedBy: ["shop/x"] }, base),
      drop({ reason: DropReason.POLICY_DENIED }, { ...base, l4: tcp(1, 9090, { SYN: true }) }),
      drop({ reason: DropReason.POLICY_DENIED }, { ...base, trafficDirection: TrafficDirection.EGRESS }),
      drop({ reason: DropReason.POLICY_DENIED, deniedBy: ["shop/y"] }, base),
    );
    expect(gs).toHaveLength(5);
  });

  it("describes entities and the world", () => {
    const g = groupOf(drop({ reason: DropReason.POLICY_DENIED }, { source: hostEndpoint(), destination: api, IP: { source: "172.18.0.2", destination: "10.244.1.5", ipVersion: 1 } }));
    expect(dropWhy(g).who).toBe("the host 172.18.0.2 entity (identity 1)");
  });
});

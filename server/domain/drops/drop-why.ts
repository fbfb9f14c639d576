/**
 * WHO / WHAT / WHEN / WHERE / WHY for a drop group, worded like an audit log entry. The same texts
 * are shown on /drops and written into the audit exports, so what a reviewer reads on screen is
 * what lands in the report.
 */
import { formatRfc3339Ns } from "../shared/time";
import { AUTH_REQUIRED, POLICY_DENIED, POLICY_DENY, POLICY_REASONS, dropReasonInfo } from "../shared/drop-reasons";
import { peerLabel, type Peer } from "../shared/peer";
import { policyName, type DropGroup, type PolicyRef } from "./drop-group";

export interface DropWhy {
  who: string;
  what: string;
  when: string;
  where: string;
  why: string;
}

/** `pods` are every pod the group saw on this side (the first slice's peer names only one) */
function describePeer(p: Peer, pods: string[] = p.pod ? [p.pod] : []): string {
  const bits: string[] = [];
  if (p.kind === "pod") {
    if (pods.length === 1) bits.push(`pod ${pods[0]}`);
    else if (pods.length >= MAX_PODS) bits.push(`${MAX_PODS} or more pods: ${pods.join(", ")}, …`);
    else if (pods.length > 1) bits.push(`${pods.length} pods: ${pods.join(", ")}`);
  } else if (p.ip && !peerLabel(p).includes(p.ip)) bits.push(p.ip);
  if (p.identity !== undefined) bits.push(`identity ${p.identity}`);
  if (p.cluster) bits.push(`cluster ${p.cluster}`);
  const what =
    p.kind === "pod" ? peerLabel(p) : p.kind === "world" || p.kind === "cidr" ? `the world: ${peerLabel(p)}` : `the ${peerLabel(p)} entity`;
  return bits.length ? `${what} (${bits.join(", ")})` : what;
}

/** DropGroup keeps at most this many pod names per side */
const MAX_PODS = 10;

/** The destination as a group saw it: a DNS name with every IP it was reached at. */
export function groupDestinationLabel(g: DropGroup): string {
  if (g.dst.kind === "world" && g.dst.names.length && g.dstIps.length > 1) return `${g.dst.names.join(", ")} (${g.dstIps.join(", ")})`;
  return peerLabel(g.dst);
}

function service(g: DropGroup): string {
  if (g.icmp) return `${g.protocol} type ${g.icmp.type} code ${g.icmp.code}`;
  if (g.protocol && g.port !== undefined) return `${g.protocol}/${g.port}`;
  return g.protocol || "traffic without L4 header";
}

function policyText(p: PolicyRef): string {
  return `${p.kind ? `${p.kind} ` : ""}${policyName(p)}${p.revision ? ` (revision ${p.revision})` : ""}`;
}

const sideOf = (g: DropGroup) =>
  g.direction === "INGRESS" ? `${peerLabel(g.dst)}'s ingress` : g.direction === "EGRESS" ? `${peerLabel(g.src)}'s egress` : "an unknown direction";

/** The selected endpoint: the destination for ingress, the source for egress. */
const subjectOf = (g: DropGroup) => (g.direction === "EGRESS" ? g.src : g.dst);

export function whyText(g: DropGroup): string {
  const info = dropReasonInfo(g.reason);
  const audit = g.verdict === "AUDIT";
  const lead = audit ? "Would have been dropped (policy audit mode lets it through): " : "";
  const subject = peerLabel(subjectOf(g));
  const dir = g.direction === "UNKNOWN" ? "" : g.direction.toLowerCase();
  if (g.reason === POLICY_DENY) {
    const named = g.deniedBy.length ? g.deniedBy.map(policyText).join(", ") : "a deny rule the agent did not name";
    return `${lead}explicitly denied by ${named}. ${info.meaning}`;
  }
  if (g.reason === POLICY_DENIED) {
    if (g.deniedBy.length) {
      return `${lead}${g.deniedBy.map(policyText).join(", ")} select${g.deniedBy.length === 1 ? "s" : ""} ${subject} for ${dir || "this direction"} but no rule in ${g.deniedBy.length === 1 ? "it" : "them"} (or any other policy) allows ${peerLabel(g.direction === "EGRESS" ? g.dst : g.src)} on ${service(g)}.`;
    }
    const known = g.selectedBy?.length
      ? ` (no flow of the group names it; other flows show ${g.selectedBy.join(", ")} deciding its ${dir || "traffic"})`
      : " (no flow names the policy)";
    return `${lead}default deny: ${subject} is selected by ${dir ? `an ${dir}` : "a"} policy${known} and no rule allows this peer on ${service(g)}.`;
  }
  if (g.reason === AUTH_REQUIRED) {
    const named = g.deniedBy.length ? ` (${g.deniedBy.map(policyText).join(", ")})` : "";
    return `${lead}${info.meaning}${named}`;
  }
  return `${lead}${info.name}${info.known ? "" : " (unknown reason)"}: ${info.meaning}`;
}

export function dropWhy(g: DropGroup): DropWhy {
  const what = `${service(g)} from ${peerLabel(g.src)} to ${groupDestinationLabel(g)}${
    g.http.length ? `, HTTP ${g.http.map((h) => `${h.method} ${h.path}`).join("; ")}` : ""
  }, ${g.verdict === "AUDIT" ? "audited" : "dropped"}`;
  const first = formatRfc3339Ns(BigInt(g.firstNs));
  const last = formatRfc3339Ns(BigInt(g.lastNs));
  const when = g.count === 1 ? `once at ${first}` : `${g.count} times between ${first} and ${last}`;
  const nodes = g.nodes.length ? `on node${g.nodes.length > 1 ? "s" : ""} ${g.nodes.join(", ")}` : "on an unnamed node";
  const clusters = g.clusters.length ? ` (cluster ${g.clusters.join(", ")})` : "";
  return {
    who: describePeer(g.src, g.srcPods),
    what,
    when,
    where: `${nodes}${clusters}, at ${sideOf(g)}`,
    why: whyText(g),
  };
}

/**
 * The denied_by cell of an export: the policies the flows name; else, for a policy drop, that no
 * flow names one and which policies select the endpoint as far as the window shows.
 */
export function deniedByText(g: DropGroup): string {
  if (g.deniedBy.length) return g.deniedBy.map(policyName).join(" ");
  if (!POLICY_REASONS.has(g.reason)) return "not a policy decision";
  return g.selectedBy?.length ? `no policy name in the flow; selected by ${g.selectedBy.join(" ")}` : "no policy name in the flow";
}

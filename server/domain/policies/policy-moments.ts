/**
 * The moments a policy changed, for before/after. Each agent numbers its policy repository's
 * revisions itself and stamps every verdict with the revision in force, so a node's flows show a
 * change as the revision moving on — and an agent restart as the revision starting over (the same
 * numbers again, an hour later). Moments therefore come from every change of revision per node,
 * in time order, repeats included, merged across nodes when they happen together; and from the
 * agents' own POLICY_UPDATED / POLICY_DELETED / AGENT_STARTED events where the Relay serves them.
 */
import { NS_PER_MINUTE } from "@/server/domain/shared/time";

/** One node's flows naming policies at one revision, within one minute (from the rollups). */
export interface RevisionSighting {
  node: string;
  revision: bigint;
  firstNs: bigint;
  lastNs: bigint;
  /** `ns/name` of the policies these flows name */
  names: readonly string[];
}

export type AgentEventKind = "policy-updated" | "policy-deleted" | "agent-started";

export interface AgentPolicyEvent {
  node: string;
  timeNs: bigint;
  kind: AgentEventKind;
  revision?: bigint;
  /** `ns/name` of the policy (from its labels) */
  policy?: string;
}

export interface NodeSwitch {
  node: string;
  atNs: string;
  previous: string;
  revision: string;
  /** the revision went back: the agent restarted and numbers its revisions anew */
  restart: boolean;
}

export interface RevisionMoment {
  /** ns of the change: the agent's event when there is one, else the first flow with the new revision */
  atNs: string;
  /** the new revision and the one before it (of the first node that changed) */
  revision: string;
  previous: string;
  /** every node that changed at this moment */
  nodes: NodeSwitch[];
  /** an agent restarted (revisions started over), rather than a policy being edited */
  restart: boolean;
  /** named by flows at the previous revision shortly before the moment, and by none since */
  gone: string[];
  /** named by flows at the new revision but not shortly before */
  appeared: string[];
  /** named on both sides */
  carried: string[];
  /** what the agents reported (POLICY_UPDATED → updated, POLICY_DELETED → deleted), when they did */
  changes: { policy: string; action: "updated" | "deleted" }[];
  /** where the moment was seen */
  source: "flows" | "agent-events" | "flows+agent-events";
}

/** Flows at the revision just left, this soon after the switch, are in flight, not a change back. */
export const STRAGGLER_NS = NS_PER_MINUTE;
/** Switches on different nodes (and agent events) this close together are one change. */
export const MERGE_NS = 30_000_000_000n;
/** How far around a moment flows are compared for gone / appeared. */
export const NAMES_WINDOW_NS = 5n * NS_PER_MINUTE;

interface Switch extends NodeSwitch {
  at: bigint;
  /** the node's last flow at the previous revision: the change happened in (since, at] */
  since: bigint;
}

/** Revision changes of each node, in time order. */
export function nodeSwitches(sightings: readonly RevisionSighting[]): Switch[] {
  const byNode = new Map<string, RevisionSighting[]>();
  for (const s of sightings) {
    let list = byNode.get(s.node);
    if (!list) byNode.set(s.node, (list = []));
    list.push(s);
  }
  const out: Switch[] = [];
  for (const [node, list] of byNode) {
    list.sort((a, b) => (a.firstNs < b.firstNs ? -1 : a.firstNs > b.firstNs ? 1 : a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
    let cur: bigint | undefined;
    const lastSeen = new Map<bigint, bigint>();
    for (const s of list) {
      if (cur !== undefined && s.revision !== cur) {
        const seen = lastSeen.get(s.revision);
        const straggler = s.revision < cur && seen !== undefined && s.firstNs - seen <= STRAGGLER_NS;
        if (!straggler) {
          out.push({ node, at: s.firstNs, since: lastSeen.get(cur) ?? s.firstNs, atNs: s.firstNs.toString(), previous: cur.toString(), revision: s.revision.toString(), restart: s.revision < cur });
          cur = s.revision;
        }
      } else if (cur === undefined) cur = s.revision;
      if ((lastSeen.get(s.revision) ?? -1n) < s.lastNs) lastSeen.set(s.revision, s.lastNs);
    }
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.node.localeCompare(b.node)));
}

/** `ns/name` out of a policy's Cilium labels (k8s:io.cilium.k8s.policy.name=…, .namespace=…). */
export function policyFromLabels(labels: readonly string[]): string | undefined {
  const get = (k: string) => labels.find((l) => l.startsWith(`k8s:io.cilium.k8s.policy.${k}=`))?.split("=").slice(1).join("=");
  const name = get("name");
  if (!name) return undefined;
  const ns = get("namespace");
  return ns ? `${ns}/${name}` : name;
}

interface Cluster {
  start: bigint;
  switches: Switch[];
  events: AgentPolicyEvent[];
}

export function policyMoments(sightings: readonly RevisionSighting[], agentEvents: readonly AgentPolicyEvent[] = []): RevisionMoment[] {
  const items: ({ at: bigint; sw: Switch } | { at: bigint; ev: AgentPolicyEvent })[] = [
    ...nodeSwitches(sightings).map((sw) => ({ at: sw.at, sw })),
    ...agentEvents.map((ev) => ({ at: ev.timeNs, ev })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const clusters: Cluster[] = [];
  for (const it of items) {
    let c = clusters.at(-1);
    if (c && it.at - c.start <= MERGE_NS) {
      // together with the moment before
    } else if ("sw" in it && !it.sw.restart) {
      // a quiet node shows a change only with its next flow: it belongs to a moment since its last
      // flow at the previous revision, if there is one
      c = [...clusters].reverse().find((x) => x.start >= it.sw.since && x.start <= it.at);
      if (!c) clusters.push((c = { start: it.at, switches: [], events: [] }));
    } else clusters.push((c = { start: it.at, switches: [], events: [] }));
    if ("sw" in it) c.switches.push(it.sw);
    else c.events.push(it.ev);
  }
  return clusters.map((c) => momentOf(c, sightings));
}

function momentOf(c: Cluster, sightings: readonly RevisionSighting[]): RevisionMoment {
  const policyEvents = c.events.filter((e) => e.kind !== "agent-started");
  const at = policyEvents.length ? policyEvents[0].timeNs : c.switches.length ? c.switches[0].at : c.start;
  const first = c.switches[0];
  const eventRev = policyEvents.find((e) => e.revision !== undefined)?.revision;
  const nodes = new Set(c.switches.map((s) => s.node));
  const previous = first?.previous ?? "";
  const revision = first?.revision ?? (eventRev !== undefined ? eventRev.toString() : "");
  // names around the moment on the nodes that changed (all nodes when only agents reported it)
  const near = (s: RevisionSighting) => !nodes.size || nodes.has(s.node);
  const before = new Set<string>();
  const after = new Set<string>();
  for (const s of sightings) {
    if (!near(s)) continue;
    const prevRev = c.switches.find((x) => x.node === s.node)?.previous;
    const newRev = c.switches.find((x) => x.node === s.node)?.revision;
    if (s.lastNs < at && at - s.lastNs <= NAMES_WINDOW_NS && (prevRev === undefined || s.revision.toString() === prevRev)) for (const n of s.names) before.add(n);
    if (s.firstNs >= at && s.firstNs - at <= NAMES_WINDOW_NS && (newRev === undefined || s.revision.toString() === newRev)) for (const n of s.names) after.add(n);
  }
  const changes = new Map<string, "updated" | "deleted">();
  for (const e of policyEvents) if (e.policy) changes.set(e.policy, e.kind === "policy-deleted" ? "deleted" : "updated");
  return {
    atNs: at.toString(),
    revision,
    previous,
    nodes: c.switches.map(({ at: _at, since: _since, ...s }) => s),
    restart: c.switches.some((s) => s.restart) || c.events.some((e) => e.kind === "agent-started"),
    gone: [...before].filter((n) => !after.has(n)).sort(),
    appeared: [...after].filter((n) => !before.has(n)).sort(),
    carried: [...after].filter((n) => before.has(n)).sort(),
    changes: [...changes].map(([policy, action]) => ({ policy, action })).sort((a, b) => a.policy.localeCompare(b.policy)),
    source: c.switches.length && c.events.length ? "flows+agent-events" : c.switches.length ? "flows" : "agent-events",
  };
}

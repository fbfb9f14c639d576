/**
 * Things that happen to the demo cluster besides traffic, on their own (seeded) clock so they do
 * not depend on how much traffic was generated:
 * - node outages: Relay loses a node (node_status NODE_UNAVAILABLE, its flows stop) and gets it
 *   back a little later (NODE_CONNECTED);
 * - lost events: an agent's perf ring or Hubble ring overflowed (lost_events with a count) —
 *   simulated numbers (about 8 % of the flow rate), no generated flow is withheld; the status
 *   header says so in demo mode;
 * - upstream DNS trouble: for a while external names answer SERVFAIL;
 * - agent events: agent start, and POLICY_UPDATED / POLICY_DELETED plus endpoint regenerations
 *   when the policy schedule changes something.
 */
import { create } from "@bufbuild/protobuf";
import { AgentEventType, LostEventSource } from "@/proto/gen/flow/flow_pb";
import {
  GetAgentEventsResponseSchema,
  GetFlowsResponseSchema,
  type GetAgentEventsResponse,
  type GetFlowsResponse,
} from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import { nsToTimestamp } from "@/server/flow-codec/timestamp";
import { msToNs } from "./demo-flow-builder";
import { policyLabels, type PolicyChange } from "./demo-policies";
import { DemoRandom } from "./demo-random";
import { NODE_LIST, NODES, PODS, type DemoNode } from "./demo-topology";

export enum DnsTrouble {
  servFail = "servfail",
}

export const RELAY_NAME = "hubble-relay-5b7c8d9f6-tq2zm";

interface Interval {
  fromMs: number;
  toMs: number;
}

interface Outage extends Interval {
  node: DemoNode;
}

const MIN = 60_000;

const ts = (ms: number) => nsToTimestamp(msToNs(ms));

export class IncidentSchedule {
  private readonly rand: DemoRandom;
  private readonly outages: Outage[] = [];
  private readonly servFails: Interval[] = [];
  private readonly lost: GetFlowsResponse[] = [];
  private horizonMs: number;
  private nextOutageMs: number;
  private nextServFailMs: number;
  private nextLostMs: number;

  constructor(
    private readonly originMs: number,
    seed?: number,
  ) {
    this.rand = new DemoRandom(seed === undefined ? undefined : seed ^ 0x5eed);
    this.horizonMs = originMs;
    this.nextOutageMs = originMs + this.rand.between(4 * MIN, 7 * MIN);
    this.nextServFailMs = originMs + this.rand.between(2 * MIN, 5 * MIN);
    this.nextLostMs = originMs + this.rand.between(0.5 * MIN, 2 * MIN);
  }

  /** Plans incidents up to `ms` (always in time order, so the plan does not depend on queries). */
  private extend(ms: number): void {
    while (this.horizonMs < ms) {
      const until = this.horizonMs + 10 * MIN;
      while (this.nextOutageMs < until) {
        const node = this.rand.chance(0.75) ? NODES.worker2 : NODES.worker;
        const fromMs = this.nextOutageMs;
        this.outages.push({ node, fromMs, toMs: fromMs + this.rand.between(15_000, 40_000) });
        this.nextOutageMs += this.rand.between(6 * MIN, 10 * MIN);
      }
      while (this.nextServFailMs < until) {
        const fromMs = this.nextServFailMs;
        this.servFails.push({ fromMs, toMs: fromMs + this.rand.between(20_000, 45_000) });
        this.nextServFailMs += this.rand.between(4 * MIN, 8 * MIN);
      }
      while (this.nextLostMs < until) {
        this.lost.push(this.lostEvent(this.nextLostMs));
        this.nextLostMs += this.rand.between(1.5 * MIN, 4 * MIN);
      }
      this.horizonMs = until;
    }
  }

  private lostEvent(atMs: number): GetFlowsResponse {
    const node = this.rand.pick(NODE_LIST);
    const source = this.rand.weighted([
      [LostEventSource.PERF_EVENT_RING_BUFFER, 7],
      [LostEventSource.HUBBLE_RING_BUFFER, 2],
      [LostEventSource.OBSERVER_EVENTS_QUEUE, 1],
    ] as const);
    const spanMs = this.rand.between(50, 2000);
    return create(GetFlowsResponseSchema, {
      responseTypes: {
        case: "lostEvents",
        value: {
          source,
          numEventsLost: BigInt(this.rand.int(1, 3000)),
          // perf ring buffers are per CPU; the other sources are not
          cpu: source === LostEventSource.PERF_EVENT_RING_BUFFER ? this.rand.int(0, 3) : undefined,
          first: ts(atMs - spanMs),
          last: ts(atMs - this.rand.between(1, 20)),
        },
      },
      nodeName: node.name,
      time: ts(atMs),
    });
  }

  nodeDown(node: string, ms: number): boolean {
    this.extend(ms + 1);
    return this.outages.some((o) => o.node.name === node && ms >= o.fromMs && ms < o.toMs);
  }

  dnsTrouble(ms: number): DnsTrouble | undefined {
    this.extend(ms + 1);
    return this.servFails.some((i) => ms >= i.fromMs && ms < i.toMs) ? DnsTrouble.servFail : undefined;
  }

  /** node_status and lost_events responses with fromMs <= time < toMs, in time order. */
  flowEventsBetween(fromMs: number, toMs: number): GetFlowsResponse[] {
    this.extend(toMs);
    const out: { at: number; resp: GetFlowsResponse }[] = [];
    if (fromMs <= this.originMs && this.originMs < toMs) {
      out.push({ at: this.originMs, resp: nodeStatus(this.originMs, NodeState.NODE_CONNECTED, NODE_LIST, "") });
    }
    for (const o of this.outages) {
      if (o.fromMs >= fromMs && o.fromMs < toMs) {
        const msg = `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${o.node.ip}:4244: connect: connection refused"`;
        out.push({ at: o.fromMs, resp: nodeStatus(o.fromMs, NodeState.NODE_UNAVAILABLE, [o.node], msg) });
      }
      if (o.toMs >= fromMs && o.toMs < toMs) out.push({ at: o.toMs, resp: nodeStatus(o.toMs, NodeState.NODE_CONNECTED, [o.node], "") });
    }
    for (const l of this.lost) {
      const at = Number(l.time!.seconds) * 1000 + l.time!.nanos / 1e6;
      if (at >= fromMs && at < toMs) out.push({ at, resp: l });
    }
    return out.sort((a, b) => a.at - b.at).map((e) => e.resp);
  }
}

function nodeStatus(atMs: number, state: NodeState, nodes: DemoNode[], message: string): GetFlowsResponse {
  return create(GetFlowsResponseSchema, {
    responseTypes: { case: "nodeStatus", value: { stateChange: state, nodeNames: nodes.map((n) => n.name), message } },
    nodeName: RELAY_NAME,
    time: ts(atMs),
  });
}

export function agentStarted(atMs: number): GetAgentEventsResponse[] {
  return NODE_LIST.map((node) =>
    create(GetAgentEventsResponseSchema, {
      agentEvent: { type: AgentEventType.AGENT_STARTED, notification: { case: "agentStart", value: { time: ts(atMs) } } },
      nodeName: node.name,
      time: ts(atMs),
    }),
  );
}

/** What every agent reports when a policy changes: the policy event, then endpoint regenerations. */
export function policyChangeEvents(change: PolicyChange): GetAgentEventsResponse[] {
  const out: GetAgentEventsResponse[] = [];
  const pods = Object.values(PODS).flat();
  for (const node of NODE_LIST) {
    const at = change.atMs + 1 + NODE_LIST.indexOf(node) * 3;
    out.push(
      create(GetAgentEventsResponseSchema, {
        agentEvent: {
          type: change.action === "added" ? AgentEventType.POLICY_UPDATED : AgentEventType.POLICY_DELETED,
          notification: {
            case: "policyUpdate",
            value: { labels: policyLabels(change.policy), revision: change.revision, ruleCount: BigInt(change.policy.rules) },
          },
        },
        nodeName: node.name,
        time: ts(at),
      }),
    );
    const selected = pods.filter((p) => p.node === node && p.endpoint.namespace === change.policy.namespace && change.policy.selects.includes(p.app ?? ""));
    selected.forEach((p, i) =>
      out.push(
        create(GetAgentEventsResponseSchema, {
          agentEvent: {
            type: AgentEventType.ENDPOINT_REGENERATE_SUCCESS,
            notification: { case: "endpointRegenerate", value: { id: BigInt(p.endpoint.ID ?? 0), labels: p.endpoint.labels ?? [] } },
          },
          nodeName: node.name,
          time: ts(at + 40 + i * 7),
        }),
      ),
    );
  }
  return out;
}

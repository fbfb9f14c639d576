/**
 * The Observer RPCs besides GetFlows, answered from the store and the ingest's view of the Relay:
 * ServerStatus, GetNodes, GetNamespaces (from the stored flows' endpoints) and GetAgentEvents
 * (stored agent events, then — with follow — those stored later).
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { compileNamespaceScope } from "@/server/domain/auth/namespace-scope";
import * as grpc from "@grpc/grpc-js";
import { AgentEventSchema } from "@/proto/gen/flow/flow_pb";
import {
  GetAgentEventsResponseSchema,
  GetNamespacesResponseSchema,
  GetNodesResponseSchema,
  NamespaceSchema,
  NodeSchema,
  ServerStatusResponseSchema,
  type GetAgentEventsRequest,
  type GetAgentEventsResponse,
  type GetNamespacesResponse,
  type GetNodesResponse,
  type ServerStatusResponse,
} from "@/proto/gen/observer/observer_pb";
import { NodeState } from "@/proto/gen/relay/relay_pb";
import type { FlowReader } from "@/server/db/flows/flow-reader";
import type { AgentEventStored, StreamEventsRepo } from "@/server/db/stream-events-repo";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import { compileMatcher } from "@/server/domain/flows/flow-match";
import type { Authorize, AnyCall, CallScope } from "./grpc-auth";
import { toServiceError } from "./grpc-errors";
import { agentEventsPlan } from "./grpc-request";
import { nsTimestamp, StreamClosedError } from "./grpc-outbox";

export interface ObserverDeps {
  reader: FlowReader;
  events: StreamEventsRepo;
  /** stored flows (the status' background count) */
  flowCount(): Promise<number>;
  /** flows per second being stored now */
  flowsRate(): number;
  /** the Relay's nodes as the ingest last heard of them: state is a NodeState name */
  relayNodes(): { name: string; state: string }[];
  version: string;
  startedAt: number;
  eventPollMs: number;
}

/** agent events sent for "the last n" at most (they are read newest first, then turned around) */
const MAX_LAST_AGENT_EVENTS = 100_000;
const AGENT_PAGE = 1000;

const stateNumber = (name: string) => (NodeState as unknown as Record<string, number>)[name] ?? NodeState.UNKNOWN_NODE_STATE;

function unary<Req, Res>(authorize: Authorize, answer: (req: Req, scope: CallScope) => Promise<Res>) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    (async () => answer(call.request, await authorize(call as AnyCall)))().then(
      (res) => callback(null, res),
      (e) => callback(toServiceError(e)),
    );
  };
}

/** Every node a stored flow names, with the ingest's state where it knows one. */
async function knownNodes(deps: ObserverDeps): Promise<Map<string, number>> {
  const nodes = new Map<string, number>();
  for (const e of await deps.reader.contextEntries()) {
    const name = (e.item.flow.node_name as string | undefined) || e.item.node_name;
    if (name) nodes.set(name, NodeState.UNKNOWN_NODE_STATE);
  }
  for (const n of deps.relayNodes()) nodes.set(n.name, stateNumber(n.state));
  return nodes;
}

function visible(scope: CallScope): (item: FlowItem) => boolean {
  return scope.namespaces ? compileMatcher({ scope: scope.namespaces }) : () => true;
}

export function observerHandlers(deps: ObserverDeps, authorize: Authorize) {
  const uptimeNs = () => BigInt(Date.now() - deps.startedAt) * 1_000_000n;
  return {
    serverStatus: unary<unknown, ServerStatusResponse>(authorize, async () => {
      const flows = BigInt(Math.max(0, Math.round(await deps.flowCount())));
      const nodes = await knownNodes(deps);
      const connected = [...nodes.values()].filter((s) => s === NodeState.NODE_CONNECTED).length;
      const unavailable = deps.relayNodes().filter((n) => stateNumber(n.state) !== NodeState.NODE_CONNECTED).map((n) => n.name);
      return create(ServerStatusResponseSchema, {
        numFlows: flows,
        // no ring: nothing is overwritten while a client is away (retention aside), so no maximum
        maxFlows: 0n,
        seenFlows: flows,
        uptimeNs: uptimeNs(),
        numConnectedNodes: connected,
        numUnavailableNodes: unavailable.length,
        unavailableNodes: unavailable,
        version: deps.version,
        flowsRate: deps.flowsRate(),
      });
    }),
    getNodes: unary<unknown, GetNodesResponse>(authorize, async () => {
      const nodes = [...(await knownNodes(deps))].sort(([a], [b]) => a.localeCompare(b));
      return create(GetNodesResponseSchema, {
        nodes: nodes.map(([name, state]) => create(NodeSchema, { name, state, version: deps.version, uptimeNs: uptimeNs() })),
      });
    }),
    getNamespaces: unary<unknown, GetNamespacesResponse>(authorize, async (_req, scope) => {
      const seen = new Map<string, { cluster: string; namespace: string }>();
      const ok = visible(scope);
      const allowed = scope.namespaces ? compileNamespaceScope(scope.namespaces) : () => true;
      for (const e of await deps.reader.contextEntries()) {
        if (!ok(e.item)) continue;
        for (const side of ["source", "destination"] as const) {
          const ep = e.item.flow[side] as { namespace?: string; cluster_name?: string } | undefined;
          if (!ep?.namespace || !allowed(ep.namespace)) continue;
          const cluster = ep.cluster_name ?? "";
          seen.set(`${cluster}/${ep.namespace}`, { cluster, namespace: ep.namespace });
        }
      }
      const list = [...seen.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace));
      return create(GetNamespacesResponseSchema, { namespaces: list.map((n) => create(NamespaceSchema, n)) });
    }),
    getAgentEvents: (call: grpc.ServerWritableStream<GetAgentEventsRequest, GetAgentEventsResponse>) => agentEvents(deps, authorize, call),
  };
}

function agentResponse(e: AgentEventStored): GetAgentEventsResponse {
  return create(GetAgentEventsResponseSchema, { agentEvent: fromBinary(AgentEventSchema, e.raw), nodeName: e.nodeName ?? "", time: nsTimestamp(e.ts) });
}

async function agentEvents(deps: ObserverDeps, authorize: Authorize, call: grpc.ServerWritableStream<GetAgentEventsRequest, GetAgentEventsResponse>): Promise<void> {
  const abort = new AbortController();
  const signal = abort.signal;
  call.on("cancelled", () => abort.abort());
  call.on("close", () => abort.abort());
  const send = async (e: AgentEventStored) => {
    if (signal.aborted) throw new StreamClosedError();
    if (!call.write(agentResponse(e))) await new Promise((r) => call.once("drain", r));
  };
  try {
    const scope = await authorize(call as AnyCall);
    // agent events carry no namespace of their own: a scoped caller gets none
    if (scope.namespaces) {
      call.end();
      return;
    }
    const plan = agentEventsPlan(call.request);
    let lastId = await deps.events.newestAgentEventId(signal);
    const window = { sinceNs: plan.sinceNs, untilNs: plan.untilNs, signal };
    if (plan.history.kind === "last") {
      const newest = await deps.events.agentEvents({ ...window, maxId: lastId, limit: Math.min(plan.history.n, MAX_LAST_AGENT_EVENTS), order: "desc" });
      for (const e of newest.reverse()) await send(e);
    } else if (plan.history.kind !== "none") {
      let left = plan.history.kind === "first" ? plan.history.n : Number.POSITIVE_INFINITY;
      let after: { ts: bigint; id: number } | undefined;
      while (left > 0) {
        const want = Math.min(AGENT_PAGE, left);
        const page = await deps.events.agentEvents({ ...window, after, maxId: lastId, limit: want, order: "asc" });
        for (const e of page) await send(e);
        left -= page.length;
        if (page.length < want) break;
        const last = page[page.length - 1];
        after = { ts: last.ts, id: last.id };
      }
    }
    if (!plan.follow) {
      call.end();
      return;
    }
    while (!signal.aborted) {
      const fresh = await deps.events.agentEvents({ afterId: lastId, untilNs: plan.untilNs, sinceNs: plan.sinceNs, limit: AGENT_PAGE, order: "asc", signal });
      for (const e of fresh) {
        await send(e);
        lastId = Math.max(lastId, e.id);
      }
      if (fresh.length < AGENT_PAGE) await new Promise((r) => setTimeout(r, deps.eventPollMs));
    }
  } catch (e) {
    if (!(e instanceof StreamClosedError) && !signal.aborted) call.emit("error", toServiceError(e));
  }
}

/**
 * GetFlowsRequest / GetAgentEventsRequest → what to read: the boundary of the gRPC API, checked
 * like every external input (a bad field is INVALID_ARGUMENT naming it).
 *
 * Meaning (docs/api.md, "gRPC"):
 * - since/until: since ≤ time < until, as /api/flows; times before 1970 or after 2200 are open ends;
 * - number N: without `first` the newest N of the window (or of everything), sent oldest first as
 *   hubble does; with `first` the oldest N; 0 = all (or, with follow and no since, none: only
 *   new flows, as the Relay does);
 * - follow: the history, then new flows as they are stored, without a gap or a duplicate at the
 *   seam; `first` with `follow` is refused, as by the Relay.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { GetAgentEventsRequest, GetFlowsRequest } from "@/proto/gen/observer/observer_pb";
import type { FlowFilterSet } from "@/server/domain/flows/flow-filter-spec";
import { clampTimeNs, formatRfc3339Ns } from "@/server/domain/shared/time";
import { filterSetOf, RequestFieldError } from "./grpc-filter";

export interface StreamPlan {
  sinceNs?: bigint;
  untilNs?: bigint;
  /** the history part: all, the oldest n or the newest n of the window, or nothing (follow only) */
  history: { kind: "all" } | { kind: "first"; n: number } | { kind: "last"; n: number } | { kind: "none" };
  follow: boolean;
}

export interface FlowsPlan extends StreamPlan {
  filters: FlowFilterSet;
}

const NS_PER_S = 1_000_000_000n;

function timestampNs(field: string, t: Timestamp | undefined): bigint | undefined {
  if (!t) return undefined;
  if (t.nanos < 0 || t.nanos > 999_999_999) throw new RequestFieldError(field, `nanos ${t.nanos} is outside 0…999999999`);
  return clampTimeNs(t.seconds * NS_PER_S + BigInt(t.nanos));
}

/** uint64 → a count; anything beyond what a store can hold is "all of them". */
const count = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(n));

export function streamPlan(req: Pick<GetFlowsRequest, "number" | "follow" | "first" | "since" | "until">): StreamPlan {
  const sinceNs = timestampNs("since", req.since);
  const untilNs = timestampNs("until", req.until);
  if (sinceNs !== undefined && untilNs !== undefined && untilNs < sinceNs) {
    throw new RequestFieldError("until", `${formatRfc3339Ns(untilNs)} is before since (${formatRfc3339Ns(sinceNs)})`);
  }
  if (req.first && req.follow) throw new RequestFieldError("first", "cannot be combined with follow");
  const n = count(req.number);
  let history: StreamPlan["history"];
  if (n === Number.POSITIVE_INFINITY) history = { kind: "all" };
  else if (req.first) history = n > 0 ? { kind: "first", n } : { kind: "all" };
  else if (n > 0) history = { kind: "last", n };
  else if (req.follow && sinceNs === undefined) history = { kind: "none" };
  else history = { kind: "all" };
  const plan: StreamPlan = { history, follow: req.follow };
  if (sinceNs !== undefined) plan.sinceNs = sinceNs;
  if (untilNs !== undefined) plan.untilNs = untilNs;
  return plan;
}

export function flowsPlan(req: GetFlowsRequest): FlowsPlan {
  return { ...streamPlan(req), filters: filterSetOf(req) };
}

export function agentEventsPlan(req: GetAgentEventsRequest): StreamPlan {
  return streamPlan(req);
}

/**
 * observer.Observer/GetFlows on the store: the history oldest first (stored bytes, pages read as
 * the client takes them), with the stored lost events and gaps as `lost_events` responses at their
 * place in time, then — with `follow` — new flows as they are stored (grpc-follow.ts).
 */
import { fromBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { LostEventSchema, LostEventSource, type LostEvent } from "@/proto/gen/flow/flow_pb";
import type { GetFlowsRequest } from "@/proto/gen/observer/observer_pb";
import { decodeCursor, type FlowReader } from "@/server/db/flows/flow-reader";
import type { EventIds, StreamEvent, StreamEventsRepo } from "@/server/db/stream-events-repo";
import { FlowFollower, type LiveRows } from "./grpc-follow";
import { scopeFilters, type AnyCall, type Authorize } from "./grpc-auth";
import { toServiceError } from "./grpc-errors";
import { flowsPlan, type FlowsPlan } from "./grpc-request";
import { lostEventResponse, nsTimestamp, Outbox, StreamClosedError } from "./grpc-outbox";

export interface GetFlowsDeps {
  reader: FlowReader;
  events: StreamEventsRepo;
  live: LiveRows;
  /** node_name of the responses Flowlens makes itself (gaps, dropped live flows) */
  nodeName: string;
  /** bytes of live flows a follower may hold for its client (and while its history is read) */
  followBytes: number;
  /** how often a follower looks for newly stored lost events and gaps */
  eventPollMs: number;
}

/** rows per history query: large pages keep the per-query cost small next to ~1 µs a flow */
const PAGE = 5000;
/** the first page is small so the first flow goes out at once */
const FIRST_PAGE = 200;

/** A stored lost event or gap as the GetFlowsResponse a CLI prints as "EVENTS LOST". */
export function streamEventResponse(e: StreamEvent, nodeName: string): Buffer {
  if (e.kind === "lost") {
    let lost: LostEvent | undefined;
    try {
      if (e.raw) lost = fromBinary(LostEventSchema, e.raw);
    } catch {
      // stored from its columns below
    }
    const fields = lost ?? {
      source: e.source as LostEventSource,
      numEventsLost: e.numLost,
      ...(e.firstNs !== null ? { first: nsTimestamp(e.firstNs) } : {}),
      ...(e.lastNs !== null ? { last: nsTimestamp(e.lastNs) } : {}),
    };
    return lostEventResponse(fields, e.nodeName ?? "", e.timeNs);
  }
  // a window the Relay could no longer serve: how many flows is unknown (0), first/last say when
  return lostEventResponse(
    { source: LostEventSource.UNKNOWN_LOST_EVENT_SOURCE, numEventsLost: 0n, first: nsTimestamp(e.fromNs), last: nsTimestamp(e.toNs) },
    e.nodeName ?? nodeName,
    e.timeNs,
  );
}

/** Steps through an async generator of pages; only a new page is awaited. */
class PagedCursor<P extends { readonly length: number }> {
  page: P | null = null;
  /** the current item's index in `page` */
  i = 0;
  private done = false;
  constructor(private readonly it: AsyncGenerator<P>) {}

  /** an item is at hand, or there are no more */
  get ready(): boolean {
    return (this.page !== null && this.i < this.page.length) || this.done;
  }

  /** an item is at hand */
  get has(): boolean {
    return this.page !== null && this.i < this.page.length;
  }

  async fill(): Promise<void> {
    while (!this.ready) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.page = r.value;
        this.i = 0;
      }
    }
  }

  take(): void {
    this.i++;
  }

  async close(): Promise<void> {
    await this.it.return(undefined as never);
  }
}

async function sendHistory(plan: FlowsPlan, deps: GetFlowsDeps, out: Outbox, signal: AbortSignal, follower: FlowFollower | null): Promise<EventIds> {
  const ids = await deps.events.newestIds(signal);
  if (plan.history.kind === "none") return ids;
  const base = { filter: {}, filters: plan.filters, sinceNs: plan.sinceNs, untilNs: plan.untilNs, signal };
  let cursor: string | undefined;
  let max = Number.POSITIVE_INFINITY;
  let eventsSince = plan.sinceNs;
  if (plan.history.kind === "first") max = plan.history.n;
  if (plan.history.kind === "last") {
    cursor = await deps.reader.cursorBeforeNewest(base, plan.history.n);
    // events older than the flows sent are outside what was asked for
    if (cursor) eventsSince = decodeCursor(cursor).ts;
  }
  const flows = new PagedCursor(deps.reader.flowPages({ ...base, order: "asc", cursor }, max, PAGE, FIRST_PAGE));
  // events stored from now on are the live part's (pollEvents), never sent twice
  const events = new PagedCursor(deps.events.events({ sinceNs: eventsSince, untilNs: plan.untilNs, upToIds: ids, signal }));
  let taken = 0;
  try {
    // the first flows page and the first events page are read together
    await Promise.all([flows.fill(), events.fill()]);
    for (;;) {
      if (!flows.ready) {
        // what is framed goes out while the next page is read
        const wait = out.flush();
        if (wait) await wait;
        await flows.fill();
      }
      if (!events.ready) await events.fill();
      const e = events.has ? events.page![events.i] : undefined;
      if (flows.has && (!e || flows.page!.ts(flows.i) <= e.timeNs)) {
        const page = flows.page!;
        const i = flows.i;
        flows.take();
        taken++;
        if (follower) {
          const key = page.key(i);
          if (follower.buffered(key)) continue;
          follower.sentByHistory(key);
        }
        const wait = out.sendFlow(page, i);
        if (wait) await wait;
      } else if (e && !(!flows.has && taken >= max)) {
        // with `first`, the events after the last flow sent are outside what was asked for
        events.take();
        const wait = out.send(streamEventResponse(e, deps.nodeName));
        if (wait) await wait;
      } else break;
    }
  } finally {
    await flows.close();
    await events.close();
  }
  return ids;
}

/** After the history: lost events and gaps stored from now on, as they are found. */
function pollEvents(deps: GetFlowsDeps, out: Outbox, signal: AbortSignal, plan: FlowsPlan, from: EventIds): NodeJS.Timeout {
  let above = { ...from };
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || signal.aborted) return;
    busy = true;
    try {
      for await (const page of deps.events.events({ aboveIds: above, signal })) {
        for (const e of page) {
          if (e.kind === "lost") above = { ...above, lost: Math.max(above.lost, e.id) };
          else above = { ...above, gap: Math.max(above.gap, e.id) };
          if (plan.sinceNs !== undefined && e.timeNs < plan.sinceNs) continue;
          out.enqueue(streamEventResponse(e, deps.nodeName), e.timeNs);
        }
      }
    } catch {
      // the store is away: the next turn tries again
    } finally {
      busy = false;
    }
  }, deps.eventPollMs);
  timer.unref();
  return timer;
}

export function getFlowsHandler(deps: GetFlowsDeps, authorize: Authorize) {
  return async (call: grpc.ServerWritableStream<GetFlowsRequest, Buffer>): Promise<void> => {
    const abort = new AbortController();
    const signal = abort.signal;
    call.on("cancelled", () => abort.abort());
    call.on("close", () => abort.abort());
    let plan: FlowsPlan;
    try {
      const scope = await authorize(call as AnyCall);
      plan = flowsPlan(call.request);
      plan.filters = scopeFilters(plan.filters, scope);
    } catch (e) {
      call.emit("error", toServiceError(e));
      return;
    }
    const out = new Outbox(call, signal, deps.followBytes, deps.nodeName);
    const follower = plan.follow ? new FlowFollower(deps.live, plan.filters, plan, deps.followBytes) : null;
    let timer: NodeJS.Timeout | undefined;
    let untilTimer: NodeJS.Timeout | undefined;
    try {
      const ids = await sendHistory(plan, deps, out, signal, follower);
      await out.flush();
      if (!follower) {
        call.end();
        return;
      }
      follower.seam(out, deps.nodeName);
      timer = pollEvents(deps, out, signal, plan, ids);
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
        if (plan.untilNs !== undefined) {
          // nothing after `until` will be sent: end once the clock passes it (and the queue is out)
          const wait = Number((plan.untilNs - BigInt(Date.now()) * 1_000_000n) / 1_000_000n);
          untilTimer = setTimeout(function check() {
            if (out.pending === 0) resolve();
            else untilTimer = setTimeout(check, 50);
          }, Math.max(0, Math.min(wait, 2 ** 31 - 1)));
        }
      });
      if (!signal.aborted) call.end();
    } catch (e) {
      if (!(e instanceof StreamClosedError) && !signal.aborted) call.emit("error", toServiceError(e));
    } finally {
      follower?.close();
      if (timer) clearInterval(timer);
      if (untilTimer) clearTimeout(untilTimer);
    }
  };
}

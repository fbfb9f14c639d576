import { compileMatcher } from "@/server/domain/flow-match";
import { parseFlowQuery } from "@/server/domain/flow-query";
import type { FlowItem } from "@/server/domain/flow-item";
import { badRequest } from "@/server/http/responses";
import { metrics } from "@/server/metrics";
import { runtimeOrUnavailable } from "@/server/http/route-runtime";

export const dynamic = "force-dynamic";

/** Server-Sent Events of newly stored flows, filtered like /api/flows (time parameters ignored). */
export async function GET(request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  for (const p of ["since", "until", "last", "cursor", "limit", "format"]) params.delete(p);
  const parsed = parseFlowQuery(params);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  const match = compileMatcher(parsed.query.filter);
  const enc = new TextEncoder();
  let close = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      let closed = false;
      const send = (text: string) => {
        if (!closed) c.enqueue(enc.encode(text));
      };
      const offFlows = rt.live.on("flows", (items: FlowItem[]) => {
        const hits = items.filter(match);
        if (hits.length) send(hits.map((i) => `event: flow\ndata: ${JSON.stringify(i)}\n\n`).join(""));
      });
      const offSkipped = rt.live.on("skipped", (count: number) => send(`event: skipped\ndata: ${JSON.stringify({ count })}\n\n`));
      const offShutdown = rt.live.on("shutdown", () => close());
      const ping = setInterval(() => send(": ping\n\n"), 15_000);
      metrics().liveClients.inc();
      close = () => {
        if (closed) return;
        closed = true;
        offFlows();
        offSkipped();
        offShutdown();
        clearInterval(ping);
        metrics().liveClients.dec();
        try {
          c.close();
        } catch {
          // already closed by the client
        }
      };
      request.signal.addEventListener("abort", () => close());
      send(": connected\n\nretry: 2000\n\n");
    },
    cancel() {
      close();
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}

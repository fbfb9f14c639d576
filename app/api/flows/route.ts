import { parseFlowQuery } from "@/server/domain/flow-query";
import { CSV_COLUMNS, csvLine, csvRow } from "@/server/domain/flow-csv";
import { CursorError } from "@/server/db/flow-reader";
import { badRequest, noStore, unavailable } from "@/server/http/responses";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** Postgres rejects some regular expressions that the parser let through: that is still bad input. */
function inputError(err: unknown): Response | null {
  if (err instanceof CursorError) return badRequest(err.message, "cursor");
  const msg = err instanceof Error ? err.message : String(err);
  if (/invalid regular expression/i.test(msg)) return badRequest(`http-path: ${msg}`, "http-path");
  return null;
}

export async function GET(request: Request): Promise<Response> {
  const parsed = parseFlowQuery(new URL(request.url).searchParams);
  if (!parsed.ok) return badRequest(parsed.error, parsed.parameter);
  const q = parsed.query;
  let rt;
  try {
    rt = await getRuntime();
  } catch (e) {
    return unavailable(e, "the flow store is not available");
  }
  const base = { filter: q.filter, sinceNs: q.sinceNs, untilNs: q.untilNs, cursor: q.cursor };

  if (q.format === "json") {
    // With `last`, a cursor carries how many of the N newest are still to come: "<cursor>.<left>"
    // (base64url has no dots).
    let cursor = q.cursor;
    let left = q.last;
    const counted = cursor && left !== undefined ? /^(.+)\.(\d{1,7})$/.exec(cursor) : null;
    if (counted) [cursor, left] = [counted[1], Math.min(left!, Number(counted[2]))];
    if (left === 0) return Response.json({ flows: [], next: null }, { headers: noStore() });
    const limit = left !== undefined ? Math.min(q.limit, left) : q.limit;
    try {
      const page = await rt.reader.page({ ...base, cursor, limit });
      const rest = left === undefined ? undefined : left - page.items.length;
      const next = page.next === null || rest === 0 ? null : rest === undefined ? page.next : `${page.next}.${rest}`;
      return Response.json({ flows: page.items, next }, { headers: noStore() });
    } catch (e) {
      return inputError(e) ?? unavailable(e, "reading flows failed");
    }
  }

  // Streamed exports: validate the query by reading the first page before sending a 200.
  const enc = new TextEncoder();
  const csv = q.format === "csv";
  const pages = rt.reader.all(base, q.last ?? Number.POSITIVE_INFINITY);
  let first: IteratorResult<Awaited<ReturnType<typeof pages.next>>["value"]>;
  try {
    first = await pages.next();
  } catch (e) {
    return inputError(e) ?? unavailable(e, "reading flows failed");
  }
  const line = csv
    ? (item: Parameters<typeof csvRow>[0]) => csvLine(csvRow(item))
    : (item: Parameters<typeof csvRow>[0]) => {
        const o: Record<string, unknown> = { flow: item.flow };
        if (item.node_name !== undefined) o.node_name = item.node_name;
        if (item.time !== undefined) o.time = item.time;
        return JSON.stringify(o) + "\n";
      };
  let pending: typeof first | null = first;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      if (csv) c.enqueue(enc.encode(csvLine(CSV_COLUMNS)));
    },
    async pull(c) {
      try {
        const r = pending ?? (await pages.next());
        pending = null;
        if (r.done) return c.close();
        c.enqueue(enc.encode(r.value.map(line).join("")));
      } catch (e) {
        c.error(e);
      }
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(stream, {
    headers: noStore({
      "Content-Type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "Content-Disposition": `attachment; filename="flowlens-flows-${stamp}.${csv ? "csv" : "jsonl"}"`,
    }),
  });
}

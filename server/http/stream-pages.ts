/**
 * Streamed exports: the first page is read before answering, so a bad query still becomes a 400
 * (or a 503/504) instead of a 200 that breaks off; the rest is read as the client reads, one page
 * at a time (a slow reader holds one page, never the export). When the client goes away the page
 * being read is cancelled in the store and no further page is read; when a later page fails (the
 * query timeout), the body ends with a line saying why and the transfer is broken off, so neither a
 * person nor a program mistakes the part for the whole.
 */
import { InputError } from "@/server/db/input-error";
import { QueryCancelledError, QueryTimeoutError } from "@/server/db/query-errors";
import { csvLine } from "@/server/domain/flows/flow-csv";
import { logger } from "@/server/log";
import { badRequest, unavailable } from "./responses";

/**
 * Errors from the store that are really bad input: a parameter the store refused (a foreign cursor,
 * a range too large to analyse), or a regex PostgreSQL rejects that the parser allowed.
 */
export function queryInputError(err: unknown): Response | null {
  if (err instanceof InputError) return badRequest(err.message, err.parameter, err.details);
  const msg = err instanceof Error ? err.message : String(err);
  if (/invalid regular expression/i.test(msg)) return badRequest(`http-path: ${msg}`, "http-path");
  return null;
}

const LINES_PER_SLICE = 100;

/** An export's last line when it breaks off: CSV (one cell) or JSONL. */
export const errorLines = {
  csv: (message: string) => csvLine([`#error: ${message}`]),
  jsonl: (message: string) => JSON.stringify({ error: message }) + "\n",
};

/**
 * A signal for an export's reads: fires when the request's does (Next.js aborts it when the client
 * disconnects) and when the response body is cancelled (streamPages' `abort`).
 */
export function exportAbort(request: Request): AbortController {
  const c = new AbortController();
  if (request.signal.aborted) c.abort();
  else request.signal.addEventListener("abort", () => c.abort(), { once: true });
  return c;
}

/** Rows already in memory as pages, so they stream like a store read (never one big string). */
export async function* inPages<T>(rows: readonly T[], size = 500): AsyncGenerator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

export async function streamPages<T>(
  pages: AsyncGenerator<T[]>,
  line: (item: T) => string,
  opts: {
    header?: string;
    headers: Record<string, string>;
    failure: string;
    /** the last line written when a page fails after the answer started */
    errorLine: (message: string) => string;
    /** aborted when the client cancels the body: the reads behind `pages` take its signal */
    abort?: AbortController;
    /** called once when the body ends, with the rows written (the audit log's export entry) */
    onEnd?: (rows: number, outcome: "complete" | "cancelled" | "failed") => void;
  },
): Promise<Response> {
  let pending: IteratorResult<T[]> | null;
  try {
    pending = await pages.next();
  } catch (e) {
    return queryInputError(e) ?? unavailable(e, opts.failure);
  }
  let rows = 0;
  let ended = false;
  const end = (outcome: "complete" | "cancelled" | "failed") => {
    if (ended) return;
    ended = true;
    opts.onEnd?.(rows, outcome);
  };
  const enc = new TextEncoder();
  let failed: unknown = null;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      if (opts.header) c.enqueue(enc.encode(opts.header));
    },
    async pull(c) {
      // the error line has been read: now break the transfer off
      if (failed) return c.error(failed);
      try {
        const r = pending ?? (await pages.next());
        pending = null;
        if (r.done) {
          end("complete");
          return c.close();
        }
        // formatting a page takes tens of ms: in slices, with other work let in between
        for (let i = 0; i < r.value.length; i += LINES_PER_SLICE) {
          if (i > 0) await new Promise((resolve) => setImmediate(resolve));
          if (cancelled) return;
          const slice = r.value.slice(i, i + LINES_PER_SLICE);
          c.enqueue(enc.encode(slice.map(line).join("")));
          rows += slice.length;
        }
      } catch (e) {
        if (cancelled || e instanceof QueryCancelledError) {
          end("cancelled");
          return c.error(e); // nobody is reading any more
        }
        failed = e;
        end("failed");
        const message = `${opts.failure}: ${e instanceof Error ? e.message : String(e)}`;
        if (e instanceof QueryTimeoutError) logger().warn({ timeoutMs: e.timeoutMs }, `${opts.failure}: query timeout during an export`);
        else logger().error({ err: String(e) }, `${opts.failure} during an export`);
        c.enqueue(enc.encode(opts.errorLine(message)));
      }
    },
    async cancel() {
      cancelled = true;
      end("cancelled");
      opts.abort?.abort();
      await pages.return(undefined);
    },
  });
  return new Response(stream, { headers: opts.headers });
}

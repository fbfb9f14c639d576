/**
 * Streamed exports: the first page is read before answering, so a bad query still becomes a 400
 * (or a 503) instead of a 200 that breaks off; the rest is read as the client reads.
 */
import { InputError } from "@/server/db/input-error";
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

export async function streamPages<T>(
  pages: AsyncGenerator<T[]>,
  line: (item: T) => string,
  opts: { header?: string; headers: Record<string, string>; failure: string },
): Promise<Response> {
  let pending: IteratorResult<T[]> | null;
  try {
    pending = await pages.next();
  } catch (e) {
    return queryInputError(e) ?? unavailable(e, opts.failure);
  }
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      if (opts.header) c.enqueue(enc.encode(opts.header));
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
  return new Response(stream, { headers: opts.headers });
}

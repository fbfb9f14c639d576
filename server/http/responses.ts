/** Response helpers for the route handlers: clear JSON errors, never a bare 500 for bad input. */
import { QueryCancelledError, QueryTimeoutError } from "@/server/db/query-errors";
import { logger } from "@/server/log";

export function badRequest(error: string, parameter: string, details: Record<string, unknown> = {}): Response {
  return Response.json({ ...details, error, parameter }, { status: 400 });
}

/**
 * The store or relay could not do its part: say so plainly (503), log the detail. A read stopped by
 * the query timeout answers 504 saying what to change; one cancelled because the client went away
 * answers 499 (nobody reads it) and is no error.
 */
export function unavailable(err: unknown, what: string): Response {
  if (err instanceof QueryCancelledError) return new Response(null, { status: 499 });
  if (err instanceof QueryTimeoutError) {
    logger().warn({ timeoutMs: err.timeoutMs, phase: err.phase }, `${what}: query timeout`);
    return Response.json({ error: `${what}: ${err.message}`, timeoutMs: err.timeoutMs }, { status: 504 });
  }
  logger().error({ err: String(err) }, what);
  return Response.json({ error: `${what}: ${err instanceof Error ? err.message : String(err)}` }, { status: 503 });
}

export function noStore(headers: Record<string, string> = {}): Record<string, string> {
  return { "Cache-Control": "no-store", ...headers };
}

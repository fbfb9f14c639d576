/** Response helpers for the route handlers: clear JSON errors, never a bare 500 for bad input. */
import { logger } from "@/server/log";

export function badRequest(error: string, parameter: string, details: Record<string, unknown> = {}): Response {
  return Response.json({ ...details, error, parameter }, { status: 400 });
}

/** The store or relay could not do its part: say so plainly (503), log the detail. */
export function unavailable(err: unknown, what: string): Response {
  logger().error({ err: String(err) }, what);
  return Response.json({ error: `${what}: ${err instanceof Error ? err.message : String(err)}` }, { status: 503 });
}

export function noStore(headers: Record<string, string> = {}): Record<string, string> {
  return { "Cache-Control": "no-store", ...headers };
}

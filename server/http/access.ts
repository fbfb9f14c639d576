/**
 * Every route handler starts here: the runtime, who is asking (server/auth/identify.ts), whether
 * they may (role), and what they may see (namespace scope). The scope goes into the flow filter
 * (`scoped`), where the one matcher applies it to history, live, exports, drops, policies, the map
 * and DNS alike. Next.js middleware alone would not do: route handlers must check for themselves.
 *
 * State-changing requests (anything but GET/HEAD) from a browser session must come from this
 * site (Origin) and carry the session's CSRF token (X-Flowlens-CSRF); the session cookie is
 * SameSite=Lax as well. Token callers are not exposed to CSRF (no ambient credential).
 */
import { authRepoFor } from "@/server/db/auth-repo";
import type { FlowFilterSpec } from "@/server/domain/flows/flow-filter-spec";
import { scopeFor, type Capability, type Caller } from "@/server/domain/auth/roles";
import { authSettings } from "@/server/auth/auth-settings";
import { identify } from "@/server/auth/identify";
import type { Runtime } from "@/server/runtime";
import { runtimeOrUnavailable } from "./route-runtime";
import { unavailable } from "./responses";
import { logger } from "@/server/log";

export interface Access {
  rt: Runtime;
  caller: Caller;
  /** namespace patterns the caller may see for this action; undefined = all */
  scope: string[] | undefined;
}

export const CSRF_HEADER = "x-flowlens-csrf";

const WHAT: Record<Capability, string> = {
  view: "viewing flows",
  export: "exports (role auditor or admin)",
  admin: "this (role admin)",
};

export function forbidden(error: string): Response {
  return Response.json({ error }, { status: 403, headers: { "Cache-Control": "no-store" } });
}

export function unauthorized(error: string): Response {
  return Response.json({ error }, { status: 401, headers: { "Cache-Control": "no-store", "WWW-Authenticate": 'Bearer realm="flowlens"' } });
}

/** Same-origin check for a state-changing browser request. */
function csrfProblem(request: Request, caller: Caller): string | null {
  if (request.method === "GET" || request.method === "HEAD" || caller.kind !== "session") return null;
  const origin = request.headers.get("origin");
  const own = authSettings().publicUrl?.origin ?? new URL(request.url).origin;
  if (origin !== null && origin !== own) return `origin ${origin} is not ${own}`;
  if (request.headers.get(CSRF_HEADER) !== caller.csrf) return `missing or wrong ${CSRF_HEADER} header`;
  return null;
}

/** The runtime and the caller for `cap`, or the Response to answer (401, 403, 503). */
export async function authorize(request: Request, cap: Capability): Promise<Access | Response> {
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  let who;
  try {
    who = await identify(request, rt.db);
  } catch (e) {
    return unavailable(e, "checking who is asking failed");
  }
  if (!who.ok) return unauthorized(who.error);
  const scope = scopeFor(who.caller, cap);
  if (scope === "forbidden") return forbidden(`${who.caller.name} may not do ${WHAT[cap]}`);
  const csrf = csrfProblem(request, who.caller);
  if (csrf) return forbidden(`cross-site request refused: ${csrf}`);
  return { rt, caller: who.caller, scope: scope ?? undefined };
}

/** The filter with the caller's namespace scope added (no change for unrestricted callers). */
export function scoped<F extends FlowFilterSpec>(filter: F, access: Pick<Access, "scope">): F {
  return access.scope === undefined ? filter : { ...filter, scope: access.scope };
}

/**
 * Writes an export to the audit log when it ends: who, the filter, how many rows, whether the
 * client took all of it. For streamPages' onEnd.
 */
export function auditExport(access: Access, what: string, filter: string): (rows: number, outcome: string) => void {
  return (rows, outcome) => {
    authRepoFor(access.rt.db)
      .audit(access.caller.name, "export", { what, filter, rows, outcome, scope: access.scope ?? ["*"] })
      .catch((e) => logger().error({ err: String(e), actor: access.caller.name, what, filter, rows }, "writing an export to the audit log failed"));
  };
}

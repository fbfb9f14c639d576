import { authSettings } from "@/server/auth/auth-settings";
import { callerFromBearer } from "@/server/auth/identify";
import { unauthorized } from "@/server/http/access";
import { metrics } from "@/server/metrics";
import { getRuntime } from "@/server/runtime";

export const dynamic = "force-dynamic";

/** Prometheus metrics. With sign-in on, an API token (any role) is required: scrapers have no session. */
export async function GET(request: Request): Promise<Response> {
  const rt = await getRuntime().catch(() => null); // metrics are served even when the store failed to start
  if (authSettings().mode === "on") {
    const authorization = request.headers.get("authorization");
    if (!authorization) return unauthorized("/metrics needs an API token: Authorization: Bearer <token>");
    if (!rt) return Response.json({ error: "the store is not available to check the token" }, { status: 503 });
    const who = await callerFromBearer(rt.db, authorization, { path: "/metrics" }).catch(() => null);
    if (!who) return Response.json({ error: "checking the token failed" }, { status: 503 });
    if (!who.ok) return unauthorized(who.error);
  }
  const m = metrics();
  return new Response(await m.registry.metrics(), { headers: { "Content-Type": m.registry.contentType, "Cache-Control": "no-store" } });
}

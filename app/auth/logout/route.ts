import { authSettings } from "@/server/auth/auth-settings";
import { SESSION_COOKIE, clearCookie, readCookie } from "@/server/auth/cookies";
import { authRepoFor } from "@/server/db/auth-repo";
import { authorize } from "@/server/http/access";

export const dynamic = "force-dynamic";

/** POST /auth/logout (X-Flowlens-CSRF): ends the session here; the provider's own session is left alone. */
export async function POST(request: Request): Promise<Response> {
  const access = await authorize(request, "view");
  if (access instanceof Response) return access;
  const id = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
  const repo = authRepoFor(access.rt.db);
  if (access.caller.kind === "session" && id) {
    await repo.endSession(id);
    await repo.audit(access.caller.name, "sign-out", {});
  }
  return Response.json(
    { signedOut: true, next: "/auth/signed-out" },
    { headers: { "Cache-Control": "no-store", "Set-Cookie": clearCookie(SESSION_COOKIE, { secure: authSettings().secureCookies }) } },
  );
}

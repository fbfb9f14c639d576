import { authSettings } from "@/server/auth/auth-settings";
import { LOGIN_COOKIE, setCookie } from "@/server/auth/cookies";
import { encodePending, safeNext, startLogin } from "@/server/auth/oidc";
import { unavailable } from "@/server/http/responses";

export const dynamic = "force-dynamic";

/** GET /auth/login?next=/flows: off to the identity provider (authorization code + PKCE). */
export async function GET(request: Request): Promise<Response> {
  const s = authSettings();
  const next = safeNext(new URL(request.url).searchParams.get("next"));
  if (s.mode !== "on" || !s.oidc) return Response.redirect(new URL(next, s.publicUrl ?? request.url), 303);
  try {
    const { url, pending } = await startLogin(s.oidc, next);
    return new Response(null, {
      status: 303,
      headers: {
        Location: url.href,
        "Cache-Control": "no-store",
        "Set-Cookie": setCookie(LOGIN_COOKIE, encodePending(pending), { maxAgeS: 600, path: "/auth", secure: s.secureCookies }),
      },
    });
  } catch (e) {
    return unavailable(e, `the identity provider ${s.oidc.issuer.href} did not answer`);
  }
}

import { authSettings } from "@/server/auth/auth-settings";
import { LOGIN_COOKIE, SESSION_COOKIE, clearCookie, readCookie, setCookie } from "@/server/auth/cookies";
import { decodePending, finishLogin } from "@/server/auth/oidc";
import { authRepoFor } from "@/server/db/auth-repo";
import { grantsFor } from "@/server/domain/auth/access-config";
import { runtimeOrUnavailable } from "@/server/http/route-runtime";
import { logger } from "@/server/log";

export const dynamic = "force-dynamic";

function page(status: number, title: string, text: string, clear: string): Response {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><meta charset="utf-8"><title>${esc(title)} · Flowlens</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1 data-testid="auth-problem">${esc(title)}</h1><p>${esc(text)}</p><p><a href="/auth/login">Sign in again</a></p></body>`;
  return new Response(body, { status, headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Set-Cookie": clear } });
}

/**
 * GET /auth/callback: the identity provider sends the browser back here with a code. openid-client
 * checks state, nonce and PKCE and validates the ID token; the user's groups/claims must earn at
 * least one grant in FLOWLENS_AUTH_CONFIG. Success and failure both go to the audit log.
 */
export async function GET(request: Request): Promise<Response> {
  const s = authSettings();
  if (s.mode !== "on" || !s.oidc || !s.access || !s.publicUrl) return Response.redirect(new URL("/flows", request.url), 303);
  const rt = await runtimeOrUnavailable();
  if (rt instanceof Response) return rt;
  const repo = authRepoFor(rt.db);
  const clear = clearCookie(LOGIN_COOKIE, { path: "/auth", secure: s.secureCookies });
  const here = new URL(request.url);
  // the URL the provider redirected to, as it knows it (a proxy in front may have rewritten ours)
  const callbackUrl = new URL(`/auth/callback${here.search}`, s.publicUrl);
  const pending = decodePending(readCookie(request.headers.get("cookie"), LOGIN_COOKIE));
  const fail = async (reason: string, who = "unknown") => {
    logger().warn({ reason, who }, "sign-in failed");
    await repo.audit(who, "sign-in-failed", { reason }).catch((e) => logger().error({ err: String(e) }, "writing a failed sign-in to the audit log failed"));
  };
  const idpError = here.searchParams.get("error");
  if (idpError) {
    const reason = `${idpError}: ${here.searchParams.get("error_description") ?? ""}`.trim();
    await fail(`the identity provider said ${reason}`);
    return page(401, "Sign-in failed", `The identity provider answered ${reason}.`, clear);
  }
  if (!pending) {
    await fail("no sign-in in progress (missing or expired login cookie)");
    return page(400, "Sign-in expired", "This sign-in was not started here or took longer than 10 minutes.", clear);
  }
  let claims: Record<string, unknown>;
  try {
    claims = await finishLogin(s.oidc, callbackUrl, pending);
  } catch (e) {
    await fail(e instanceof Error ? e.message : String(e));
    return page(401, "Sign-in failed", "The identity provider's answer did not check out.", clear);
  }
  const subject = String(claims.sub);
  const name = String(claims.email ?? claims.preferred_username ?? claims.name ?? subject);
  const grants = grantsFor(s.access, claims);
  if (!grants.length) {
    await fail(`no rule in FLOWLENS_AUTH_CONFIG matches (${s.access.groupsClaim}: ${JSON.stringify(claims[s.access.groupsClaim] ?? null)})`, name);
    return page(403, "No access", `You are signed in at the identity provider as ${name}, but no rule of Flowlens' access configuration grants you a role. Ask your platform team.`, clear);
  }
  const session = await repo.createSession({ subject, displayName: name, claims, ttlMs: s.access.session });
  await repo.audit(name, "sign-in", { subject, grants });
  const headers = new Headers({ Location: new URL(pending.next, s.publicUrl).href, "Cache-Control": "no-store" });
  headers.append("Set-Cookie", clear);
  headers.append("Set-Cookie", setCookie(SESSION_COOKIE, session.id, { maxAgeS: s.access.session / 1000, secure: s.secureCookies }));
  return new Response(null, { status: 303, headers });
}

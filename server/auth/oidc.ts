/**
 * Sign-in with the organisation's identity provider: OpenID Connect authorization code flow with
 * PKCE, all of it done by openid-client (discovery, the authorization URL, the code exchange, ID
 * token validation, userinfo). Nothing here parses or checks a token by hand.
 *
 * The pending sign-in (state, nonce, PKCE verifier, where to return) lives in a short-lived
 * HttpOnly cookie scoped to /auth: the browser brings it back to the callback, openid-client
 * compares the state and nonce.
 */
import * as client from "openid-client";
import type { OidcSettings } from "./auth-settings";

const KEY = Symbol.for("flowlens.oidc-config");
type Holder = { [KEY]?: { issuer: string; config: Promise<client.Configuration> } };

function isLoopback(u: URL): boolean {
  return u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
}

/** The issuer's discovered configuration, once per process (again after a failure). */
export function oidcConfiguration(s: OidcSettings): Promise<client.Configuration> {
  const g = globalThis as typeof globalThis & Holder;
  if (g[KEY]?.issuer !== s.issuer.href) {
    const config = client.discovery(
      s.issuer,
      s.clientId,
      s.clientSecret,
      s.clientSecret ? undefined : client.None(),
      // plain http only for an issuer on this machine (a test issuer, a port-forwarded Dex)
      s.issuer.protocol === "http:" && isLoopback(s.issuer) ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    config.catch(() => {
      if (g[KEY]?.config === config) delete g[KEY];
    });
    g[KEY] = { issuer: s.issuer.href, config };
  }
  return g[KEY]!.config;
}

export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  /** the path to return to */
  next: string;
}

export async function startLogin(s: OidcSettings, next: string): Promise<{ url: URL; pending: PendingLogin }> {
  const config = await oidcConfiguration(s);
  const verifier = client.randomPKCECodeVerifier();
  const pending: PendingLogin = { state: client.randomState(), nonce: client.randomNonce(), verifier, next };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: s.redirectUri,
    scope: s.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
  });
  return { url, pending };
}

/**
 * Exchanges the callback's code; returns the ID token's claims merged with userinfo's (many
 * providers put groups only in one of them). Throws when anything does not check out.
 */
export async function finishLogin(s: OidcSettings, callbackUrl: URL, pending: PendingLogin): Promise<Record<string, unknown>> {
  const config = await oidcConfiguration(s);
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (!claims) throw new Error("the identity provider returned no ID token");
  let info: Record<string, unknown> = {};
  if (config.serverMetadata().userinfo_endpoint) {
    info = (await client.fetchUserInfo(config, tokens.access_token, claims.sub)) as Record<string, unknown>;
  }
  return { ...info, ...claims };
}

export function encodePending(p: PendingLogin): string {
  return Buffer.from(JSON.stringify(p)).toString("base64url");
}

export function decodePending(v: string | undefined): PendingLogin | null {
  if (!v) return null;
  try {
    const p = JSON.parse(Buffer.from(v, "base64url").toString("utf8")) as Partial<PendingLogin>;
    if (typeof p.state !== "string" || typeof p.nonce !== "string" || typeof p.verifier !== "string" || typeof p.next !== "string") return null;
    return p as PendingLogin;
  } catch {
    return null;
  }
}

/** Only a path on this site: `/flows?x`, never `//evil.example` or `https://…`. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/flows";
  return next;
}

/**
 * Who is asking: the one place every route, page and the gRPC server learn the caller.
 * With auth off (mode local or off) everyone is the local admin. Otherwise, in this order: an
 * `Authorization: Bearer` API token (scripts, CI, Grafana; also gRPC call metadata), a session
 * cookie from a sign-in. A token that is unknown, expired or revoked is an error (401), not
 * "anonymous".
 */
import type { Database } from "@/server/db/connection";
import { authRepoFor, type TokenRow } from "@/server/db/auth-repo";
import { grantsFor } from "@/server/domain/auth/access-config";
import { LOCAL_CALLER, ROLES, type Caller, type Role } from "@/server/domain/auth/roles";
import { authSettings, type AuthSettings } from "./auth-settings";
import { SESSION_COOKIE, readCookie } from "./cookies";

export type Identified = { ok: true; caller: Caller } | { ok: false; status: 401; error: string };

const NO_CREDENTIALS = "sign in, or send an API token as Authorization: Bearer <token>";

function tokenCaller(t: TokenRow): Caller {
  const role = (ROLES as readonly string[]).includes(t.role) ? (t.role as Role) : "viewer";
  return { kind: "token", name: `token:${t.name}`, tokenId: t.id, grants: [{ role, namespaces: t.namespaces }] };
}

/** The caller of an `authorization` value (HTTP header or gRPC metadata). */
export async function callerFromBearer(db: Database, authorization: string, detail: Record<string, unknown> = {}): Promise<Identified> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return { ok: false, status: 401, error: "Authorization: expected Bearer <token>" };
  const repo = authRepoFor(db);
  const t = await repo.token(m[1]);
  if (!t) return { ok: false, status: 401, error: "the API token is unknown, expired or revoked" };
  await repo.tokenUsed(t, detail).catch(() => {});
  return { ok: true, caller: tokenCaller(t) };
}

export async function callerFromSession(db: Database, settings: AuthSettings, sessionId: string | undefined): Promise<Caller | null> {
  if (!sessionId || !settings.access) return null;
  const s = await authRepoFor(db).session(sessionId);
  if (!s) return null;
  const grants = grantsFor(settings.access, s.claims);
  if (!grants.length) return null;
  return { kind: "session", name: s.displayName, grants, csrf: s.csrf };
}

/** The caller of an HTTP request. */
export async function identify(request: Request, db: Database): Promise<Identified> {
  const settings = authSettings();
  if (settings.mode !== "on") return { ok: true, caller: LOCAL_CALLER };
  const authorization = request.headers.get("authorization");
  if (authorization) return callerFromBearer(db, authorization, { path: new URL(request.url).pathname });
  const caller = await callerFromSession(db, settings, readCookie(request.headers.get("cookie"), SESSION_COOKIE));
  return caller ? { ok: true, caller } : { ok: false, status: 401, error: NO_CREDENTIALS };
}

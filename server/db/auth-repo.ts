/**
 * Sessions, API tokens and the audit log (tables from the 20261203000000_auth migration). Only the
 * sha256 of a session id or token is stored or looked up; the values themselves live in the
 * browser's cookie or the script's configuration. The audit log is append-only (a trigger refuses
 * changes): this class only ever INSERTs into it.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "./connection";

export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** a random secret: 32 bytes, base64url */
export const randomSecret = (): string => randomBytes(32).toString("base64url");

/** API tokens start with this, so a leaked one is recognisable (secret scanners, logs) */
export const TOKEN_PREFIX = "flk_";

export interface SessionRow {
  subject: string;
  displayName: string;
  claims: Record<string, unknown>;
  csrf: string;
  expiresAt: Date;
}

export interface TokenRow {
  id: number;
  name: string;
  role: string;
  namespaces: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

type RawToken = {
  id: number;
  name: string;
  role: string;
  namespaces: string[] | null;
  created_by: string;
  created_at: Date | string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
};

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function tokenRow(r: RawToken): TokenRow {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    namespaces: r.namespaces ?? [],
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}

/** How often one token's use is written down (its last_used_at and a `token-use` audit entry). */
const TOKEN_USE_EVERY_MS = 10 * 60_000;

/**
 * How long a token or session found valid is believed without asking the store again. Revoking a
 * token or signing out in this process forgets it at once; a revocation by another process (`npm run
 * token -- revoke`, a second replica) takes effect within this time. Expiry is checked on every use.
 * Without it the lookup cost ~15 % of a /api/flows page on a loaded machine (npm run bench:auth).
 */
export const VALID_FOR_MS = 2000;
const CACHE_MAX = 10_000;

export class AuthRepo {
  private readonly lastUseLogged = new Map<number, number>();
  private readonly tokenCache = new Map<string, { row: TokenRow; at: number }>();
  private readonly sessionCache = new Map<string, { row: SessionRow; at: number }>();

  private static remember<T>(cache: Map<string, { row: T; at: number }>, key: string, row: T): void {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, { row, at: Date.now() });
  }

  constructor(private readonly db: Database) {}

  // ── sessions ──────────────────────────────────────────────────────────────

  /** Starts a session; returns the id for the cookie (never stored) and the CSRF token. */
  async createSession(s: { subject: string; displayName: string; claims: Record<string, unknown>; ttlMs: number }): Promise<{ id: string; csrf: string; expiresAt: Date }> {
    const id = randomSecret();
    const csrf = randomSecret();
    const expiresAt = new Date(Date.now() + s.ttlMs);
    await this.db.api.query(
      `INSERT INTO auth_sessions (id_hash, subject, display_name, claims, csrf, expires_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)`,
      [sha256(id), s.subject, s.displayName, JSON.stringify(s.claims), csrf, expiresAt.toISOString()],
    );
    return { id, csrf, expiresAt };
  }

  /** The live session for a cookie value, or null (unknown, expired or signed out). */
  async session(id: string): Promise<SessionRow | null> {
    const key = sha256(id);
    const hit = this.sessionCache.get(key);
    if (hit && Date.now() - hit.at < VALID_FOR_MS && hit.row.expiresAt.getTime() > Date.now()) return hit.row;
    this.sessionCache.delete(key);
    const row = await this.readSession(key);
    if (row) AuthRepo.remember(this.sessionCache, key, row);
    return row;
  }

  private async readSession(idHash: string): Promise<SessionRow | null> {
    const rows = await this.db.api.query<{ subject: string; display_name: string; claims: unknown; csrf: string; expires_at: Date | string }>(
      `SELECT subject, display_name, claims, csrf, expires_at FROM auth_sessions
        WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > now()`,
      [idHash],
    );
    const r = rows[0];
    if (!r) return null;
    const claims = typeof r.claims === "string" ? JSON.parse(r.claims) : r.claims;
    return { subject: r.subject, displayName: r.display_name, claims: claims as Record<string, unknown>, csrf: r.csrf, expiresAt: new Date(r.expires_at) };
  }

  async endSession(id: string): Promise<void> {
    this.sessionCache.delete(sha256(id));
    await this.db.api.query(`UPDATE auth_sessions SET ended_at = now() WHERE id_hash = $1 AND ended_at IS NULL`, [sha256(id)]);
  }

  /** removes sessions that ended or expired more than a day ago */
  async pruneSessions(): Promise<void> {
    await this.db.api.query(`DELETE FROM auth_sessions WHERE COALESCE(ended_at, expires_at) < now() - interval '1 day'`);
  }

  // ── API tokens ────────────────────────────────────────────────────────────

  /** Creates a token; the returned secret is shown once and never stored. */
  async createToken(t: { name: string; role: string; namespaces: string[]; createdBy: string; expiresAt?: Date | null }): Promise<{ token: string; row: TokenRow }> {
    const token = TOKEN_PREFIX + randomSecret();
    const rows = await this.db.api.query<RawToken>(
      `INSERT INTO api_tokens (hash, name, role, namespaces, created_by, expires_at) VALUES ($1, $2, $3, $4::text[], $5, $6)
       RETURNING id, name, role, namespaces, created_by, created_at, expires_at, revoked_at, last_used_at`,
      [sha256(token), t.name, t.role, t.namespaces, t.createdBy, t.expiresAt ? t.expiresAt.toISOString() : null],
    );
    return { token, row: tokenRow(rows[0]) };
  }

  /** The usable token for a bearer value: not revoked, not expired. */
  async token(secret: string): Promise<TokenRow | null> {
    const hash = sha256(secret);
    const hit = this.tokenCache.get(hash);
    const now = Date.now();
    if (hit && now - hit.at < VALID_FOR_MS && (hit.row.expiresAt === null || Date.parse(hit.row.expiresAt) > now)) return hit.row;
    this.tokenCache.delete(hash);
    const rows = await this.db.api.query<RawToken>(
      `SELECT id, name, role, namespaces, created_by, created_at, expires_at, revoked_at, last_used_at FROM api_tokens
        WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hash],
    );
    if (!rows[0]) return null;
    const row = tokenRow(rows[0]);
    AuthRepo.remember(this.tokenCache, hash, row);
    return row;
  }

  async tokens(): Promise<TokenRow[]> {
    const rows = await this.db.api.query<RawToken>(
      `SELECT id, name, role, namespaces, created_by, created_at, expires_at, revoked_at, last_used_at FROM api_tokens ORDER BY id DESC`,
    );
    return rows.map(tokenRow);
  }

  /** true when the token existed and was not yet revoked */
  async revokeToken(id: number): Promise<boolean> {
    for (const [k, v] of this.tokenCache) if (v.row.id === id) this.tokenCache.delete(k);
    const rows = await this.db.api.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [id]);
    return rows.length > 0;
  }

  /**
   * Notes a token's use: last_used_at and a `token-use` audit entry, at most once per token every
   * 10 minutes (a dashboard polling every few seconds would otherwise fill the log).
   */
  async tokenUsed(t: TokenRow, detail: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    const last = this.lastUseLogged.get(t.id);
    if (last !== undefined && now - last < TOKEN_USE_EVERY_MS) return;
    this.lastUseLogged.set(t.id, now);
    await this.db.api.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, [t.id]);
    await this.audit(`token:${t.name}`, "token-use", { tokenId: t.id, ...detail });
  }

  // ── audit log ─────────────────────────────────────────────────────────────

  async audit(actor: string, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.db.api.query(`INSERT INTO audit_log (actor, action, detail) VALUES ($1, $2, $3::jsonb)`, [actor, action, JSON.stringify(detail)]);
  }

  /** Newest first, keyset by id. */
  async auditPage(q: { beforeId?: bigint; limit: number; action?: string; signal?: AbortSignal }): Promise<{ items: AuditEntry[]; next: string | null }> {
    const params: unknown[] = [q.limit + 1];
    const where: string[] = [];
    if (q.beforeId !== undefined) where.push(`id < $${params.push(q.beforeId.toString())}::bigint`);
    if (q.action !== undefined) where.push(`action = $${params.push(q.action)}`);
    const rows = await this.db.api.query<{ id: string; at: Date | string; actor: string; action: string; detail: unknown }>(
      `SELECT id::text AS id, at, actor, action, detail FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $1`,
      params,
      { signal: q.signal },
    );
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map((r) => ({
      id: r.id,
      at: iso(r.at)!,
      actor: r.actor,
      action: r.action,
      detail: (typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    }));
    return { items, next: more ? items[items.length - 1].id : null };
  }

  /** every entry, newest first, page by page (the JSONL export) */
  async *auditAll(q: { action?: string; signal?: AbortSignal }): AsyncGenerator<AuditEntry[]> {
    let beforeId: bigint | undefined;
    for (;;) {
      const page = await this.auditPage({ beforeId, limit: 500, action: q.action, signal: q.signal });
      if (page.items.length) yield page.items;
      if (page.next === null) return;
      beforeId = BigInt(page.next);
    }
  }
}

const KEY = Symbol.for("flowlens.auth-repo");
type Holder = { [KEY]?: WeakMap<Database, AuthRepo> };

/** The one AuthRepo of a store (its token-use throttle is per process). */
export function authRepoFor(db: Database): AuthRepo {
  const g = globalThis as typeof globalThis & Holder;
  const map = (g[KEY] ??= new WeakMap());
  let r = map.get(db);
  if (!r) map.set(db, (r = new AuthRepo(db)));
  return r;
}

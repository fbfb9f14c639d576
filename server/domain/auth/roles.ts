/**
 * Roles and what they may do. viewer: pages and the JSON API; auditor: a viewer who may also
 * export (CSV/JSONL of flows and drops, the policy YAML); admin: an auditor who may also manage
 * API tokens, read the audit log and the quarantine (raw bytes of any namespace).
 * A caller holds one or more grants (role + namespaces): for an action, the namespaces it may see
 * are those of the grants whose role allows the action.
 */
import { ALL_NAMESPACES, isUnrestricted, unionScopes } from "./namespace-scope";

export const ROLES = ["viewer", "auditor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Capability = "view" | "export" | "admin";

const RANK: Record<Role, number> = { viewer: 1, auditor: 2, admin: 3 };
const NEEDS: Record<Capability, number> = { view: 1, export: 2, admin: 3 };

export interface Grant {
  role: Role;
  /** namespace patterns; ["*"] = every namespace */
  namespaces: string[];
}

export interface Caller {
  kind: "session" | "token" | "local";
  /** who, for the audit log and the header: the user's name or email, `token:<name>`, `local` */
  name: string;
  grants: Grant[];
  /** session only: the token state-changing requests must echo */
  csrf?: string;
  /** token only */
  tokenId?: number;
}

/** What `cap` lets the caller see: null = every namespace, a pattern list otherwise; "forbidden" = no grant allows it. */
export function scopeFor(caller: Caller, cap: Capability): string[] | null | "forbidden" {
  const grants = caller.grants.filter((g) => RANK[g.role] >= NEEDS[cap]);
  if (!grants.length) return "forbidden";
  const union = unionScopes(grants.map((g) => g.namespaces));
  return isUnrestricted(union) ? null : union;
}

export function may(caller: Caller, cap: Capability): boolean {
  return scopeFor(caller, cap) !== "forbidden";
}

/** The highest role among the grants (for display). */
export function topRole(grants: readonly Grant[]): Role | null {
  let best: Role | null = null;
  for (const g of grants) if (!best || RANK[g.role] > RANK[best]) best = g.role;
  return best;
}

/** Everything, everywhere: the caller when auth is off. */
export const LOCAL_CALLER: Caller = { kind: "local", name: "local", grants: [{ role: "admin", namespaces: [ALL_NAMESPACES] }] };

/**
 * Which namespaces a caller may see: a list of patterns (`shop`, `team-*`, `*`). A flow is visible
 * when its source or its destination namespace is allowed; an endpoint without a namespace (the
 * world, the host, another node, any reserved identity) allows nothing, so a flow between a pod and
 * such an identity is decided by the pod's side, and one between two of them is never visible to
 * a caller whose scope is not everything.
 *
 * The scope is one more condition of the flow filter (FlowFilterSpec.scope), evaluated by the one
 * matcher (flow-match.ts) wherever a filter is: history, live, exports, drops, policies, the map,
 * DNS. Unrestricted callers carry no scope at all (no cost).
 */

import { compileLinearRegex } from "../shared/linear-regex";

/** `*` matches any run of characters (also none); everything else is literal and case-sensitive. */
export const NAMESPACE_PATTERN = /^[a-z0-9*]([-a-z0-9.*]{0,251}[a-z0-9*])?$/;

export const ALL_NAMESPACES = "*";

export function isUnrestricted(patterns: readonly string[]): boolean {
  return patterns.includes(ALL_NAMESPACES);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One test for a list of patterns; an empty list allows nothing. */
export function compileNamespaceScope(patterns: readonly string[]): (namespace: string | undefined) => boolean {
  if (isUnrestricted(patterns)) return (ns) => ns !== undefined && ns !== "";
  const exact = new Set(patterns.filter((p) => !p.includes("*")));
  const globs = patterns.filter((p) => p.includes("*"));
  // linear time, like every pattern the matcher runs (linear-regex.ts)
  const re = globs.length ? compileLinearRegex(`^(?:${globs.map((g) => g.split("*").map(escapeRegex).join(".*")).join("|")})$`) : null;
  return (ns) => ns !== undefined && ns !== "" && (exact.has(ns) || (re !== null && re.test(ns)));
}

/** The smallest pattern list equal to the union of these (for display and storage). */
export function unionScopes(lists: readonly (readonly string[])[]): string[] {
  const all = new Set(lists.flat());
  if (all.has(ALL_NAMESPACES)) return [ALL_NAMESPACES];
  return [...all].sort();
}

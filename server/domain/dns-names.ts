/**
 * DNS names as the analysis compares them. Analyses run over every stored message of a range,
 * again on each refresh, and the same few thousand names recur in 100k queries: the canonical form
 * is memoised per string instead of lower-casing and concatenating on every comparison.
 */

const MAX_MEMO = 200_000;
const canonicalOf = new Map<string, string>();

/** lower case with exactly one trailing dot */
export function normalize(name: string): string {
  let n = canonicalOf.get(name);
  if (n === undefined) {
    const lower = name.toLowerCase();
    n = lower.endsWith(".") ? lower : `${lower}.`;
    if (canonicalOf.size >= MAX_MEMO) canonicalOf.clear();
    canonicalOf.set(name, n);
  }
  return n;
}

/** The qtypes of a message as one key ("A", "A,AAAA"); one-element lists need no join. */
export function qtypesKey(qtypes: readonly string[]): string {
  return qtypes.length === 1 ? qtypes[0] : qtypes.join(",");
}

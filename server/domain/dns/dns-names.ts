/**
 * DNS names as the analysis compares them. Analyses run over every stored message of a range,
 * again on each refresh, and the same few thousand names recur in 100k queries: the canonical form
 * is memoised per string instead of lower-casing and concatenating on every comparison.
 */

const MAX_MEMO = 200_000;

/** fn, remembered per input string (bounded: started over when full) */
function memoised(fn: (name: string) => string): (name: string) => string {
  const memo = new Map<string, string>();
  return (name) => {
    let out = memo.get(name);
    if (out === undefined) {
      if (memo.size >= MAX_MEMO) memo.clear();
      memo.set(name, (out = fn(name)));
    }
    return out;
  };
}

/** lower case with exactly one trailing dot */
export const normalize = memoised((name) => {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
});

/** lower case without the trailing dot: "Backend.Shop." → "backend.shop" */
export const bareName = memoised((name) => name.replace(/\.$/, "").toLowerCase());

/** The qtypes of a message as one key ("A", "A,AAAA"); one-element lists need no join. */
export function qtypesKey(qtypes: readonly string[]): string {
  return qtypes.length === 1 ? qtypes[0] : qtypes.join(",");
}

/**
 * The one way a pattern that came from outside (URL parameters, request filters, policies, a
 * gRPC FlowFilter) — or that was built from such text — becomes an in-memory matcher.
 *
 * JavaScript's RegExp backtracks: `.*.*.*.*.*.*.*.*x` over a long URL path, or one FQDN pattern
 * with many `*`, held the event loop for tens of seconds, freezing ingest and every other request.
 * re2js (a port of RE2 / Go's regexp) matches in time linear in the text for every pattern: at
 * worst about (program size × text length) steps, and the API bounds the program size of a
 * request (flow-query.ts, MAX_PATTERN_SIZE). Cost and the chosen subset:
 * docs/adr/0007-linear-time-patterns.md.
 *
 * The syntax is RE2's (Perl-like, no backreferences or lookaround); `test` is an unanchored search
 * like RegExp.prototype.test. `dotAll`: `.` also matches a newline (PostgreSQL's default,
 * JavaScript's flag "s"). `ignoreCase`: RE2's Unicode simple case folding (the Kelvin sign K
 * matches k, ſ matches s); patterns that must agree with PostgreSQL spell cases out as classes.
 */
import { RE2JS } from "re2js";

export interface LinearRegex {
  readonly source: string;
  /** RE2 instructions: the per-character work of a match is at most proportional to it */
  readonly programSize: number;
  /** true when the pattern matches somewhere in `text` */
  test(text: string): boolean;
}

export interface LinearRegexOptions {
  dotAll?: boolean;
  ignoreCase?: boolean;
}

export type LinearRegexResult = { ok: true; value: LinearRegex } | { ok: false; error: string };

/**
 * Compiling costs far more than RegExp does (~10-60 µs per instruction), and the same filters come
 * back on every poll of /api/flows and every context-catalog match: compiled patterns are kept.
 */
const CACHE_ENTRIES = 256;
const cache = new Map<string, LinearRegex>();

/** Compiles a pattern that is known to be valid (built by our own code, or checked before); throws otherwise. */
export function compileLinearRegex(source: string, opts: LinearRegexOptions = {}): LinearRegex {
  const flags = (opts.dotAll ? RE2JS.DOTALL : 0) | (opts.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  const key = `${flags}:${source}`;
  const hit = cache.get(key);
  if (hit) {
    // most recently used last: the first key is the one to evict
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const re = RE2JS.compile(source, flags);
  const compiled: LinearRegex = { source, programSize: re.programSize(), test: (text) => re.test(text) };
  cache.set(key, compiled);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return compiled;
}

/** Compiles, or says why RE2 refuses the pattern. */
export function tryCompileLinearRegex(source: string, opts: LinearRegexOptions = {}): LinearRegexResult {
  try {
    return { ok: true, value: compileLinearRegex(source, opts) };
  } catch (e) {
    // "error parsing regexp: missing closing ): `(a`": the part after the prefix reads best
    return { ok: false, error: (e as Error).message.replace(/^error parsing regexp: /, "") };
  }
}

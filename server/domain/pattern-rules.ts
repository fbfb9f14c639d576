/**
 * What patterns the API takes (ADR 0007): the http-path regex subset that RE2 (in memory) and
 * PostgreSQL (SQL) read alike, and the size budget of all the patterns of one request, which
 * bounds what a request can make the linear-time matcher do per character of text.
 */
import type { FlowFilterSpec, LabelSelector } from "./flow-filter-spec";
import { formatLabelSelector } from "./label-selector";
import { compileLinearRegex, tryCompileLinearRegex } from "./linear-regex";

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const q = (s: string) => JSON.stringify(s);
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T = never>(error: string): Parsed<T> => ({ ok: false, error });

/**
 * Bounds the matcher's work per character of text: the RE2 program size (≈ instructions) of all the
 * patterns of one request (http-path, fqdn, node-name, labels), estimated before compiling. A match
 * takes at most ~30 ns × size × text length; everyday requests use well under 200. ADR 0007.
 */
export const MAX_PATTERN_SIZE = 1000;

/** ASCII meanings for the class escapes: PostgreSQL's follow the locale (é is a \\w there). */
const CLASS_ESCAPES: Record<string, string> = { d: "0-9", w: "0-9A-Za-z_", s: " \\t\\n\\r\\f\\v" };

/**
 * Regexes run in two engines (RE2 in memory for /api/live, PostgreSQL for /api/flows), so only
 * the subset both read the same way is accepted — characters, `.`, `[…]`, `(…)`, `(?:…)`, `|`,
 * `*`, `+`, `?` (also lazy `*?`), `{n}`, `{n,}`, `{n,m}` (n, m ≤ 255), `^`, `$`, `\t \n \r \f \v`,
 * escaped ASCII punctuation — and the class escapes `\d \w \s \D \W \S` are rewritten to their
 * ASCII sets (`\d` → `[0-9]`), which both engines read alike whatever the database locale. RE2 runs with dotAll (PostgreSQL's `.` matches newlines). Refused: what either
 * engine lacks or reads differently (backreferences, lookaround, flags, `\b`, POSIX classes, a
 * quantifier with nothing to repeat such as `^*`, which RE2 takes and PostgreSQL refuses), a
 * repeated group whose body repeats or alternates (`(a+)+`, `(a|aa)*`: the classic catastrophic
 * shapes, refused since the matcher backtracked and kept so the accepted set did not change),
 * and a pattern whose RE2 program would exceed MAX_PATTERN_SIZE (counted repetitions expand).
 * Returns the rewritten source, or why the regex is refused. ADR 0007 has the reasoning.
 */
export function toPortableRegex(source: string): Parsed<string> {
  const badEscape = (c: string) => /[A-Za-z0-9]/.test(c) && !"dDwWsStnrfv".includes(c);
  const differs = (c: string) => fail<string>(`uses \\${c}, which differs between RE2 and PostgreSQL`);
  const nonAscii = (c: string) => fail<string>(`escapes ${q(c)}; only ASCII punctuation can be escaped`);
  if (source.includes("\0")) return fail("contains a NUL character, which PostgreSQL text cannot hold");
  let out = "";
  // Per open group: does its body repeat or alternate, and its estimated RE2 program size.
  const stack: { repeats: boolean; size: number }[] = [{ repeats: false, size: 0 }];
  let lastGroup: boolean | null = null;
  // What a quantifier would apply to: an atom (and its size), a quantifier (only a lazy "?" may
  // follow), or nothing (start, "(", "|", "^", "$", a lazy "?").
  let prev = "none" as "atom" | "quantifier" | "none";
  let atomSize = 0;
  const atom = (size: number) => {
    stack[stack.length - 1].size += size;
    atomSize = size;
    prev = "atom";
    lastGroup = null;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const e = source[i + 1] ?? "";
      if (badEscape(e)) return differs(e);
      if (e > "\x7f") return nonAscii(e);
      const cls = CLASS_ESCAPES[e.toLowerCase()];
      out += cls === undefined ? c + e : e === e.toLowerCase() ? `[${cls}]` : `[^${cls}]`;
      i++;
      atom(1);
    } else if (c === "[") {
      out += c;
      if (source[i + 1] === "^") out += source[++i];
      if (source[i + 1] === "]") return fail('starts a [...] set with "]", which differs between RE2 and PostgreSQL');
      for (i++; i < source.length && source[i] !== "]"; i++) {
        const d = source[i];
        if (d === "\\") {
          const e = source[i + 1] ?? "";
          if (badEscape(e)) return differs(e);
          if (e > "\x7f") return nonAscii(e);
          if (e !== "" && "DWS".includes(e)) return fail(`uses \\${e} inside [...], which PostgreSQL does not allow`);
          out += CLASS_ESCAPES[e] ?? d + e;
          i++;
        } else if (d === "[" && ":.=".includes(source[i + 1] ?? "")) {
          return fail("uses a POSIX class like [:alpha:], which RE2 reads differently");
        } else {
          out += d;
        }
      }
      if (i < source.length) out += "]";
      atom(1);
    } else if (c === "(") {
      out += c;
      if (source[i + 1] === "?") {
        if (source[i + 2] !== ":") return fail("uses (?…) syntax other than (?:…) (lookaround, named groups or flags)");
        out += "?:";
        i += 2;
      }
      stack.push({ repeats: false, size: 0 });
      lastGroup = null;
      prev = "none";
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      let bound: RegExpExecArray | null = null;
      if (c === "{") {
        // PostgreSQL rejects a "{" that starts no bound, and bounds above 255; RE2 reads such a "{" as a literal.
        bound = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i));
        if (!bound) return fail('has a "{" that is not a repetition like {2} or {1,3}; write \\{ for a literal brace');
        if (Number(bound[1]) > 255 || Number(bound[2] || 0) > 255) {
          return fail("repeats more than 255 times, which PostgreSQL refuses");
        }
      }
      if (lastGroup && c !== "?") {
        return fail('repeats a group that itself repeats or alternates, like "(a+)+"');
      }
      const lazy: boolean = c === "?" && prev === "quantifier";
      if (prev !== "atom" && !lazy) return fail(`has ${q(bound ? bound[0] : c)} with nothing before it to repeat`);
      const frame = stack[stack.length - 1];
      if (bound) {
        const n = Number(bound[1]);
        const m = bound[2] === undefined ? n : bound[2] === "" ? n + 1 : Number(bound[2]);
        frame.size += Math.max(m - 1, 0) * atomSize + (m - n);
        out += bound[0];
        i += bound[0].length - 1;
      } else {
        frame.size += 1;
        out += c;
      }
      // "?" alone never made a group's body "repeat" (`(a?)+` has always been accepted)
      if (c !== "?") {
        frame.repeats = true;
        lastGroup = null;
      }
      prev = lazy ? "none" : "quantifier";
    } else if (c === ")") {
      out += c;
      if (stack.length === 1) return fail('is not a valid regular expression (a ")" without its "(")');
      const group = stack.pop()!;
      atom(group.size + 2);
      lastGroup = group.repeats;
      if (group.repeats) stack[stack.length - 1].repeats = true;
    } else if (c === "|") {
      out += c;
      stack[stack.length - 1].repeats = true;
      stack[stack.length - 1].size += 1;
      lastGroup = null;
      prev = "none";
    } else if (c === "^" || c === "$") {
      out += c;
      stack[stack.length - 1].size += 1;
      lastGroup = null;
      prev = "none";
    } else {
      out += c;
      atom(1);
    }
  }
  if (stack.length > 1) return fail('is not a valid regular expression (a "(" without its ")")');
  if (stack[0].size > MAX_PATTERN_SIZE) return tooLarge(stack[0].size);
  const re2 = tryCompileLinearRegex(out, { dotAll: true });
  if (!re2.ok) return fail(`is not a valid regular expression (${re2.error})`);
  return ok(out);
}

const tooLarge = (size: number) =>
  fail<never>(`is too large to match quickly (about ${size} steps per character; at most ${MAX_PATTERN_SIZE} for all patterns of a request)`);

/**
 * The RE2 program size of every pattern the matcher will compile for this filter, per parameter:
 * http-path's compiled (and cached) program; for names and labels, whose regexes are their text
 * escaped (one instruction per character, two per `*`), an estimate from the text, so an oversized
 * request is refused before anything is compiled.
 */
function patternSizes(filter: FlowFilterSpec): [string, number][] {
  const out: [string, number][] = [];
  for (const p of filter.httpPath ?? []) out.push(["http-path", compileLinearRegex(p, { dotAll: true }).programSize]);
  const names = (parameter: string, values: readonly string[] | undefined) => {
    for (const v of values ?? []) out.push([parameter, v.length + v.split("*").length + 4]);
  };
  names("fqdn", filter.fqdn);
  names("from-fqdn", filter.fromFqdn);
  names("to-fqdn", filter.toFqdn);
  names("node-name", filter.nodeName);
  const labels = (parameter: string, selectors: readonly LabelSelector[] | undefined) => {
    for (const sel of selectors ?? []) out.push([parameter, formatLabelSelector(sel).length + 12 * sel.length]);
  };
  labels("label", filter.label);
  labels("from-label", filter.fromLabel);
  labels("to-label", filter.toLabel);
  return out;
}

/** The first parameter whose patterns take the request over MAX_PATTERN_SIZE, and the 400's message. */
export function overPatternBudget(filter: FlowFilterSpec): { parameter: string; error: string } | null {
  let total = 0;
  for (const [parameter, size] of patternSizes(filter)) {
    total += size;
    if (total > MAX_PATTERN_SIZE) {
      return {
        parameter,
        error: `${parameter}: the patterns of this request are too large to match quickly (about ${total} steps per character with this one; at most ${MAX_PATTERN_SIZE}); use fewer or shorter patterns`,
      };
    }
  }
  return null;
}

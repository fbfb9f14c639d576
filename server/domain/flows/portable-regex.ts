/**
 * The regular-expression subset that JavaScript (the live matcher) and PostgreSQL (stored flows)
 * read alike, for `http-path`.
 */
import { fail, ok, type Parsed } from "../shared/parsed";

/** ASCII meanings for the class escapes: PostgreSQL's follow the locale (é is a \\w there). */
const CLASS_ESCAPES: Record<string, string> = { d: "0-9", w: "0-9A-Za-z_", s: " \\t\\n\\r\\f\\v" };

/**
 * Regexes run in two engines (JavaScript for /api/live, PostgreSQL for /api/flows), so only the
 * subset both read the same way is accepted — characters, `.`, `[…]`, `(…)`, `(?:…)`, `|`, `*`,
 * `+`, `?`, `{n,m}` (n, m ≤ 255), `^`, `$`, `\t \n \r \f \v`, escaped punctuation — and the class
 * escapes `\d \w \s \D \W \S` are rewritten to their ASCII sets (`\d` → `[0-9]`), which both
 * engines read alike whatever the database locale. JavaScript must use flag "s" (PostgreSQL's `.`
 * matches newlines). Since the live matcher backtracks, a repeated group whose body repeats or
 * alternates (`(a+)+`, `(a|aa)*`), the classic catastrophic case, is refused.
 * Returns the rewritten source, or why the regex is refused.
 */
export function toPortableRegex(source: string): Parsed<string> {
  const badEscape = (c: string) => /[A-Za-z0-9]/.test(c) && !"dDwWsStnrfv".includes(c);
  const differs = (c: string) => fail<string>(`uses \\${c}, which differs between JavaScript and PostgreSQL`);
  if (source.includes("\0")) return fail("contains a NUL character, which PostgreSQL text cannot hold");
  let out = "";
  // Per open group: does its body repeat or alternate? lastGroup: the group that just closed.
  const stack: boolean[] = [false];
  let lastGroup: boolean | null = null;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const e = source[i + 1] ?? "";
      if (badEscape(e)) return differs(e);
      const cls = CLASS_ESCAPES[e.toLowerCase()];
      out += cls === undefined ? c + e : e === e.toLowerCase() ? `[${cls}]` : `[^${cls}]`;
      i++;
      lastGroup = null;
    } else if (c === "[") {
      out += c;
      if (source[i + 1] === "^") out += source[++i];
      if (source[i + 1] === "]") return fail('starts a [...] set with "]", which differs between JavaScript and PostgreSQL');
      for (i++; i < source.length && source[i] !== "]"; i++) {
        const d = source[i];
        if (d === "\\") {
          const e = source[i + 1] ?? "";
          if (badEscape(e)) return differs(e);
          if (e !== "" && "DWS".includes(e)) return fail(`uses \\${e} inside [...], which PostgreSQL does not allow`);
          out += CLASS_ESCAPES[e] ?? d + e;
          i++;
        } else if (d === "[" && ":.=".includes(source[i + 1] ?? "")) {
          return fail("uses a POSIX class like [:alpha:], which JavaScript does not know");
        } else {
          out += d;
        }
      }
      if (i < source.length) out += "]";
      lastGroup = null;
    } else if (c === "(") {
      out += c;
      if (source[i + 1] === "?") {
        if (source[i + 2] !== ":") return fail("uses (?…) syntax other than (?:…) (lookaround, named groups or flags)");
        out += "?:";
        i += 2;
      }
      stack.push(false);
      lastGroup = null;
    } else if (c === "*" || c === "+" || c === "{") {
      if (c === "{") {
        // PostgreSQL rejects a "{" that starts no bound, and bounds above 255; JavaScript takes both.
        const bound = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i));
        if (!bound) return fail('has a "{" that is not a repetition like {2} or {1,3}; write \\{ for a literal brace');
        if (Number(bound[1]) > 255 || Number(bound[2] || 0) > 255) {
          return fail("repeats more than 255 times, which PostgreSQL refuses");
        }
      }
      if (lastGroup) {
        return fail('repeats a group that itself repeats or alternates, like "(a+)+", which can take exponential time');
      }
      out += c;
      stack[stack.length - 1] = true;
      lastGroup = null;
    } else {
      out += c;
      if (c === ")") {
        lastGroup = stack.pop() ?? false;
        if (lastGroup) stack[stack.length - 1] = true;
      } else if (c === "|") {
        stack[stack.length - 1] = true;
        lastGroup = null;
      } else if (c !== "?") {
        lastGroup = null;
      }
    }
  }
  try {
    new RegExp(out, "s");
  } catch (e) {
    return fail(`is not a valid regular expression (${(e as Error).message})`);
  }
  return ok(out);
}

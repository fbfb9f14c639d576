/**
 * Kubernetes label selectors (`app=web,tier!=db`, `env in (a,b)`, `app`, `!app`) over Hubble label
 * strings (`k8s:app=web`, `reserved:world`, `cidr:10.0.0.0/8`).
 *
 * Semantics (identical in the live matcher and in SQL, because both use labelRequirementPattern):
 * - A Hubble label `source:key=value` splits at the first `:` if that `:` comes before the first
 *   `=` (otherwise there is no source), then at the first `=` (no `=` means value "").
 *   `reserved:world` is source "reserved", key "world", value "".
 * - A requirement key without a source (`app`) matches that key under any source (`k8s:app=…`,
 *   `container:app=…`, or no source at all); with a source (`k8s:app`) only under that source.
 *   `any:app` is the same as `app` (Cilium's spelling), and is normalised away by the parser.
 * - exists(k): some label has key k. in(k, V): some label has key k and a value in V.
 *   notExists / notIn are exactly the negations (no label with key k / with key k and a value in V).
 *   With one label per key that is the Kubernetes meaning (`app!=web` also holds when there is no
 *   `app` label); with the same key under two sources it stays well defined.
 * - A selector holds when every requirement holds; an endpoint without labels has none.
 *
 * Parsing follows the Kubernetes lexer: keys and values are runs of characters other than white
 * space and `,()=!<>`; `in`/`notin` are only keywords right after a key. Set-based `gt`/`lt` and
 * quoting are not supported (Kubernetes has no quoting either).
 */
import type { LabelRequirement, LabelSelector } from "./flow-filter-spec";
import { compileLinearRegex, type LinearRegex } from "./linear-regex";

export type SelectorResult = { ok: true; value: LabelSelector } | { ok: false; error: string };

const SPECIAL = new Set([",", "(", ")", "=", "!", "<", ">"]);
const SOURCE = /^[A-Za-z0-9_.-]+$/;

type Token = { kind: "id" | "op"; text: string; pos: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "=" || c === "!") {
      // "==" and "!=" are single operators; a lone "!" is the not-exists prefix.
      const two = text.slice(i, i + 2);
      if (two === "==" || two === "!=") {
        tokens.push({ kind: "op", text: two, pos: i });
        i += 2;
      } else {
        tokens.push({ kind: "op", text: c, pos: i });
        i++;
      }
    } else if (SPECIAL.has(c)) {
      tokens.push({ kind: "op", text: c, pos: i });
      i++;
    } else {
      const start = i;
      while (i < text.length && !SPECIAL.has(text[i]) && !/\s/.test(text[i])) i++;
      tokens.push({ kind: "id", text: text.slice(start, i), pos: start });
    }
  }
  return tokens;
}

/** Splits a requirement key into its optional source and the key proper (`k8s:app` → k8s, app). */
export function splitLabelKey(key: string): { source?: string; key: string } {
  const colon = key.indexOf(":");
  if (colon < 0) return { key };
  const source = key.slice(0, colon);
  const rest = key.slice(colon + 1);
  return source === "any" ? { key: rest } : { source, key: rest };
}

/** Splits a Hubble label string (`k8s:app=web`) into source, key and value; see the header. */
export function parseHubbleLabel(label: string): { source: string; key: string; value: string } {
  const colon = label.indexOf(":");
  const eq = label.indexOf("=");
  const hasSource = colon >= 0 && (eq < 0 || colon < eq);
  const source = hasSource ? label.slice(0, colon) : "";
  const rest = hasSource ? label.slice(colon + 1) : label;
  const restEq = rest.indexOf("=");
  return restEq < 0
    ? { source, key: rest, value: "" }
    : { source, key: rest.slice(0, restEq), value: rest.slice(restEq + 1) };
}

function checkKey(raw: string): { key: string } | { error: string } {
  const { source, key } = splitLabelKey(raw);
  if (raw.startsWith(":") || (source !== undefined && !SOURCE.test(source))) {
    return { error: `"${raw}" has an invalid source prefix (expected e.g. k8s:app)` };
  }
  if (key === "") return { error: `"${raw}" has an empty key` };
  return { key: source === undefined ? key : `${source}:${key}` };
}

/** Parses one selector; commas separate requirements (AND), except inside `in (…)` sets. */
export function parseLabelSelector(text: string): SelectorResult {
  const tokens = tokenize(text);
  if (tokens.length === 0) return { ok: false, error: "empty label selector" };
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const fail = (error: string): SelectorResult => ({ ok: false, error });
  const describe = (t: Token | undefined) => (t ? `"${t.text}"` : "the end");

  while (i < tokens.length) {
    let t: Token | undefined = tokens[i];
    let negated = false;
    if (t.kind === "op" && t.text === "!") {
      negated = true;
      t = tokens[++i];
    }
    if (!t || t.kind !== "id") {
      if (t?.text === "," || (!t && requirements.length > 0)) return fail("empty requirement between commas");
      return fail(`expected a label key but found ${describe(t)}`);
    }
    const checked = checkKey(t.text);
    if ("error" in checked) return fail(checked.error);
    const key = checked.key;
    i++;
    const next = tokens[i];
    if (negated) {
      if (next && next.text !== ",") return fail(`"!${t.text}" cannot be followed by ${describe(next)}`);
      requirements.push({ op: "notExists", key });
    } else if (!next || next.text === ",") {
      requirements.push({ op: "exists", key });
    } else if (next.kind === "op" && (next.text === "=" || next.text === "==" || next.text === "!=")) {
      i++;
      const value = tokens[i];
      let v = "";
      if (value && value.kind === "id") {
        v = value.text;
        i++;
      } else if (value && value.text !== ",") {
        return fail(`expected a value after "${t.text}${next.text}" but found ${describe(value)}`);
      }
      requirements.push({ op: next.text === "!=" ? "notIn" : "in", key, values: [v] });
    } else if (next.kind === "id" && (next.text === "in" || next.text === "notin")) {
      i++;
      if (tokens[i]?.text !== "(") return fail(`expected "(" after "${t.text} ${next.text}"`);
      i++;
      const values: string[] = [];
      for (;;) {
        const v = tokens[i];
        if (!v || v.kind !== "id") {
          return fail(
            v?.text === ")" || v?.text === ","
              ? `empty value in the set of "${t.text} ${next.text} (…)"`
              : `missing ")" to close the set of "${t.text} ${next.text} (…)"`,
          );
        }
        values.push(v.text);
        i++;
        const sep = tokens[i];
        if (sep?.text === ")") {
          i++;
          break;
        }
        if (sep?.text !== ",") {
          return fail(`missing ")" to close the set of "${t.text} ${next.text} (…)"`);
        }
        i++;
      }
      requirements.push({ op: next.text === "in" ? "in" : "notIn", key, values });
    } else if (next.text === "<" || next.text === ">" || next.text === "gt" || next.text === "lt") {
      return fail(`operator "${next.text}" is not supported; use =, !=, in (…), notin (…), key or !key`);
    } else {
      return fail(`unexpected ${describe(next)} after "${t.text}"; use =, !=, in (…), notin (…), key or !key`);
    }
    const sep = tokens[i];
    if (sep) {
      if (sep.text !== ",") return fail(`unexpected ${describe(sep)}; separate requirements with ","`);
      i++;
      if (i === tokens.length) return fail('empty requirement after the last ","');
    }
  }
  return { ok: true, value: requirements };
}

/** Inverse of parseLabelSelector (canonical spelling). */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case "exists":
          return r.key;
        case "notExists":
          return `!${r.key}`;
        case "in":
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(",")})`;
        case "notIn":
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(",")})`;
      }
    })
    .join(",");
}

/** Escapes ASCII punctuation so the text is literal in both JavaScript and PostgreSQL regexes. */
export function escapeRegex(text: string): string {
  return text.replace(/[^A-Za-z0-9_\u0080-\uffff]/g, (c) => `\\${c}`);
}

/**
 * Anchored regular expression that a single Hubble label string matches iff it has the
 * requirement's key and — for in/notIn — one of its values. exists/in hold when SOME label matches
 * it; notExists/notIn when NO label does. PostgreSQL: `label ~ pattern` (no flags); in memory:
 * compileLinearRegex with dotAll, because PostgreSQL's `.` also matches a newline.
 */
export function labelRequirementPattern(req: LabelRequirement): string {
  const { source, key } = splitLabelKey(req.key);
  // No source asked for: accept any source, or none (the `:` must come before any `=`).
  const prefix = source === undefined ? "(?:[^:=]*:)?" : `${escapeRegex(source)}:`;
  const head = `^${prefix}${escapeRegex(key)}`;
  if (req.op === "exists" || req.op === "notExists") return `${head}(?:=.*)?$`;
  const nonEmpty = req.values.filter((v) => v !== "").map(escapeRegex);
  const alternatives = nonEmpty.length > 0 ? `=(?:${nonEmpty.join("|")})` : null;
  // Value "" is both `key=` and a bare `key` (reserved:world).
  if (req.values.includes("")) return alternatives ? `${head}(?:${alternatives}|=|)$` : `${head}=?$`;
  return `${head}${alternatives}$`;
}

/**
 * An RE2 test costs ~4× a RegExp one (ADR 0007), but labels repeat from flow to flow (the same
 * endpoints): each compiled selector remembers its answer per label string, boundedly.
 */
const MEMO_ENTRIES = 1024;
const MEMO_TEXT = 256;
function memoized(re: LinearRegex): (label: string) => boolean {
  const memo = new Map<string, boolean>();
  return (label) => {
    if (label.length > MEMO_TEXT) return re.test(label);
    let hit = memo.get(label);
    if (hit === undefined) {
      hit = re.test(label);
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(label, hit);
    }
    return hit;
  };
}

/** Compiles a selector into a test over an endpoint's label list. */
export function compileLabelSelector(selector: LabelSelector): (labels: readonly string[] | undefined) => boolean {
  const checks = selector.map((req) => ({
    test: memoized(compileLinearRegex(labelRequirementPattern(req), { dotAll: true })),
    // the pattern spells the key literally: a label without it cannot match
    key: splitLabelKey(req.key).key,
    negate: req.op === "notExists" || req.op === "notIn",
  }));
  return (labels) => {
    const list = labels ?? [];
    for (const { test, key, negate } of checks) {
      let found = false;
      for (let i = 0; i < list.length; i++) {
        if (list[i].includes(key) && test(list[i])) {
          found = true;
          break;
        }
      }
      if (found === negate) return false;
    }
    return true;
  };
}

export function matchesLabelSelector(selector: LabelSelector, labels: readonly string[] | undefined): boolean {
  return compileLabelSelector(selector)(labels);
}

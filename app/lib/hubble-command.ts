/**
 * `hubble observe` command lines ⇄ flow filters. People learning Cilium copy commands from docs and
 * runbooks; pasting one here gives the same view over the stored history, and the current view is
 * shown back as the command that would ask Hubble the same question.
 */
import { FILTER_PARAMS, isFilterParam, type FilterValues } from "./flow-filter-params";

export interface HubbleQuery {
  filters: FilterValues;
  since?: string;
  until?: string;
  last?: string;
  follow: boolean;
}

export type ParseResult = ({ ok: true } & HubbleQuery) | { ok: false; error: string };

const SHORT: Record<string, string> = { n: "namespace", l: "label", t: "type", f: "follow" };
/** Flags that take a value but change nothing about which flows match (output formatting etc.). */
const IGNORED_WITH_VALUE = new Set(["output", "o", "server", "time-format", "color", "timeout"]);
const IGNORED_BOOL = new Set(["all-namespaces", "A", "print-raw-filters", "debug", "D", "json"]);

/** Shell-like split: whitespace separates, '…' is literal, "…" allows \" and \\, \ escapes outside. */
export function tokenize(text: string): { tokens: string[] } | { error: string } {
  const tokens: string[] = [];
  let cur = "";
  let inToken = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { error: "unterminated ' quote" };
      cur += text.slice(i + 1, end);
      i = end;
      inToken = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && (text[j + 1] === '"' || text[j + 1] === "\\")) j++;
        cur += text[j];
      }
      if (j >= text.length) return { error: 'unterminated " quote' };
      i = j;
      inToken = true;
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) tokens.push(cur);
      cur = "";
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push(cur);
  return { tokens };
}

export function parseHubbleCommand(text: string): ParseResult {
  const t = tokenize(text);
  if ("error" in t) return { ok: false, error: t.error };
  const tokens = [...t.tokens];
  if (tokens[0] === "hubble") tokens.shift();
  if (tokens[0] === "observe") tokens.shift();
  const out: HubbleQuery = { filters: {}, follow: false };
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (!tok.startsWith("-") || tok === "-" || tok === "--") {
      return { ok: false, error: `unexpected argument "${tok}" (use flags like --namespace default)` };
    }
    const eq = tok.indexOf("=");
    const rawName = eq >= 0 ? tok.slice(0, eq) : tok;
    const isLong = rawName.startsWith("--");
    const bare = rawName.replace(/^--?/, "");
    const name = isLong ? bare : (SHORT[bare] ?? bare);
    const takeValue = (): string | undefined => {
      if (eq >= 0) return tok.slice(eq + 1);
      const v = tokens[i + 1];
      if (v === undefined) return undefined;
      i++;
      return v;
    };
    if (name === "follow") {
      out.follow = true;
    } else if (IGNORED_BOOL.has(name)) {
      continue;
    } else if (IGNORED_WITH_VALUE.has(name)) {
      takeValue();
    } else if (name === "not") {
      return { ok: false, error: "--not (negated filters) is not supported here yet" };
    } else if (name === "since" || name === "until" || name === "last") {
      const v = takeValue();
      if (v === undefined || v === "") return { ok: false, error: `${rawName} needs a value` };
      out[name] = v;
    } else if (isFilterParam(name)) {
      const v = takeValue();
      if (v === undefined || v === "") return { ok: false, error: `${rawName} needs a value` };
      (out.filters[name] ??= []).push(v);
    } else {
      return { ok: false, error: `unknown flag ${rawName}` };
    }
  }
  return { ok: true, ...out };
}

/** Quote for a POSIX shell only when needed. */
export function shellQuote(v: string): string {
  if (/^[A-Za-z0-9_./:=+@%,-]+$/.test(v)) return v; // no * or ?: a shell would glob them
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

export function toHubbleCommand(q: HubbleQuery): string {
  const parts = ["hubble", "observe"];
  if (q.since) parts.push("--since", shellQuote(q.since));
  if (q.until) parts.push("--until", shellQuote(q.until));
  if (q.last) parts.push("--last", shellQuote(q.last));
  for (const name of FILTER_PARAMS) {
    for (const v of q.filters[name] ?? []) parts.push(`--${name}`, shellQuote(v));
  }
  if (q.follow) parts.push("--follow");
  return parts.join(" ");
}

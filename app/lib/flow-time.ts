/**
 * Flow timestamps are RFC 3339 with up to nanosecond precision (protojson writes 0, 3, 6 or 9
 * fraction digits). JavaScript Dates stop at milliseconds, so the nanoseconds are carried as text
 * beside the Date and never lost.
 */
import type { FlowItem } from "@/server/domain/flows/flow-item";

export interface ParsedTime {
  /** milliseconds since the epoch (fraction truncated to ms) */
  ms: number;
  /** the fraction of the second as exactly 9 digits */
  nanos: string;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(s: unknown): ParsedTime | undefined {
  if (typeof s !== "string") return undefined;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, date, clock, frac = "", zone] = m;
  const base = Date.parse(`${date}T${clock}${zone.toUpperCase() === "Z" ? "Z" : zone}`);
  if (Number.isNaN(base)) return undefined;
  const nanos = frac.padEnd(9, "0");
  return { ms: base + Number(nanos.slice(0, 3)), nanos };
}

/** The flow's own time, falling back to the response time. */
export function flowTimeOf(item: FlowItem): string | undefined {
  const t = item.flow?.time;
  return typeof t === "string" ? t : item.time;
}

/**
 * A string that sorts like the instant: UTC, fixed width, 9 fraction digits. Plain string compare of
 * raw RFC 3339 is wrong because "…:13Z" sorts after "…:13.5Z" ('Z' > '.').
 */
export function timeSortKey(s: string | undefined): string {
  const p = parseRfc3339(s);
  if (!p) return "";
  const iso = new Date(p.ms - (p.ms % 1000)).toISOString().slice(0, 19);
  return `${iso}.${p.nanos}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function localDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function localClock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Table cell: local `HH:MM:SS.mmm`, with the date in front when it is not today. */
export function formatTableTime(s: string | undefined, now: Date = new Date()): string {
  const p = parseRfc3339(s);
  if (!p) return s ?? "—";
  const d = new Date(p.ms);
  const clock = `${localClock(d)}.${p.nanos.slice(0, 3)}`;
  return localDate(d) === localDate(now) ? clock : `${localDate(d)} ${clock}`;
}

/** `+02:00` style offset of the local zone at that instant. */
function localOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Drawer: local date and time with all nine fraction digits and the zone offset. */
export function formatFullLocal(s: string | undefined): string {
  const p = parseRfc3339(s);
  if (!p) return s ?? "—";
  const d = new Date(p.ms);
  return `${localDate(d)} ${localClock(d)}.${p.nanos} ${localOffset(d)}`;
}

/** `<input type="datetime-local" step="1">` value (local) → RFC 3339 UTC; undefined when empty/bad. */
export function datetimeLocalToRfc3339(v: string): string | undefined {
  if (!v) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = "0", ms = "0"] = m;
  const date = new Date(+y, +mo - 1, +d, +h, +mi, +s, Number(ms.padEnd(3, "0")));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(".000Z", "Z");
}

/** RFC 3339 → `datetime-local` value (local, seconds precision); "" when not a timestamp (e.g. `2h`). */
export function rfc3339ToDatetimeLocal(v: string | undefined): string {
  const p = parseRfc3339(v);
  if (!p) return "";
  const d = new Date(p.ms);
  return `${localDate(d)}T${localClock(d)}`;
}

/** latency_ns (uint64 as string) → `12.3 ms`. */
export function formatLatency(ns: unknown): string | undefined {
  const n = typeof ns === "string" ? Number(ns) : typeof ns === "number" ? ns : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n < 1_000) return `${n} ns`;
  if (n < 1_000_000) return `${trim(n / 1_000)} µs`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000)} ms`;
  return `${trim(n / 1_000_000_000)} s`;
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1).replace(/\.0$/, "") : x.toFixed(2).replace(/\.?0+$/, "");
}

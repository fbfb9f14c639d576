/**
 * Time for the server and the browser: RFC 3339 and durations as bigint nanoseconds. Not Date:
 * flows carry nanoseconds, cursors and exports must round-trip them, and Date maps years 0–99 to
 * 1900–1999. The one duration grammar (`30s`, `1h30m`, `1.5h`, `500ms`, `7d`, `1w`) for API
 * parameters, environment variables and page URLs.
 */
import { fail, ok, q, type Parsed } from "./parsed";

export type { Parsed };

export const NS_PER_MS = 1_000_000n;
export const NS_PER_S = 1_000_000_000n;
export const NS_PER_MINUTE = 60n * NS_PER_S;
export const NS_PER_DAY = 86_400n * NS_PER_S;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;


/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * Parses an RFC 3339 time (`2026-11-23T18:00:00.123456789Z`, `…+02:00`) into nanoseconds since the
 * epoch, keeping all nine fraction digits. A leap second (`:60`) is the next minute's first second.
 */
export function parseRfc3339Ns(text: string): Parsed<bigint> {
  const m = RFC3339.exec(text);
  if (!m) return { ok: false, error: "not an RFC 3339 time" };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12) return { ok: false, error: `month ${m[2]} does not exist` };
  if (d < 1 || d > daysInMonth(y, mo)) return { ok: false, error: `day ${m[3]} does not exist in ${m[1]}-${m[2]}` };
  if (h > 23 || mi > 59 || s > 60) return { ok: false, error: `time of day ${m[4]}:${m[5]}:${m[6]} does not exist` };
  let offsetMin = 0;
  if (m[9]) {
    if (Number(m[10]) > 23 || Number(m[11]) > 59) return { ok: false, error: `UTC offset ${m[8]} does not exist` };
    offsetMin = (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  }
  const fraction = BigInt((m[7] ?? "").padEnd(9, "0"));
  const seconds = BigInt(daysFromCivil(y, mo, d)) * 86_400n + BigInt(h * 3600 + mi * 60 + s - offsetMin * 60);
  return { ok: true, value: seconds * NS_PER_S + fraction };
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits (the protobuf JSON convention). */
export function formatRfc3339Ns(ns: bigint): string {
  let days = ns / NS_PER_DAY;
  let rest = ns % NS_PER_DAY;
  if (rest < 0n) {
    rest += NS_PER_DAY;
    days -= 1n;
  }
  const [y, mo, d] = civilFromDays(Number(days));
  const secOfDay = Number(rest / NS_PER_S);
  const nanos = Number(rest % NS_PER_S);
  const p2 = (n: number) => String(n).padStart(2, "0");
  let frac = "";
  if (nanos !== 0) {
    const nine = String(nanos).padStart(9, "0");
    frac = "." + (nanos % 1_000_000 === 0 ? nine.slice(0, 3) : nanos % 1000 === 0 ? nine.slice(0, 6) : nine);
  }
  const hms = `${p2(Math.floor(secOfDay / 3600))}:${p2(Math.floor((secOfDay % 3600) / 60))}:${p2(secOfDay % 60)}`;
  return `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(d)}T${hms}${frac}Z`;
}

const UNIT_NS: Record<string, bigint> = {
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: NS_PER_MINUTE,
  h: 3600n * NS_PER_S,
  d: NS_PER_DAY,
  w: 7n * NS_PER_DAY,
};
const DURATION = /^(?:\d{1,9}(?:\.\d{1,9})?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+)(?:\.(\d+))?(ms|s|m|h|d|w)/g;
/** 100 years: anything longer is a typo (`since=15000000m`). */
export const MAX_DURATION_NS = 36_500n * NS_PER_DAY;

/** Parses `30s`, `15m`, `2h`, `7d`, `1w`, `1h30m`, `1.5h`, `500ms` into nanoseconds. */
export function parseDurationNs(text: string): Parsed<bigint> {
  if (!DURATION.test(text)) return { ok: false, error: "not a duration" };
  let total = 0n;
  for (const [, whole, frac = "", unit] of text.matchAll(DURATION_PART)) {
    const scale = UNIT_NS[unit];
    total += BigInt(whole) * scale + (BigInt(frac.padEnd(9, "0")) * scale) / NS_PER_S;
  }
  if (total > MAX_DURATION_NS) return { ok: false, error: "is longer than 100 years (36500d)" };
  return { ok: true, value: total };
}

/** A duration in milliseconds (the browser's and timers' unit), or undefined when `text` is not one. */
export function parseDurationMs(text: string): number | undefined {
  const d = parseDurationNs(text);
  return d.ok ? Number(d.value) / 1e6 : undefined;
}

export function dateToNs(date: Date): bigint {
  return BigInt(date.getTime()) * NS_PER_MS;
}

/**
 * The times a request can name. Flows are int64 nanoseconds (up to 2262) and none is older than
 * 1970; stopping at 2200 leaves room for the windows and paddings the routes add, so no sum
 * overflows PostgreSQL's bigint (or the map's int minutes). A since/until outside is an open end
 * and is clamped (Go's zero time 0001-01-01 and 9999-12-31 are common ways to say "no bound"); a
 * moment (`at`) outside is refused.
 */
export const MIN_TIME_NS = 0n;
export const MAX_TIME_NS = BigInt(daysFromCivil(2200, 1, 1)) * NS_PER_DAY;

export function clampTimeNs(ns: bigint): bigint {
  return ns < MIN_TIME_NS ? MIN_TIME_NS : ns > MAX_TIME_NS ? MAX_TIME_NS : ns;
}

/** A moment: RFC 3339, or a duration back from `now`; within MIN_TIME_NS…MAX_TIME_NS. */
export function parseMomentNs(text: string, now: Date): Parsed<bigint> {
  const b = parseTimeBound(text);
  if (!b.ok) return b;
  const ns = b.value.kind === "time" ? b.value.ns : dateToNs(now) - b.value.ns;
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) {
    return fail(`${q(text)} is outside ${formatRfc3339Ns(MIN_TIME_NS)} … ${formatRfc3339Ns(MAX_TIME_NS)}, the times flows can have`);
  }
  return ok(ns);
}

export type TimeBound = { kind: "time"; ns: bigint } | { kind: "ago"; ns: bigint };

export function parseTimeBound(s: string): Parsed<TimeBound> {
  // An unencoded "+02:00" in a typed URL arrives as " 02:00".
  const t = parseRfc3339Ns(s.replace(/ (\d{2}:\d{2})$/, "+$1"));
  if (t.ok) return ok({ kind: "time", ns: t.value });
  const d = parseDurationNs(s);
  if (d.ok) return ok({ kind: "ago", ns: d.value });
  if (/^\d{4}-\d{2}-\d{2}[Tt ]/.test(s) && t.error !== "not an RFC 3339 time") {
    return fail(`${q(s)} is not a valid RFC 3339 time: ${t.error}`);
  }
  if (d.error !== "not a duration") return fail(`${q(s)} ${d.error}`);
  return fail(
    `${q(s)} is neither an RFC 3339 time nor a duration like 15m (e.g. 2026-11-23T18:00:00Z, 30s, 2h, 7d, 1h30m)`,
  );
}

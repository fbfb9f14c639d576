/** Counters in the status header and toolbar. en-US grouping so tests and screenshots are stable. */
const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "—";
  return INT.format(n);
}

/** 1234567 → 1.2M; exact below 10,000 so small numbers never look rounded. */
export function formatCompact(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "—";
  return Math.abs(n) < 10_000 ? INT.format(n) : COMPACT.format(n);
}

export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return "—";
  if (perSecond === 0) return "0";
  if (perSecond < 100) return perSecond.toFixed(1).replace(/\.0$/, "");
  return formatCompact(Math.round(perSecond));
}

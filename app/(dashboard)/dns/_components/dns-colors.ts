/** One colour per DNS status, shared by the timeline, the rates chart and the legends. */
import type { DnsStatus } from "@/server/domain/dns/dns-types";

export const STATUS_ORDER: readonly DnsStatus[] = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "UNANSWERED", "PENDING"];

// fixed hues that read on both the dark and the light theme
export const STATUS_COLOR: Record<DnsStatus, string> = {
  NOERROR: "#3fb950",
  NXDOMAIN: "#f0883e",
  SERVFAIL: "#f85149",
  REFUSED: "#bc8cff",
  OTHER: "#58a6ff",
  UNANSWERED: "#d29922",
  PENDING: "#8893a0",
};

export const STATUS_LABEL: Record<DnsStatus, string> = {
  NOERROR: "NOERROR",
  NXDOMAIN: "NXDOMAIN",
  SERVFAIL: "SERVFAIL",
  REFUSED: "REFUSED",
  OTHER: "other rcode",
  UNANSWERED: "no answer",
  PENDING: "pending",
};

/** The status a cell of many queries is drawn in: its most common failure, else NOERROR. */
export function dominantStatus(counts: Partial<Record<DnsStatus, number>>): DnsStatus {
  let best: DnsStatus = "NOERROR";
  let n = 0;
  for (const s of STATUS_ORDER) {
    if (s === "NOERROR" || s === "PENDING") continue;
    if ((counts[s] ?? 0) > n) {
      best = s;
      n = counts[s]!;
    }
  }
  return n > 0 ? best : (counts.NOERROR ?? 0) > 0 ? "NOERROR" : "PENDING";
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

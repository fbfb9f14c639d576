"use client";

import styles from "../../drops/drops.module.css";
import type { RevisionMoment } from "./policies-types";

const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z");

/** What changed at a moment: the agents' own words when they reported it, else what the flows show. */
function changeText(m: RevisionMoment): string {
  if (!m.nodes.length && !m.changes.length && m.restart) return `agents started; policies in force: ${m.appeared.join(", ") || "none seen yet"}`;
  if (m.changes.length) return m.changes.map((c) => (c.action === "deleted" ? `− ${c.policy} deleted` : `+ ${c.policy} added or updated`)).join("  ");
  const label = [m.gone.length ? `− ${m.gone.join(", ")}` : "", m.appeared.length ? `+ ${m.appeared.join(", ")}` : ""].filter(Boolean).join("  ");
  return label || `${m.carried.length} policies carried over`;
}

function revisionText(m: RevisionMoment): string {
  if (!m.revision && !m.previous) return "agent events";
  if (m.nodes.length > 1 && m.nodes.some((n) => n.revision !== m.revision)) {
    return m.nodes.map((n) => `${n.node} ${n.previous} → ${n.revision}`).join(", ");
  }
  return m.previous ? `revision ${m.previous} → ${m.revision}` : `revision ${m.revision}`;
}

/**
 * The moments a policy changed, newest first: every change of a node's policy revision in flows —
 * repeats after an agent restart included — and the agents' policy events where served.
 */
export function MomentsPicker({ moments, at, onPick }: { moments: RevisionMoment[]; at?: string; onPick: (at: string) => void }) {
  if (!moments.length) {
    return (
      <p className="muted small" data-testid="no-moments">
        No policy revision changed in this range. Widen the time range, or pick any moment below.
      </p>
    );
  }
  return (
    <div className={styles.row} data-testid="moments">
      {[...moments].reverse().map((m) => {
        const t = iso(m.atNs);
        return (
          <button
            type="button"
            key={m.atNs}
            className={`button ${styles.moment} ${at === t ? styles.momentActive : ""}`}
            onClick={() => onPick(t)}
            data-testid="moment"
            data-at={t}
            data-source={m.source}
            title={m.nodes.map((n) => `${n.node}: revision ${n.previous} → ${n.revision}${n.restart ? " (agent restarted)" : ""}`).join("\n") || "reported by the agents"}
          >
            <span className="mono small">
              {t} · {revisionText(m)}
              {m.restart && m.nodes.length ? " · agent restarted" : ""}
            </span>
            <span className="small">{changeText(m)}</span>
          </button>
        );
      })}
    </div>
  );
}

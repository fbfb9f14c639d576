"use client";

import styles from "../../drops/drops.module.css";
import type { RevisionMoment } from "./policies-types";

const iso = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z");

/** The moments a new policy revision first appeared, newest first: the ones worth comparing. */
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
        const label = [m.gone.length ? `− ${m.gone.join(", ")}` : "", m.appeared.length ? `+ ${m.appeared.join(", ")}` : ""].filter(Boolean).join("  ");
        return (
          <button
            type="button"
            key={m.atNs}
            className={`button ${styles.moment} ${at === t ? styles.momentActive : ""}`}
            onClick={() => onPick(t)}
            data-testid="moment"
            data-at={t}
          >
            <span className="mono small">
              {t} · revision {m.previous} → {m.revision}
            </span>
            <span className="small">{label || `${m.carried.length} policies carried over`}</span>
          </button>
        );
      })}
    </div>
  );
}

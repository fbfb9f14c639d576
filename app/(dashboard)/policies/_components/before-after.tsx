"use client";

import { useQuery } from "@tanstack/react-query";
import { getJson, retryUnlessBadRequest } from "@/app/lib/api-client";
import type { EdgeChange, EdgeDiff } from "@/server/domain/policies/policy-diff";
import styles from "../../drops/drops.module.css";
import type { DiffResponse } from "./policies-types";

const TITLES: Record<EdgeChange, string> = {
  "became-dropped": "Became dropped",
  "became-allowed": "Became allowed",
  appeared: "Appeared",
  disappeared: "Disappeared",
  unchanged: "Unchanged",
};

function counts(e: EdgeDiff, side: "before" | "after"): string {
  const w = e[side];
  const parts = [];
  if (w.forwarded) parts.push(`${w.forwarded} allowed${w.allowedBy.length ? ` by ${w.allowedBy.join(", ")}` : ""}`);
  if (w.dropped) parts.push(`${w.dropped} denied${w.deniedBy.length ? ` by ${w.deniedBy.join(", ")}` : ""}`);
  // drops no policy causes (conntrack, unknown reasons…) are shown so counts add up, apart from the policy ones
  if (w.otherDrops) parts.push(`${w.otherDrops} dropped for other reasons`);
  if (w.reasons.length) parts.push(`reasons: ${w.reasons.join(", ")}`);
  return parts.join("; ") || "—";
}

/** Connections before vs after the picked moment: what the policy change did. */
export function BeforeAfter({ query }: { query: string }) {
  const q = useQuery({
    queryKey: ["policy-diff", query],
    queryFn: ({ signal }) => getJson<DiffResponse>(`/api/policies/diff?${query}`, signal),
    retry: retryUnlessBadRequest,
  });
  if (q.isPending) return <p className="muted">Comparing…</p>;
  if (q.isError) return <p className="error-text">{(q.error as Error).message}</p>;
  const d = q.data;
  const groups = (Object.keys(TITLES) as EdgeChange[]).map((c) => [c, d.edges.filter((e) => e.change === c)] as const);
  return (
    <div data-testid="before-after">
      <p className="small muted">
        Connections a policy decided in either window. Before: {d.before.since} → {d.before.until} · After: {d.after.since} → {d.after.until}
      </p>
      <p className={styles.row} data-testid="diff-summary">
        {groups.map(([c, list]) => (
          <span key={c} className={`badge ${c === "became-dropped" ? "tone-bad" : c === "became-allowed" ? "tone-ok" : "tone-muted"}`}>
            {TITLES[c]}: {list.length}
          </span>
        ))}
      </p>
      {groups
        .filter(([c, list]) => list.length && c !== "unchanged")
        .map(([c, list]) => (
          <section key={c} data-testid={`diff-${c}`}>
            <h3 className={`${styles.sub} ${c === "became-dropped" ? styles.changeDropped : c === "became-allowed" ? styles.changeAllowed : ""}`}>{TITLES[c]}</h3>
            <table className={styles.table}>
              <thead>
                <tr>
                  <th>From</th>
                  <th>To</th>
                  <th>Service</th>
                  <th>Before</th>
                  <th>After</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.key} data-testid="diff-edge">
                    <td>{e.srcLabel}</td>
                    <td>{e.dstLabel}</td>
                    <td className="mono">{e.service}</td>
                    <td className={`small ${styles.wrap}`}>{counts(e, "before")}</td>
                    <td className={`small ${styles.wrap}`}>{counts(e, "after")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
      <details>
        <summary className="small muted">Unchanged connections ({groups[4][1].length})</summary>
        <ul className="small">
          {groups[4][1].map((e) => (
            <li key={e.key}>
              {e.srcLabel} → {e.dstLabel} {e.service}: {counts(e, "after")}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { getJson, retryUnlessBadRequest } from "@/app/lib/api-client";
import type { EdgeChange, EdgeDiff, WindowState } from "@/server/domain/policies/policy-diff";
import styles from "../../drops/drops.module.css";
import type { DiffResponse } from "./policies-types";

const TITLES: Record<EdgeChange, string> = {
  "became-dropped": "Became dropped",
  "became-allowed": "Became allowed",
  appeared: "Appeared",
  disappeared: "Disappeared",
  unchanged: "Unchanged",
};

const STATE_TEXT: Record<WindowState["state"], string> = {
  delivered: "delivered",
  denied: "denied",
  mixed: "partly delivered, partly denied",
  unconfirmed: "left the client, arrival not seen",
  absent: "not seen",
};

/** what one end (the client's egress, the server's ingress) decided in a window */
function endText(name: string, t: WindowState["egress"]): string | null {
  const parts = [];
  if (t.allowed) parts.push(`${t.allowed} allowed${t.allowedBy.length ? ` by ${t.allowedBy.join(", ")}` : ""}`);
  if (t.denied) parts.push(`${t.denied} denied${t.deniedBy.length ? ` by ${t.deniedBy.join(", ")}` : ""}`);
  if (t.audit) parts.push(`${t.audit} audited`);
  return parts.length ? `${name}: ${parts.join(", ")}` : null;
}

function WindowCell({ w, label }: { w: WindowState; label: string }) {
  const lines = [endText("client's egress", w.egress), endText("server's ingress", w.ingress)].filter((x): x is string => x !== null);
  if (w.replies) lines.push(`${w.replies} replies`);
  // drops no policy causes (conntrack, unknown reasons…) are shown apart from the policy ones
  if (w.otherDrops) lines.push(`${w.otherDrops} dropped for other reasons (${w.reasons.filter((r) => !/^POLICY_|^AUTH_/.test(r)).join(", ")})`);
  return (
    <td className={`small ${styles.wrap}`} data-testid={`diff-${label}`} data-state={w.state}>
      <span className={`badge ${w.state === "delivered" ? "tone-ok" : w.state === "denied" ? "tone-bad" : w.state === "mixed" ? "tone-warn" : "tone-muted"}`}>{STATE_TEXT[w.state]}</span>
      {lines.map((l) => (
        <div key={l}>{l}</div>
      ))}
      {w.state !== "absent" && (
        <Link href={`/flows?${w.flows}`} className="small" data-testid={`diff-${label}-flows`}>
          flows {label}
        </Link>
      )}
    </td>
  );
}

function summaryText(e: EdgeDiff): string {
  return `${STATE_TEXT[e.after.state]}${e.after.delivered ? `, ${e.after.delivered} delivered` : ""}${e.after.denied ? `, ${e.after.denied} denied` : ""}`;
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
        Connections a policy decided in either window, by what was delivered (a reply, or the server&apos;s ingress letting it in) and what a policy
        denied (each denied packet once). Before: {d.before.since} → {d.before.until} · After: {d.after.since} → {d.after.until}
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
                    <WindowCell w={e.before} label="before" />
                    <WindowCell w={e.after} label="after" />
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
              {e.srcLabel} → {e.dstLabel} {e.service}: {summaryText(e)}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

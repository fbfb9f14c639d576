"use client";

import Link from "next/link";
import styles from "../../drops/drops.module.css";
import type { PolicySeries } from "./policies-types";
import { PolicySpark } from "./policy-spark";

/** Every policy named by flows in the range, with what it allowed and denied over time. */
export function PoliciesTable({ policies, dropsQuery }: { policies: PolicySeries[]; dropsQuery: string }) {
  return (
    <div className={styles.tableWrap}>
      <table className={styles.table} data-testid="policies-table">
        <thead>
          <tr>
            <th>Policy</th>
            <th>Kind</th>
            <th>Revisions</th>
            <th title="Flows the policy allowed">Allowed flows</th>
            <th title="Packets the policy denied (a policy verdict and its drop event count once)">Denied packets</th>
            <th>Over time</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {policies.map((p) => {
            const name = p.namespace ? `${p.namespace}/${p.name}` : p.name;
            const drops = new URLSearchParams(dropsQuery);
            if (p.namespace) drops.append("namespace", p.namespace);
            return (
              <tr key={p.key} data-testid="policy-row">
                <td className="mono" data-testid="policy-name">
                  {name}
                </td>
                <td className="small">{p.kind ?? "—"}</td>
                <td className="mono small">{p.revisions.map((r) => r.revision).join(", ")}</td>
                <td className="mono tone-text-ok">{p.allowed}</td>
                <td className="mono tone-text-bad">{p.denied}</td>
                <td>
                  <PolicySpark allowed={p.allowedSeries} denied={p.deniedSeries} />
                </td>
                <td>{p.denied > 0 ? <Link href={`/drops?${drops.toString()}`}>drops</Link> : null}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

"use client";

import Link from "next/link";
import { useMemo } from "react";
import { allowRuleFor } from "@/server/domain/policies/policy-allow";
import { policyName } from "@/server/domain/drops/drop-group";
import styles from "../drops.module.css";
import type { DropGroupView } from "./drops-types";
import { YamlBlock } from "./yaml-block";

/** One group: the audit entry (WHO…WHY), its flows on /flows, and the rule that would allow it. */
export function GroupDetail({ group, onClose }: { group: DropGroupView; onClose: () => void }) {
  // pure and cheap: generated in the browser from the group, the same code the tests check
  const rule = useMemo(() => allowRuleFor(group), [group]);
  const rows: [string, string][] = [
    ["WHO", group.why.who],
    ["WHAT", group.why.what],
    ["WHEN", group.why.when],
    ["WHERE", group.why.where],
    ["WHY", group.why.why],
  ];
  return (
    <section className={styles.detail} data-testid="drop-detail" aria-label="Drop group details">
      <header className={styles.detailHead}>
        <h2>
          {group.reasonName} · {group.count} {group.count === 1 ? "packet" : "packets"}
        </h2>
        <Link className="button small" href={`/flows?${group.flows}`} data-testid="group-flows-link">
          Open these flows
        </Link>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </header>
      <dl className={styles.why} data-testid="drop-why">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd data-testid={`why-${k.toLowerCase()}`}>{v}</dd>
          </div>
        ))}
      </dl>
      {group.deniedBy.length === 0 && group.selectedBy !== undefined && (
        <p className="small" data-testid="detail-selected-by">
          No flow of this group names a policy.{" "}
          {group.selectedBy.length
            ? `Policies other flows of this range show deciding this endpoint's ${group.direction === "EGRESS" ? "egress" : "ingress"}: ${group.selectedBy.join(", ")}.`
            : "No other flow of this range names one either."}
        </p>
      )}
      {group.deniedBy.length > 0 && (
        <p className="small">
          Denied by:{" "}
          {group.deniedBy.map((p) => (
            <span key={policyName(p)} className="badge tone-bad" data-testid="detail-policy">
              {p.kind ? `${p.kind} ` : ""}
              {policyName(p)}
              {p.revision ? ` @${p.revision}` : ""}
            </span>
          ))}
        </p>
      )}
      <h3 className={styles.sub}>The rule that would allow it</h3>
      {rule.ok ? (
        <div data-testid="allow-rule">
          <p className="muted small">{rule.suggestion.plan.description}</p>
          {rule.suggestion.warnings.length > 0 && (
            <ul className={styles.warnings} data-testid="rule-warnings">
              {rule.suggestion.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          <YamlBlock title="CiliumNetworkPolicy" yaml={rule.suggestion.ciliumYaml} testId="rule-cilium" />
          {rule.suggestion.kubernetesYaml ? (
            <YamlBlock title="NetworkPolicy" yaml={rule.suggestion.kubernetesYaml} testId="rule-kubernetes" />
          ) : (
            <p className="muted small" data-testid="rule-kubernetes-none">
              No Kubernetes NetworkPolicy can express this exactly (see the notes above).
            </p>
          )}
        </div>
      ) : (
        <p className="muted" data-testid="allow-rule-none">
          {rule.reason}
        </p>
      )}
    </section>
  );
}

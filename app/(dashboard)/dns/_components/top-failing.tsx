import type { FailingName } from "@/server/domain/dns/dns-summary";
import type { DnsStatus } from "@/server/domain/dns/dns-types";
import styles from "../dns.module.css";
import { STATUS_COLOR, STATUS_LABEL } from "./dns-colors";

/** Names whose queries failed most; search-path expansions say which name they were a try for. */
export function TopFailing({ names, onPick }: { names: FailingName[]; onPick: (name: string) => void }) {
  if (names.length === 0) return <p className="muted">No failed queries in this range.</p>;
  return (
    <ol className={styles.failing} data-testid="dns-top-failing">
      {names.map((n) => (
        <li key={n.name}>
          <button type="button" className={styles.nameButton} onClick={() => onPick(n.expansionOf ?? n.name.replace(/\.$/, ""))} title="Show only this name">
            <span className="mono break">{n.name}</span>
          </button>
          <span className={styles.failCount}>{n.count}</span>
          <span className={styles.statusChips}>
            {(Object.entries(n.byStatus) as [DnsStatus, number][]).map(([s, c]) => (
              <span key={s} className={styles.chip} style={{ borderColor: STATUS_COLOR[s], color: STATUS_COLOR[s] }}>
                {STATUS_LABEL[s]} {c}
              </span>
            ))}
          </span>
          <span className="muted small">
            {n.expansionOf ? `search-path try for ${n.expansionOf} · ` : ""}
            {n.workloads.join(", ")}
          </span>
        </li>
      ))}
    </ol>
  );
}

import type { NdotsFinding } from "@/server/domain/dns/dns-findings";
import styles from "../dns.module.css";
import { formatMs } from "./dns-colors";

/**
 * Per client workload: how many queries the ndots:5 search path wasted, on which names, and the
 * fix (dnsConfig ndots, trailing dots, full service names) with the YAML to paste.
 */
export function NdotsFindings({ findings, onShow }: { findings: NdotsFinding[]; onShow: (f: NdotsFinding) => void }) {
  if (findings.length === 0) {
    return <p className="muted">No search-path waste: every name resolved on its first try.</p>;
  }
  return (
    <div className={styles.findings}>
      {findings.slice(0, 8).map((f) => (
        <article key={f.workload} className={styles.finding} data-testid="dns-finding" data-workload={f.workload}>
          <header className={styles.findingHead}>
            <h3 className="mono">{f.workload}</h3>
            <button type="button" className="button" onClick={() => onShow(f)} data-testid="dns-finding-show">
              Show a burst
            </button>
          </header>
          <p data-testid="dns-finding-summary">
            <strong>{f.wasted}</strong> of {f.queries} queries were NXDOMAIN tries of search domains (ndots:5) in{" "}
            {f.wastefulLookups} lookups, adding {formatMs(f.addedMsTotal / Math.max(1, f.wastefulLookups))} per lookup on average
            {f.searchNamespaces.length > 1 ? ` (forwarded for namespaces ${f.searchNamespaces.join(", ")})` : ""}.
          </p>
          <table className={styles.table}>
            <thead>
              <tr>
                <th>name asked</th>
                <th className={styles.num}>lookups</th>
                <th className={styles.num}>wasted</th>
                <th className={styles.num}>added</th>
                <th>write instead</th>
              </tr>
            </thead>
            <tbody>
              {f.names.slice(0, 6).map((n) => (
                <tr key={n.name}>
                  <td className="mono break">
                    {n.name} <span className="muted small">{n.kind}</span>
                  </td>
                  <td className={styles.num}>{n.lookups}</td>
                  <td className={styles.num}>{n.wasted}</td>
                  <td className={styles.num}>{formatMs(n.addedMsAvg)}</td>
                  <td className="mono break">{n.write}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className={styles.fix} data-testid="dns-finding-fix">
            <strong>Fix:</strong> {f.fix.text}
          </p>
          {f.fix.yaml && <pre className={styles.yaml}>{f.fix.yaml}</pre>}
        </article>
      ))}
    </div>
  );
}

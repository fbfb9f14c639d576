import type { ServerLatency } from "@/server/domain/dns/dns-summary";
import styles from "../dns.module.css";
import { formatMs } from "./dns-colors";

/** Latency percentiles per DNS server (pod), so one slow replica or a slow upstream stands out. */
export function ServerLatencyTable({ servers }: { servers: ServerLatency[] }) {
  const max = Math.max(1, ...servers.map((s) => s.p99 ?? 0));
  return (
    <table className={styles.table} data-testid="dns-servers">
      <thead>
        <tr>
          <th>server</th>
          <th className={styles.num}>queries</th>
          <th className={styles.num}>p50</th>
          <th className={styles.num}>p95</th>
          <th className={styles.num}>p99</th>
          <th aria-label="p99 bar" />
        </tr>
      </thead>
      <tbody>
        {servers.slice(0, 12).map((s) => (
          <tr key={s.server} data-testid="dns-server-row">
            <td className="mono break" title={`${s.server} ${s.ip}`}>
              {s.server.includes("/") ? s.server.slice(s.server.indexOf("/") + 1) : s.server}
            </td>
            <td className={styles.num}>
              {s.queries}
              {s.failures ? <span className="tone-text-bad"> · {s.failures} failed</span> : null}
            </td>
            <td className={styles.num}>{formatMs(s.p50)}</td>
            <td className={styles.num}>{formatMs(s.p95)}</td>
            <td className={styles.num}>{formatMs(s.p99)}</td>
            <td className={styles.barCell}>
              <span className={styles.bar} style={{ width: `${((s.p99 ?? 0) / max) * 100}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

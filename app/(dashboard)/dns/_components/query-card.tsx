import type { DnsQueryJson } from "@/server/domain/dns/dns-response";
import styles from "../dns.module.css";
import { STATUS_COLOR, STATUS_LABEL, formatClock, formatMs } from "./dns-colors";

const NO_TTL = 4294967295;

/** The full query and its answer: what hovering a mark shows. Text only, never HTML from flows. */
export function QueryCard({ query: q }: { query: DnsQueryJson }) {
  const a = q.answer;
  return (
    <div className={styles.queryCard} data-testid="dns-query-card">
      <p className={styles.queryName}>
        <span className={styles.swatch} style={{ background: STATUS_COLOR[q.status] }} />
        <span className="mono break">{q.query}</span> <span className="muted">{q.qtypes.join(" ")}</span>
      </p>
      <dl className={styles.kv}>
        <dt>status</dt>
        <dd>
          {q.rcodeName ?? STATUS_LABEL[q.status]}
          {q.status === "OTHER" && q.rcode !== null ? ` (rcode ${q.rcode})` : ""}
          {q.retried ? " · re-sent after no answer" : ""}
          {q.attempt > 0 ? ` · attempt ${q.attempt + 1}` : ""}
        </dd>
        <dt>sent</dt>
        <dd>
          {formatClock(q.tMs)} · {formatMs(q.latencyMs)}
        </dd>
        <dt>client</dt>
        <dd className="mono break">
          {q.client.workload} {q.client.pod && q.client.pod !== q.client.workload ? `(${q.client.pod})` : ""} {q.client.ip}
          {q.clientPort ? `:${q.clientPort}` : ""}
        </dd>
        <dt>server</dt>
        <dd className="mono break">
          {q.server.pod ? `${q.server.namespace}/${q.server.pod}` : q.server.workload} {q.server.ip}
        </dd>
        {a && a.ips.length > 0 && (
          <>
            <dt>answer</dt>
            <dd className="mono break">{a.ips.join(", ")}</dd>
          </>
        )}
        {a && a.cnames.length > 0 && (
          <>
            <dt>cnames</dt>
            <dd className="mono break">{a.cnames.join(" → ")}</dd>
          </>
        )}
        {a && a.ttl !== null && (
          <>
            <dt>ttl</dt>
            <dd>{a.ttl === NO_TTL ? "none (negative answer)" : `${a.ttl} s`}</dd>
          </>
        )}
        {q.lookup && (
          <>
            <dt>lookup</dt>
            <dd>
              <span className="mono">{q.lookup.name}</span>
              {q.wasted ? " · wasted search-path try" : ""} · {q.lookup.wasted} wasted in this lookup
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}

import type { FlowJson } from "@/server/domain/flows/flow-item";
import { httpHeaders, l4Of } from "@/app/lib/flow-format";
import { formatLatency } from "@/app/lib/flow-time";
import { dnsRcodeName } from "@/app/lib/hubble-enums";
import { num, obj, str, strings } from "@/server/domain/shared/json";
import { Chips, KV } from "./kv";

export function L4Section({ flow }: { flow: FlowJson }) {
  const l4 = l4Of(flow);
  const ip = obj(flow.IP);
  if (!l4.protocol && !ip) return null;
  return (
    <section className="drawer-section">
      <h3>L3/L4</h3>
      <KV
        rows={[
          ["protocol", l4.protocol],
          ["source port", l4.sourcePort],
          ["destination port", l4.destinationPort],
          ["TCP flags", l4.flags.length ? <Chips values={l4.flags} /> : undefined],
          ["details", l4.detail],
          ["IP version", str(ip?.ipVersion)],
          ["encrypted", ip?.encrypted === true ? "yes" : undefined],
          ["source (translated)", str(ip?.source_xlated)],
        ]}
      />
    </section>
  );
}

function HttpHeaders({ http }: { http: Record<string, unknown> }) {
  const headers = httpHeaders(http);
  if (headers.length === 0) return null;
  return (
    <table className="headers-table">
      <tbody>
        {headers.map((h, i) => (
          <tr key={i}>
            <th scope="row">{h.key}</th>
            <td>{h.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** DNS / HTTP / Kafka record, every field hubble sent. */
export function L7Section({ flow }: { flow: FlowJson }) {
  const l7 = obj(flow.l7);
  if (!l7) return null;
  const dns = obj(l7.dns);
  const http = obj(l7.http);
  const kafka = obj(l7.kafka);
  return (
    <section className="drawer-section" data-testid="drawer-l7">
      <h3>L7 {dns ? "DNS" : http ? "HTTP" : kafka ? "Kafka" : ""}</h3>
      <KV rows={[["type", str(l7.type)], ["latency", formatLatency(l7.latency_ns)]]} />
      {dns && (
        <KV
          rows={[
            ["query", str(dns.query) && <span className="mono break">{str(dns.query)}</span>],
            ["qtypes", strings(dns.qtypes).join(", ")],
            ["rrtypes", strings(dns.rrtypes).join(", ")],
            ["rcode", l7.type === "RESPONSE" || dns.rcode !== undefined ? `${dnsRcodeName(dns.rcode)} (${num(dns.rcode) ?? 0})` : undefined],
            ["IPs", strings(dns.ips).length ? <Chips values={strings(dns.ips)} /> : undefined],
            ["TTL", num(dns.ttl)],
            ["CNAMEs", strings(dns.cnames).length ? <Chips values={strings(dns.cnames)} /> : undefined],
            ["observed by", str(dns.observation_source)],
          ]}
        />
      )}
      {http && (
        <>
          <KV
            rows={[
              ["method", str(http.method)],
              ["URL", str(http.url) && <span className="mono break">{str(http.url)}</span>],
              ["code", num(http.code)],
              ["protocol", str(http.protocol)],
            ]}
          />
          <HttpHeaders http={http} />
        </>
      )}
      {kafka && (
        <KV
          rows={[
            ["API key", str(kafka.api_key)],
            ["API version", num(kafka.api_version)],
            ["topic", str(kafka.topic)],
            ["correlation ID", num(kafka.correlation_id)],
            ["error code", num(kafka.error_code)],
          ]}
        />
      )}
    </section>
  );
}

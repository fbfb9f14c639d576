"use client";
/**
 * Details of the selected node or edge: counts, ports, L7, policies, a flows/s sparkline and its
 * flows. A namespace (collapsed or its box) or an aggregated edge gets its summary instead
 * (group-details.tsx), with expand/collapse and its busiest members.
 */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { getJson } from "@/app/lib/api-client";
import { formatCount, formatRate } from "@/app/lib/format-number";
import type { FlowPage } from "@/server/domain/flows/flow-item";
import { seriesRates } from "@/app/lib/series-rate";
import type { MapView } from "@/server/domain/graph/graph-collapse";
import type { GraphEdge, GraphNode, GraphResponse } from "@/server/domain/graph/graph-types";
import { edgeFlowsQuery, nodeFlowsQuery } from "../flow-links";
import { AggregateDetails, GroupDetails } from "./group-details";
import { Sparkline } from "./sparkline";

const HTTP = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "other"];

function nsTime(ns: string): string {
  return ns ? new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace("T", " ").slice(0, 19) + "Z" : "—";
}

function sum(edges: GraphEdge[], f: (e: GraphEdge) => number): number {
  return edges.reduce((s, e) => s + f(e), 0);
}

export function Counts({ edges }: { edges: GraphEdge[] }) {
  const v = (k: keyof GraphEdge["verdicts"]) => sum(edges, (e) => e.verdicts[k]);
  return (
    <dl className="map-kv" data-testid="map-panel-counts">
      <dt>flows</dt>
      <dd>{formatCount(sum(edges, (e) => e.flows))}</dd>
      <dt>forwarded</dt>
      <dd className="tone-ok">{formatCount(v("forwarded"))}</dd>
      <dt>dropped</dt>
      <dd className={v("dropped") ? "tone-bad" : ""}>{formatCount(v("dropped"))}</dd>
      <dt>arrived</dt>
      <dd>{formatCount(sum(edges, (e) => e.delivered))}</dd>
      {v("audit") ? (<><dt>audit</dt><dd>{formatCount(v("audit"))}</dd></>) : null}
      {v("error") ? (<><dt>error</dt><dd>{formatCount(v("error"))}</dd></>) : null}
      {v("other") ? (<><dt>other</dt><dd>{formatCount(v("other"))}</dd></>) : null}
    </dl>
  );
}

function EdgeDetails({ e }: { e: GraphEdge }) {
  const httpResponses = e.l7.httpStatus.reduce((a, b) => a + b, 0);
  const dnsResponses = e.l7.dnsRcodes.reduce((a, b) => a + b, 0);
  return (
    <>
      <h4>Ports</h4>
      <p className="mono small" data-testid="map-panel-ports">
        {e.ports.map((p) => `${p.protocol}${p.port ? `/${p.port}` : ""} (${formatCount(p.flows)})`).join(", ")}
      </p>
      {httpResponses || e.l7.httpRequests ? (
        <>
          <h4>HTTP</h4>
          <p className="small">
            {formatCount(e.l7.httpRequests)} requests ·{" "}
            {HTTP.map((c, i) => (e.l7.httpStatus[i] ? `${c}: ${formatCount(e.l7.httpStatus[i])}` : "")).filter(Boolean).join(" · ")}
          </p>
        </>
      ) : null}
      {dnsResponses || e.l7.dnsRequests ? (
        <>
          <h4>DNS</h4>
          <p className="small">
            {formatCount(e.l7.dnsRequests)} queries ·{" "}
            {RCODES.map((c, i) => (e.l7.dnsRcodes[i] ? `${c}: ${formatCount(e.l7.dnsRcodes[i])}` : "")).filter(Boolean).join(" · ")}
          </p>
        </>
      ) : null}
      {e.l7.p50Ms !== null ? (
        <p className="small">
          latency p50 ≈ {e.l7.p50Ms.toFixed(1)} ms · p95 ≈ {e.l7.p95Ms!.toFixed(1)} ms ({formatCount(e.l7.latencySamples)} responses)
        </p>
      ) : null}
      {Object.keys(e.dropReasons).length ? (
        <>
          <h4>Drop reasons</h4>
          <p className="small tone-bad">{Object.entries(e.dropReasons).map(([r, n]) => `${r} (${formatCount(n)})`).join(", ")}</p>
        </>
      ) : null}
      <h4>Policies</h4>
      <div className="small" data-testid="map-panel-policies">
        {e.allowedBy.length === 0 && e.deniedBy.length === 0 ? <span className="muted">none named in these flows</span> : null}
        {e.allowedBy.map((p) => (
          <div key={`a${p}`} className="tone-ok">allowed by {p}</div>
        ))}
        {e.deniedBy.map((p) => (
          <div key={`d${p}`} className="tone-bad">denied by {p}</div>
        ))}
      </div>
      <p className="muted small">
        seen {nsTime(e.firstSeen)} → {nsTime(e.lastSeen)}; {formatCount(e.replies)} replies counted on this edge
      </p>
    </>
  );
}

export interface PanelProps {
  graph: GraphResponse;
  view: MapView;
  selected: string;
  time: { since?: string; until?: string };
  live: boolean;
  /** the selection's flows per bucket */
  series: GraphResponse["series"];
  /** false while the series shown is the one before the selection changed (another element's) */
  seriesReady: boolean;
  onClose: () => void;
  onSelect: (id: string) => void;
  onToggle: (groupId: string) => void;
}

/** The flows/s sparkline with its unit, peak and newest value. */
/** "Open in Flows →" for the selection's /flows query, when it has one. */
export function FlowsLink({ query }: { query: URLSearchParams | null | undefined }) {
  return query ? (
    <Link className="button small" href={`/flows?${query.toString()}`} data-testid="map-panel-flows-link">
      Open in Flows →
    </Link>
  ) : null;
}

export function Rate({ series, live }: { series: GraphResponse["series"]; live: boolean }) {
  if (!series) return <p className="muted small" data-testid="map-panel-rate">loading flows/s…</p>;
  const r = seriesRates(series, live ? Date.now() : Number.POSITIVE_INFINITY);
  return (
    <>
      <Sparkline values={r.values} label={r.unit} />
      <p className="muted small" data-testid="map-panel-rate">
        {r.unit} · peak {formatRate(r.peak)}/s · {live ? "now" : "last"} {formatRate(r.last)}/s
      </p>
    </>
  );
}

export function SidePanel(props: PanelProps) {
  const { graph, view, selected } = props;
  const group = view.groups.get(selected);
  if (group) return <GroupDetails {...props} group={group} open={view.nodes.some((n) => n.id === selected && n.open)} />;
  const agg = view.edges.find((e) => e.id === selected && e.id.startsWith("agg:"));
  if (agg) return <AggregateDetails {...props} edge={agg} />;
  return <ElementPanel {...props} graph={graph} />;
}

function ElementPanel({ graph, selected, time, live, series, seriesReady, onClose }: PanelProps) {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const edge = graph.edges.find((e) => e.id === selected);
  const node: GraphNode | undefined = edge ? undefined : nodes.get(selected);
  const from = edge ? nodes.get(edge.source) : undefined;
  const to = edge ? nodes.get(edge.target) : undefined;
  const query = edge && from && to ? edgeFlowsQuery(from, to, time) : node ? nodeFlowsQuery(node, time) : null;
  const flows = useQuery({
    queryKey: ["map-flows", query?.toString()],
    queryFn: ({ signal }) => getJson<FlowPage>(`/api/flows?${query!.toString()}&limit=15`, signal),
    enabled: query !== null,
    refetchInterval: 5_000,
  });
  const related = edge ? [edge] : graph.edges.filter((e) => e.source === selected || e.target === selected);

  if (!edge && !node) {
    return (
      <aside className="map-panel" data-testid="map-panel">
        <p className="muted">The selection is not in this window any more.</p>
        <button type="button" className="button small" onClick={onClose}>Close</button>
      </aside>
    );
  }
  return (
    <aside className="map-panel" data-testid="map-panel">
      <header className="map-panel-head">
        <h3 data-testid="map-panel-title">
          {edge ? (
            <>
              {from?.label ?? edge.source} <span className="muted">→</span> {to?.label ?? edge.target}
            </>
          ) : (
            node!.label
          )}
        </h3>
        <button type="button" className="button small" onClick={onClose} aria-label="Close details" data-testid="map-panel-close">
          ×
        </button>
      </header>
      <p className="muted small">
        {edge ? `${from?.namespace ?? from?.kind ?? ""} → ${to?.namespace ?? to?.kind ?? ""}` : `${node!.kind}${node!.namespace ? ` in ${node!.namespace}` : ""}${node!.workload ? ` · ${node!.workload}` : ""}`}
        {(edge ? from?.cluster : node?.cluster) ? ` · cluster ${edge ? from?.cluster : node?.cluster}` : ""}
      </p>
      {edge ? <p className={`map-state state-${edge.state}`} data-testid="map-panel-state">{edge.state === "dropped" ? "all dropped" : edge.state === "mixed" ? "some dropped" : "forwarded"}</p> : null}
      <Counts edges={related} />
      <Rate series={seriesReady ? series : undefined} live={live} />
      {edge ? <EdgeDetails e={edge} /> : <p className="small">{related.length} edges</p>}
      <h4>Flows</h4>
      <FlowsLink query={query} />
      <ul className="map-flow-list plain-list" data-testid="map-panel-flows">
        {flows.isPending && query ? <li className="muted">loading…</li> : null}
        {flows.isError ? <li className="error-text">{(flows.error as Error).message}</li> : null}
        {flows.data?.flows.length === 0 ? <li className="muted">no stored flows match (requests only are listed)</li> : null}
        {flows.data?.flows.map((f) => (
          <li key={f.key} className="mono small" data-testid="map-panel-flow">
            <span className={f.flow.verdict === "DROPPED" ? "tone-bad" : "tone-ok"}>{String(f.flow.verdict ?? "")}</span>{" "}
            {(f.time ?? "").slice(11, 23)} {String((f.flow as Record<string, unknown>).Summary ?? "")}
          </li>
        ))}
      </ul>
    </aside>
  );
}

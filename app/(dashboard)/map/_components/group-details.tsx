"use client";
/**
 * Side panel for the namespace view's own elements: a namespace (collapsed node or expanded box)
 * and an aggregated edge. Both list their busiest members — clicking one selects it, which opens
 * the namespaces it is in — and link to /flows filtered by namespace; both draw their flows/s.
 */
import { formatCount } from "@/app/lib/format-number";
import type { GroupSummary, ViewEdge } from "@/server/domain/graph/graph-collapse";
import type { GraphEdge } from "@/server/domain/graph/graph-types";
import { aggregateFlowsQuery, groupFlowsQuery, type EdgeEnd } from "../flow-links";
import { Counts, FlowsLink, Rate, type PanelProps } from "./side-panel";

const SHOWN = 8;

/** dropping edges first, then by volume */
function busiest(edges: GraphEdge[]): GraphEdge[] {
  const rank = (e: GraphEdge) => (e.state === "forwarded" ? 1 : 0);
  return [...edges].sort((a, b) => rank(a) - rank(b) || b.flows - a.flows).slice(0, SHOWN);
}

function Head({ title, onClose }: { title: React.ReactNode; onClose: () => void }) {
  return (
    <header className="map-panel-head">
      <h3 data-testid="map-panel-title">{title}</h3>
      <button type="button" className="button small" onClick={onClose} aria-label="Close details" data-testid="map-panel-close">
        ×
      </button>
    </header>
  );
}

function EdgeList({ edges, label, onSelect }: { edges: GraphEdge[]; label: (id: string) => string; onSelect: (id: string) => void }) {
  return (
    <ul className="plain-list small" data-testid="map-panel-members">
      {busiest(edges).map((e) => (
        <li key={e.id}>
          <button type="button" className="link-button" onClick={() => onSelect(e.id)}>
            <span className={e.state === "forwarded" ? "" : "tone-bad"}>
              {label(e.source)} → {label(e.target)}
            </span>{" "}
            <span className="muted">({formatCount(e.flows)})</span>
          </button>
        </li>
      ))}
      {edges.length > SHOWN ? <li className="muted">… {formatCount(edges.length - SHOWN)} more</li> : null}
    </ul>
  );
}

export function GroupDetails({ graph, group, open, time, live, series, seriesReady, onClose, onSelect, onToggle }: PanelProps & { group: GroupSummary; open: boolean }) {
  const members = new Set(group.members);
  const label = new Map(graph.nodes.map((n) => [n.id, n.label]));
  const touching = graph.edges.filter((e) => members.has(e.source) || members.has(e.target));
  const query = groupFlowsQuery(group, time);
  return (
    <aside className="map-panel" data-testid="map-panel">
      <Head title={group.label} onClose={onClose} />
      <p className="muted small">
        {group.kind === "namespace" ? "namespace" : group.label} · {formatCount(group.members.length)} {group.kind === "namespace" ? "workloads" : "nodes"} ·{" "}
        {formatCount(group.internalEdges)} edges inside ({formatCount(group.internalDropping)} dropping) · {formatCount(group.crossEdges)} to or from others
      </p>
      <button type="button" className="button small" data-testid="map-panel-expand" onClick={() => onToggle(group.id)}>
        {open ? "Collapse" : "Expand"} {group.kind === "namespace" ? "namespace" : "group"}
      </button>
      <Counts edges={touching} />
      <Rate series={seriesReady ? series : undefined} live={live} />
      <h4>Busiest edges</h4>
      <EdgeList edges={touching} label={(id) => label.get(id) ?? id} onSelect={onSelect} />
      <FlowsLink query={query} />
    </aside>
  );
}

export function AggregateDetails({ graph, view, edge, time, live, series, seriesReady, onClose, onSelect }: PanelProps & { edge: ViewEdge }) {
  const ids = new Set(edge.members);
  const members = graph.edges.filter((e) => ids.has(e.id));
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const end = (id: string): EdgeEnd | undefined => {
    const g = view.groups.get(id);
    if (g) return { group: g };
    const n = nodes.get(id);
    return n && { node: n };
  };
  const name = (id: string) => view.groups.get(id)?.label ?? nodes.get(id)?.label ?? id;
  const from = end(edge.source);
  const to = end(edge.target);
  const query = from && to ? aggregateFlowsQuery(from, to, time) : null;
  return (
    <aside className="map-panel" data-testid="map-panel">
      <Head
        title={
          <>
            {name(edge.source)} <span className="muted">→</span> {name(edge.target)}
          </>
        }
        onClose={onClose}
      />
      <p className="muted small">
        {formatCount(edge.members.length)} edges between workloads · {edge.label}
      </p>
      <p className={`map-state state-${edge.state}`} data-testid="map-panel-state">
        {edge.state === "dropped" ? "all dropped" : edge.state === "mixed" ? `${formatCount(edge.dropping)} of ${formatCount(edge.members.length)} edges drop` : "forwarded"}
      </p>
      <Counts edges={members} />
      <Rate series={seriesReady ? series : undefined} live={live} />
      <h4>Edges</h4>
      <EdgeList edges={members} label={(id) => nodes.get(id)?.label ?? id} onSelect={onSelect} />
      <FlowsLink query={query} />
    </aside>
  );
}

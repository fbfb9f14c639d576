import type { StatusReport } from "@/server/domain/flows/flow-item";
import { relayStateTone } from "@/app/lib/hubble-enums";
import type { FlowsUrlState } from "../search-params";
import { EmptyState } from "./empty-state";

/**
 * Nothing to list: either nothing is stored yet (say what the relay is doing) or the filter
 * matched nothing (offer the ways out: a wider time range, no filters, live).
 */
export function NoFlows({
  state,
  status,
  filtered,
  onApply,
  onLive,
}: {
  state: FlowsUrlState;
  status: StatusReport | undefined;
  filtered: boolean;
  onApply: (next: FlowsUrlState) => void;
  onLive?: () => void;
}) {
  if (status && status.storage.flows === 0) {
    const { relay } = status;
    return (
      <EmptyState kind="waiting" title="Waiting for the relay…">
        <p>
          No flows stored yet. Relay <span className="mono">{relay.address}</span> is{" "}
          <strong className={`tone-text-${relayStateTone(relay.state)}`}>{relay.state}</strong>
          {relay.error ? `: ${relay.error}` : "."}
        </p>
        <p className="muted">Flows appear here as soon as Flowlens receives them.</p>
        {onLive && (
          <button type="button" className="button" onClick={onLive}>
            Follow live
          </button>
        )}
      </EmptyState>
    );
  }

  const hasFilters = Object.keys(state.filters).length > 0;
  const wider: { label: string; since?: string }[] = [];
  if (state.since || state.until || state.last) {
    if (state.since !== "24h" && state.since !== "7d") wider.push({ label: "Last 24 hours", since: "24h" });
    wider.push({ label: "Any time" });
  }
  return (
    <EmptyState kind="no-match" title={filtered ? "No flows match this filter" : "No flows"}>
      {filtered ? (
        <p className="muted">Widen the time range or remove filters.</p>
      ) : (
        <p className="muted">The API returned no flows.</p>
      )}
      <div className="empty-actions">
        {wider.map((w) => (
          <button
            key={w.label}
            type="button"
            className="button"
            onClick={() => onApply({ ...state, since: w.since, until: undefined, last: undefined })}
          >
            {w.label}
          </button>
        ))}
        {hasFilters && (
          <button type="button" className="button" onClick={() => onApply({ ...state, filters: {} })}>
            Clear filters
          </button>
        )}
        {onLive && (
          <button type="button" className="button" onClick={onLive}>
            Follow live
          </button>
        )}
      </div>
    </EmptyState>
  );
}

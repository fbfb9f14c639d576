"use client";

import { useRef, useState } from "react";
import type { StatusReport } from "@/server/domain/flows/flow-item";
import { formatCompact, formatCount, formatRate } from "@/app/lib/format-number";
import { nodeStateLabel, nodeStateTone, relayStateTone } from "@/app/lib/hubble-enums";
import { STATUS_POLL_MS, useStatus } from "./use-status";
import { StatusEventsPanel, type EventsTab } from "./status-events-panel";

/** Nodes listed one by one up to this many; above it, a summary that opens the panel. */
const MAX_NODE_CHIPS = 4;

export function StatusHeader() {
  const { data, error, isPending, isError } = useStatus();
  const [tab, setTab] = useState<EventsTab | null>(null);
  const anchor = useRef<HTMLDivElement>(null);

  const toggle = (t: EventsTab) => setTab((cur) => (cur === t ? null : t));

  return (
    <div className="status" data-testid="status-header" ref={anchor} aria-live="polite">
      {isPending ? (
        <span className="status-item muted">
          <span className="dot tone-muted" aria-hidden="true" /> loading status…
        </span>
      ) : isError && !data ? (
        <span className="status-item status-error" role="alert" title={error.message}>
          <span className="dot tone-bad" aria-hidden="true" />
          <span data-testid="relay-state" data-state="unreachable">
            API unreachable
          </span>
          <span className="status-error-text">
            {error.message} · retrying every {STATUS_POLL_MS / 1000} s
          </span>
        </span>
      ) : data ? (
        <StatusItems status={data} stale={isError} onOpen={toggle} openTab={tab} />
      ) : null}
      {tab && <StatusEventsPanel tab={tab} onTab={setTab} onClose={() => setTab(null)} anchor={anchor} />}
    </div>
  );
}

function StatusItems({
  status,
  stale,
  openTab,
  onOpen,
}: {
  status: StatusReport;
  stale: boolean;
  openTab: EventsTab | null;
  onOpen: (t: EventsTab) => void;
}) {
  const { relay, storage, ingest, nodes } = status;
  const connected = nodes.filter((n) => n.state === "NODE_CONNECTED").length;
  return (
    <>
      <span className="status-item" title={relay.error ? `${relay.address}: ${relay.error}` : relay.address}>
        <span className={`dot tone-${relayStateTone(relay.state)}`} aria-hidden="true" />
        <span className="muted">relay</span>
        <span className="status-address">{relay.address}</span>
        <span data-testid="relay-state" data-state={relay.state} className={`tone-text-${relayStateTone(relay.state)}`}>
          {relay.state}
        </span>
        {stale && (
          <span className="badge tone-warn" title="The last status poll failed; showing the previous answer">
            stale
          </span>
        )}
      </span>
      <span className="status-item" title="Flows ingested per second">
        <strong>{formatRate(ingest.flowsPerSecond)}</strong>
        <span className="muted">flows/s</span>
      </span>
      {storage.state === "unavailable" ? (
        <span className="status-item status-error" role="alert" data-testid="storage-unavailable" title={storage.error}>
          <span className="dot tone-bad" aria-hidden="true" />
          <span className="tone-text-bad">database unavailable</span>
          <span className="status-error-text">
            {storage.since ? `since ${new Date(storage.since).toLocaleTimeString()} · ` : ""}
            {storage.error} · ingest waits and resumes by itself
          </span>
        </span>
      ) : (
        <span className="status-item" title={`${formatCount(storage.flows)} flows stored (${storage.kind})`}>
          <strong>{formatCompact(storage.flows)}</strong>
          <span className="muted">stored</span>
        </span>
      )}
      <button
        type="button"
        className={`status-item status-button${ingest.lostEvents > 0 ? " tone-text-warn" : ""}`}
        aria-expanded={openTab === "lost"}
        data-testid="status-lost-events"
        title={
          relay.state === "demo"
            ? "Simulated: the built-in demo cluster reports lost events like a busy agent does, but every flow it generates is delivered"
            : "Flows the agents' ring buffers dropped before they reached Flowlens"
        }
        onClick={() => onOpen("lost")}
      >
        <strong>{formatCompact(ingest.lostEvents)}</strong> lost{relay.state === "demo" ? <span className="muted"> (simulated)</span> : null}
      </button>
      <button
        type="button"
        className={`status-item status-button${ingest.gaps > 0 ? " tone-text-warn" : ""}`}
        aria-expanded={openTab === "gaps"}
        data-testid="status-gaps"
        title="Periods when Flowlens was not receiving flows"
        onClick={() => onOpen("gaps")}
      >
        <strong>{formatCount(ingest.gaps)}</strong> {ingest.gaps === 1 ? "gap" : "gaps"}
      </button>
      {ingest.quarantined > 0 && (
        <button
          type="button"
          className="status-item status-button tone-text-warn"
          aria-expanded={openTab === "quarantine"}
          data-testid="status-quarantined"
          title="Responses received but not stored (malformed, or refused by the database); every other flow was stored"
          onClick={() => onOpen("quarantine")}
        >
          <strong>{formatCount(ingest.quarantined)}</strong> quarantined
        </button>
      )}
      {nodes.length <= MAX_NODE_CHIPS ? (
        <span className="status-nodes">
          {nodes.map((n) => (
            <button
              type="button"
              key={n.name}
              className="node-chip"
              title={`${n.name}: ${n.state}`}
              onClick={() => onOpen("nodes")}
            >
              <span className={`dot tone-${nodeStateTone(n.state)}`} aria-hidden="true" />
              <span className="node-name">{n.name}</span>
              {n.state !== "NODE_CONNECTED" && <span className="muted">{nodeStateLabel(n.state)}</span>}
            </button>
          ))}
          {nodes.length === 0 && <span className="muted">no nodes</span>}
        </span>
      ) : (
        <button
          type="button"
          className="status-item status-button"
          aria-expanded={openTab === "nodes"}
          onClick={() => onOpen("nodes")}
          title={nodes.map((n) => `${n.name}: ${n.state}`).join("\n")}
        >
          <span className={`dot tone-${connected === nodes.length ? "ok" : "warn"}`} aria-hidden="true" />
          <strong>
            {connected}/{nodes.length}
          </strong>{" "}
          nodes connected
        </button>
      )}
    </>
  );
}

"use client";

import type { ColumnDef } from "@tanstack/react-table";
import { memo } from "react";
import type { FlowItem } from "@/server/domain/flows/flow-item";
import {
  directionOf,
  dropReasonOf,
  endpointSummary,
  isReplyOf,
  l4Summary,
  l7Summary,
  policyCompact,
  verdictOf,
  type Side,
} from "@/app/lib/flow-format";
import { flowTimeOf, formatTableTime } from "@/app/lib/flow-time";
import { VerdictBadge } from "./verdict-badge";

/*
 * Cells compute their text from the flow on render. Only the visible rows (~50) are ever rendered,
 * so nothing is precomputed for the 100k loaded ones. Each cell is memoized on the flow item
 * (immutable): while scrolling, the table hands out new row objects every frame, and without memo
 * every visible cell would recompute and re-render although only the rows entering view changed.
 */

const TimeCell = memo(function TimeCell({ item }: { item: FlowItem }) {
  const t = flowTimeOf(item);
  return (
    <span className="mono" title={t}>
      {formatTableTime(t)}
    </span>
  );
});

const EndpointCell = memo(function EndpointCell({ item, side }: { item: FlowItem; side: Side }) {
  const e = endpointSummary(item.flow, side);
  return (
    <span className="ep" title={[e.tag, e.primary, e.secondary].filter(Boolean).join(" · ")}>
      {e.tag && <span className="tag">{e.tag}</span>}
      <span className="ep-primary">{e.primary}</span>
      {e.secondary && <span className="ep-secondary mono">{e.secondary}</span>}
    </span>
  );
});

const VerdictCell = memo(function VerdictCell({ item }: { item: FlowItem }) {
  const verdict = verdictOf(item.flow);
  const reason = verdict === "DROPPED" || verdict === "ERROR" ? dropReasonOf(item.flow) : undefined;
  return (
    <span className="verdict-cell">
      <VerdictBadge verdict={verdict} />
      {reason && (
        <span className="drop-reason" title={reason.known && reason.number !== undefined ? `${reason.text} (${reason.number})` : reason.text}>
          {reason.text}
        </span>
      )}
    </span>
  );
});

const DirectionCell = memo(function DirectionCell({ item }: { item: FlowItem }) {
  const dir = directionOf(item.flow);
  const reply = isReplyOf(item.flow);
  return (
    <span title={reply ? "reply" : undefined}>
      {dir ?? <span className="muted">—</span>}
      {reply && <span className="reply-mark"> ↩</span>}
    </span>
  );
});

const PolicyCell = memo(function PolicyCell({ item }: { item: FlowItem }) {
  const p = policyCompact(item.flow);
  if (!p) return <span className="muted">—</span>;
  return (
    <span className={p.denied ? "tone-text-bad" : "tone-text-ok"} title={p.title}>
      {p.text}
    </span>
  );
});

/** A cell showing one derived string; `text` runs only when the item changes. */
function textCell(text: (item: FlowItem) => string, className?: string) {
  return memo(function TextCell({ item }: { item: FlowItem }) {
    const t = text(item);
    return t ? (
      <span className={className} title={t}>
        {t}
      </span>
    ) : (
      <span className="muted">—</span>
    );
  });
}

const PortCell = textCell((i) => l4Summary(i.flow), "mono");
const L7Cell = textCell((i) => l7Summary(i.flow));
const NodeCell = textCell((i) => i.node_name ?? (typeof i.flow.node_name === "string" ? i.flow.node_name : ""));

export const FLOW_COLUMNS: ColumnDef<FlowItem>[] = [
  { id: "time", header: "Time", size: 118, cell: ({ row }) => <TimeCell item={row.original} /> },
  { id: "source", header: "Source", size: 220, cell: ({ row }) => <EndpointCell item={row.original} side="source" /> },
  { id: "destination", header: "Destination", size: 220, cell: ({ row }) => <EndpointCell item={row.original} side="destination" /> },
  { id: "port", header: "Port", size: 96, cell: ({ row }) => <PortCell item={row.original} /> },
  { id: "l7", header: "L7", size: 200, cell: ({ row }) => <L7Cell item={row.original} /> },
  { id: "verdict", header: "Verdict", size: 190, cell: ({ row }) => <VerdictCell item={row.original} /> },
  { id: "direction", header: "Dir", size: 84, cell: ({ row }) => <DirectionCell item={row.original} /> },
  { id: "node", header: "Node", size: 140, cell: ({ row }) => <NodeCell item={row.original} /> },
  { id: "policy", header: "Policy", size: 170, cell: ({ row }) => <PolicyCell item={row.original} /> },
];

/** The column that takes the leftover width. */
export const FLEX_COLUMN = "l7";

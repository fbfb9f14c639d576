"use client";

import * as d3 from "d3";
import { useEffect, useMemo, useRef, useState } from "react";
import type { DnsQueryJson } from "@/server/domain/dns/dns-response";
import type { Timeline, TimelineBurst, TimelineCell, TimelineMark } from "@/server/domain/dns/dns-timeline";
import type { DnsStatus } from "@/server/domain/dns/dns-types";
import styles from "../dns.module.css";
import { STATUS_COLOR, STATUS_LABEL, STATUS_ORDER, dominantStatus, formatClock, formatMs } from "./dns-colors";
import { queryFlowsHref } from "../search-params";
import { QueryCard } from "./query-card";

const MARGIN = { left: 220, right: 14, top: 24, bottom: 8 };
const LANE_H = 24;
const MIN_MARK_PX = 2;

type Hover =
  | { kind: "mark"; x: number; y: number; mark: TimelineMark }
  | { kind: "cell"; x: number; y: number; cell: TimelineCell }
  | { kind: "burst"; x: number; y: number; burst: TimelineBurst };

/**
 * Queries over time, one lane per client workload (or per name): each query a bar from when it was
 * sent, as long as it took, in its status colour; a search-path lookup that wasted queries is
 * boxed as one group. When the server aggregated (more queries than pixels), each lane is a heat
 * strip of cells instead. Drag across the plot to zoom (the range goes to the URL); hover for the
 * query and its answer; click a mark to keep its card open, with a link to its flows.
 *
 * SVG is drawn by React from d3 scales; d3 owns only the axis and the brush. Hover is resolved
 * from the pointer position (the brush overlay sits on top of the marks), by binary search in
 * each lane's marks sorted by time.
 */
export function DnsTimeline({
  timeline,
  queries,
  onZoom,
  onWidth,
  focusLookup,
}: {
  timeline: Timeline;
  queries: Map<string, DnsQueryJson>;
  onZoom: (sinceMs: number, untilMs: number) => void;
  onWidth: (plotWidth: number) => void;
  focusLookup?: string | null;
}) {
  const wrap = useRef<HTMLDivElement>(null);
  const axisRef = useRef<SVGGElement>(null);
  const brushRef = useRef<SVGGElement>(null);
  const [width, setWidth] = useState(1000);
  const [hover, setHover] = useState<Hover | null>(null);
  /** a clicked mark keeps its card open (with the way to its flows) until closed */
  const [pinnedId, setPinnedId] = useState<string | null>(null);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(320, Math.floor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const plotW = Math.max(100, width - MARGIN.left - MARGIN.right);
  useEffect(() => onWidth(plotW), [plotW, onWidth]);

  const lanes = timeline.lanes;
  const plotH = Math.max(1, lanes.length) * LANE_H;
  const height = MARGIN.top + plotH + MARGIN.bottom;
  const x = useMemo(() => d3.scaleTime().domain([timeline.start, timeline.end]).range([0, plotW]), [timeline.start, timeline.end, plotW]);

  // per lane, marks sorted by start time (hover lookup)
  const byLane = useMemo(() => {
    const out: TimelineMark[][] = lanes.map(() => []);
    if (timeline.mode === "marks") for (const m of timeline.marks) out[m.lane]?.push(m);
    for (const l of out) l.sort((a, b) => a.t - b.t);
    return out;
  }, [timeline, lanes]);

  useEffect(() => {
    if (!axisRef.current) return;
    // d3's default time ticks use a 12-hour clock without am/pm; the rest of the app shows 24-hour times
    const [lo, hi] = x.domain();
    const span = +hi - +lo;
    const fmt = d3.timeFormat(span < 120_000 ? "%H:%M:%S.%L" : span < 2 * 86_400_000 ? "%H:%M:%S" : "%b %d %H:%M");
    const tick = (d: Date | d3.NumberValue) => fmt(d instanceof Date ? d : new Date(+d)).replace(/:00(\.000)?$/, "");
    d3.select(axisRef.current).call(d3.axisTop(x).ticks(Math.max(2, Math.floor(plotW / 120))).tickFormat(tick).tickSizeOuter(0));
  }, [x, plotW]);

  useEffect(() => {
    if (!brushRef.current) return;
    const g = d3.select(brushRef.current);
    const brush = d3
      .brushX()
      .extent([
        [0, 0],
        [plotW, plotH],
      ])
      .on("end", (ev: d3.D3BrushEvent<unknown>) => {
        if (!ev.sourceEvent) return;
        const sel = ev.selection as [number, number] | null;
        if (sel) g.call(brush.move, null);
        if (!sel || sel[1] - sel[0] < 3) {
          // a click, not a drag: pin the mark under the pointer (or unpin)
          const [px, py] = d3.pointer(ev.sourceEvent, g.node());
          clickRef.current(px, py);
          return;
        }
        onZoom(x.invert(sel[0]).getTime(), x.invert(sel[1]).getTime());
      });
    g.call(brush);
    // hover rides on the brush overlay (it sits above the marks); its own listeners are ".brush"
    g.on("pointermove.hover", (ev: PointerEvent) => {
      const [px, py] = d3.pointer(ev, g.node());
      moveRef.current(px, py);
    }).on("pointerleave.hover", () => setHover(null));
    return () => {
      g.on(".brush", null).on(".hover", null);
    };
  }, [x, plotW, plotH, onZoom]);

  const moveRef = useRef<(px: number, py: number) => void>(() => {});
  const clickRef = useRef<(px: number, py: number) => void>(() => {});
  const cellW = timeline.mode === "buckets" ? Math.max(1, x(timeline.start + timeline.bucketMs) - x(timeline.start)) : 0;
  const maxCell = timeline.mode === "buckets" ? Math.max(1, ...timeline.cells.map((c) => c.n)) : 1;
  const opacity = (n: number) => 0.25 + 0.75 * (Math.log1p(n) / Math.log1p(maxCell));

  /** what is under the pointer: a mark (or the nearest within 3 px), a cell, or a burst's box */
  function hitAt(px: number, py: number): Hover | null {
    const lane = Math.floor(py / LANE_H);
    if (lane < 0 || lane >= lanes.length) return null;
    const pos = { x: px + MARGIN.left, y: lane * LANE_H + MARGIN.top };
    if (timeline.mode === "buckets") {
      const i = Math.floor((x.invert(px).getTime() - timeline.start) / timeline.bucketMs);
      const cell = timeline.cells.find((c) => c.lane === lane && c.i === i);
      return cell ? { kind: "cell", ...pos, cell } : null;
    }
    const t = x.invert(px).getTime();
    const tol = x.invert(px + 3).getTime() - t;
    const list = byLane[lane];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].t <= t + tol) lo = mid + 1;
      else hi = mid;
    }
    // the mark under the pointer, else the nearest within 3 px (thin marks are hard to hit); A
    // marks sit in the upper half of the lane, AAAA in the lower, so the half counts too
    const lowerHalf = py - lane * LANE_H >= 15.5;
    let best: TimelineMark | null = null;
    let bestDist = 3.5;
    for (let i = lo - 1; i >= 0 && i >= lo - 200; i--) {
      const m = list[i];
      const x0 = x(m.t);
      const x1 = Math.max(x(m.t + (m.ms ?? 0)), x0 + MIN_MARK_PX);
      const otherHalf = (queries.get(m.id)?.qtypes[0] === "AAAA") !== lowerHalf;
      const dist = (px < x0 ? x0 - px : px > x1 ? px - x1 : 0) + (otherHalf ? 3 : 0);
      if (dist < bestDist || (dist === bestDist && best && m.t > best.t)) {
        best = m;
        bestDist = dist;
      }
      if (x1 < px - 400) break;
    }
    if (best) return { kind: "mark", ...pos, mark: best };
    const burst = timeline.bursts.find((b) => b.lane === lane && x(b.t0) - 3 <= px && px <= x(b.t1) + 3);
    return burst ? { kind: "burst", ...pos, burst } : null;
  }
  moveRef.current = (px, py) => setHover(hitAt(px, py));
  clickRef.current = (px, py) => {
    const hit = hitAt(px, py);
    setPinnedId(hit?.kind === "mark" ? hit.mark.id : null);
  };
  useEffect(() => {
    if (!pinnedId) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setPinnedId(null);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [pinnedId]);
  // the pinned mark where the current range draws it (a live range moves under it)
  const pinnedMark = pinnedId && timeline.mode === "marks" ? timeline.marks.find((m) => m.id === pinnedId) : undefined;
  const pinnedQuery = pinnedMark ? queries.get(pinnedMark.id) : undefined;

  return (
    <div className={styles.timelineWrap} ref={wrap} data-testid="dns-timeline" data-mode={timeline.mode}>
      <svg width={width} height={height} role="img" aria-label={`DNS queries over time, ${timeline.total} queries`}>
        <g transform={`translate(${MARGIN.left},${MARGIN.top})`}>
          <g ref={axisRef} className={styles.axis} />
          {lanes.map((l, i) => (
            <g key={l.name} transform={`translate(0,${i * LANE_H})`}>
              <rect x={0} y={0} width={plotW} height={LANE_H} className={i % 2 ? styles.laneOdd : styles.laneEven} />
              <text x={-8} y={LANE_H / 2} dy="0.35em" textAnchor="end" className={styles.laneLabel} data-testid="dns-lane">
                <title>{`${l.name}: ${l.queries} queries, ${l.failures} failed`}</title>
                {l.name.length > 30 ? `${l.name.slice(0, 29)}…` : l.name}
              </text>
            </g>
          ))}
          {timeline.mode === "marks" &&
            timeline.bursts.map((b) => (
              <g key={b.lookupId} data-testid="dns-burst" data-name={b.name}>
                <rect
                  x={x(b.t0) - 2}
                  y={b.lane * LANE_H + 1}
                  width={Math.max(4, x(b.t1) - x(b.t0) + 4)}
                  height={LANE_H - 2}
                  className={focusLookup === b.lookupId ? `${styles.burst} ${styles.burstFocus}` : styles.burst}
                />
                {x(b.t1) - x(b.t0) > 90 && (
                  <text x={x(b.t0) + 2} y={b.lane * LANE_H + 9} className={styles.burstLabel}>
                    {`${b.name} · ${b.wasted} wasted`}
                  </text>
                )}
              </g>
            ))}
          {timeline.mode === "marks" &&
            timeline.marks.map((m) => {
              // A and AAAA of one name go out together: AAAA in the lower half so both show
              const aaaa = queries.get(m.id)?.qtypes[0] === "AAAA";
              return (
                <rect
                  key={m.id}
                  data-testid="dns-mark"
                  data-status={m.status}
                  x={x(m.t)}
                  y={m.lane * LANE_H + (aaaa ? 16 : 10)}
                  width={Math.max(MIN_MARK_PX, x(m.t + (m.ms ?? 0)) - x(m.t))}
                  height={5}
                  fill={STATUS_COLOR[m.status]}
                  opacity={m.status === "NOERROR" ? 0.75 : 0.95}
                />
              );
            })}
          {timeline.mode === "buckets" &&
            timeline.cells.map((c) => (
              <rect
                key={`${c.lane}:${c.i}`}
                data-testid="dns-cell"
                x={x(timeline.start + c.i * timeline.bucketMs)}
                y={c.lane * LANE_H + 4}
                width={Math.max(1, cellW - 0.5)}
                height={LANE_H - 8}
                fill={STATUS_COLOR[dominantStatus(c.counts)]}
                opacity={opacity(c.n)}
              />
            ))}
          <g ref={brushRef} className={styles.brush} data-testid="dns-brush" />
        </g>
      </svg>
      {pinnedMark && pinnedQuery && (
        <div
          className={`${styles.tooltip} ${styles.tooltipPinned}`}
          style={{ left: Math.max(0, Math.min(x(pinnedMark.t) + MARGIN.left + 12, width - 360)), top: pinnedMark.lane * LANE_H + MARGIN.top + LANE_H + 4 }}
          data-testid="dns-pinned"
          role="dialog"
          aria-label={`DNS query ${pinnedQuery.query}`}
        >
          <button type="button" className={`link-button ${styles.pinClose}`} onClick={() => setPinnedId(null)} aria-label="Close" data-testid="dns-pinned-close">
            ✕
          </button>
          <QueryCard query={pinnedQuery} />
          <a className={styles.pinLink} href={queryFlowsHref(pinnedQuery)} data-testid="dns-pinned-flows">
            Open its flows in Flows →
          </a>
        </div>
      )}
      {hover && !pinnedMark && (
        <div
          className={styles.tooltip}
          style={{ left: Math.max(0, Math.min(hover.x + 12, width - 360)), top: hover.y + LANE_H + 4 }}
          data-testid="dns-tooltip"
          role="tooltip"
        >
          {hover.kind === "mark" && <MarkDetails mark={hover.mark} query={queries.get(hover.mark.id)} />}
          {hover.kind === "cell" && <CellDetails cell={hover.cell} />}
          {hover.kind === "burst" && (
            <p>
              <strong>{hover.burst.name}</strong>: {hover.burst.queries} queries through the search path, {hover.burst.wasted} wasted,{" "}
              {formatMs(hover.burst.t1 - hover.burst.t0)} in all, ended {hover.burst.outcome}
            </p>
          )}
        </div>
      )}
      <Legend mode={timeline.mode} />
    </div>
  );
}

function MarkDetails({ mark, query }: { mark: TimelineMark; query: DnsQueryJson | undefined }) {
  if (query)
    return (
      <>
        <QueryCard query={query} />
        <p className="muted small">Click the mark to keep this open and reach its flows.</p>
      </>
    );
  return (
    <p>
      <span className="mono">{mark.query}</span> {STATUS_LABEL[mark.status]} {formatMs(mark.ms)} at {formatClock(mark.t)}
    </p>
  );
}

function CellDetails({ cell }: { cell: TimelineCell }) {
  return (
    <div>
      <p>
        <strong>{cell.n}</strong> queries{cell.wasted ? `, ${cell.wasted} on the search path` : ""}; slowest {formatMs(cell.maxMs)}
      </p>
      <ul className={styles.countList}>
        {STATUS_ORDER.filter((s) => (cell.counts[s] ?? 0) > 0).map((s) => (
          <li key={s}>
            <span className={styles.swatch} style={{ background: STATUS_COLOR[s] }} /> {STATUS_LABEL[s]} {cell.counts[s]}
          </li>
        ))}
      </ul>
      <p className="muted small">Drag across the timeline to zoom in to single queries.</p>
    </div>
  );
}

function Legend({ mode }: { mode: Timeline["mode"] }) {
  const statuses: DnsStatus[] = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "UNANSWERED"];
  return (
    <div className={styles.legend}>
      {statuses.map((s) => (
        <span key={s}>
          <span className={styles.swatch} style={{ background: STATUS_COLOR[s] }} /> {STATUS_LABEL[s]}
        </span>
      ))}
      {mode === "marks" ? (
        <span>
          <span className={styles.burstSwatch} /> search-path lookup
        </span>
      ) : (
        <span className="muted">aggregated: more queries than pixels; drag to zoom</span>
      )}
    </div>
  );
}

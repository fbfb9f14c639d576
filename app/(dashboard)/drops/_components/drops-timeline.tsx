"use client";

import * as d3 from "d3";
import { useEffect, useRef } from "react";
import type { DropTimeline } from "@/server/db/drops/drops-repo";
import styles from "../drops.module.css";

const HEIGHT = 120;
const MARGIN = { top: 8, right: 12, bottom: 20, left: 40 };

/** Stable colours per reason, policy reasons first (the ones a reviewer looks for). */
const COLORS: Record<string, string> = { POLICY_DENIED: "#f85149", POLICY_DENY: "#d29922", AUTH_REQUIRED: "#bc8cff" };
const OTHERS = ["#58a6ff", "#3fb950", "#8893a0", "#db61a2", "#2dd4bf", "#a5d6ff"];

export function reasonColor(name: string, index: number): string {
  return COLORS[name] ?? OTHERS[index % OTHERS.length];
}

/** Drops per reason over the selected range: stacked bars, one per time bucket (d3). */
export function DropsTimeline({ timeline }: { timeline: DropTimeline }) {
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(() => {
    const svg = d3.select(svgRef.current);
    svg.selectAll("*").remove();
    const el = svgRef.current;
    if (!el || !timeline.buckets || !timeline.series.length) return;
    const width = el.clientWidth || 800;
    const start = Number(BigInt(timeline.startNs) / 1_000_000n);
    const bucketMs = Number(BigInt(timeline.bucketNs) / 1_000_000n) || 1;
    const rows = Array.from({ length: timeline.buckets }, (_, i) => {
      const row: Record<string, number> = { t: start + i * bucketMs };
      for (const s of timeline.series) row[s.name] = s.counts[i] ?? 0;
      return row;
    });
    const keys = timeline.series.map((s) => s.name);
    const span = timeline.buckets * bucketMs;
    const stacked = d3.stack<Record<string, number>>().keys(keys)(rows);
    const x = d3
      .scaleUtc()
      .domain([new Date(start), new Date(start + timeline.buckets * bucketMs)])
      .range([MARGIN.left, width - MARGIN.right]);
    const max = d3.max(stacked, (layer) => d3.max(layer, (d) => d[1])) ?? 1;
    const y = d3.scaleLinear().domain([0, max]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
    const barW = Math.max(1, (width - MARGIN.left - MARGIN.right) / timeline.buckets - 1);
    svg
      .append("g")
      .selectAll("g")
      .data(stacked)
      .join("g")
      .attr("fill", (d, i) => reasonColor(d.key, i))
      .attr("data-reason", (d) => d.key)
      .selectAll("rect")
      .data((d) => d)
      .join("rect")
      .attr("x", (d) => x(new Date(d.data.t)))
      .attr("y", (d) => y(d[1]))
      .attr("height", (d) => Math.max(0, y(d[0]) - y(d[1])))
      .attr("width", barW)
      .append("title")
      .text((d) => `${new Date(d.data.t).toISOString()}: ${d[1] - d[0]}`);
    svg.append("g").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`).call(
        d3
          .axisBottom(x)
          .ticks(Math.max(2, Math.floor(width / 110)))
          // times are UTC everywhere in Flowlens (flows, exports): the axis too
          .tickFormat((d) => d3.utcFormat(span > 2 * 86_400_000 ? "%m-%d %H:%M" : "%H:%M:%S")(d as Date)),
      );
    svg.append("g").attr("transform", `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).ticks(4).tickFormat(d3.format("~s")));
    svg.selectAll(".domain, .tick line").attr("stroke", "var(--border-strong)");
    svg.selectAll(".tick text").attr("fill", "var(--muted)");
  }, [timeline]);

  return (
    <div className={styles.timeline} data-testid="drops-timeline">
      <svg ref={svgRef} width="100%" height={HEIGHT} role="img" aria-label="Drops per reason over time" />
      <ul className={styles.legend}>
        {timeline.series.map((s, i) => (
          <li key={s.name} data-testid="timeline-reason">
            <span className={styles.swatch} style={{ background: reasonColor(s.name, i) }} />
            {s.name} <span className="muted">{s.counts.reduce((a, b) => a + b, 0)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

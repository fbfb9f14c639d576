"use client";

import * as d3 from "d3";
import { useEffect, useRef } from "react";
import styles from "../../drops/drops.module.css";

const W = 160;
const H = 28;

/** Allowed (green, up) and denied (red, down) flows per bucket for one policy (d3). */
export function PolicySpark({ allowed, denied }: { allowed: number[]; denied: number[] }) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    const svg = d3.select(ref.current);
    svg.selectAll("*").remove();
    const n = Math.max(allowed.length, 1);
    const max = Math.max(1, d3.max(allowed) ?? 0, d3.max(denied) ?? 0);
    const x = d3.scaleLinear().domain([0, n]).range([0, W]);
    const y = d3.scaleLinear().domain([0, max]).range([0, H / 2 - 1]);
    const bw = Math.max(1, W / n - 0.5);
    svg
      .selectAll("rect.a")
      .data(allowed)
      .join("rect")
      .attr("x", (_, i) => x(i))
      .attr("y", (d) => H / 2 - y(d))
      .attr("width", bw)
      .attr("height", (d) => y(d))
      .attr("fill", "var(--ok)");
    svg
      .selectAll("rect.d")
      .data(denied)
      .join("rect")
      .attr("x", (_, i) => x(i))
      .attr("y", H / 2)
      .attr("width", bw)
      .attr("height", (d) => y(d))
      .attr("fill", "var(--bad)");
  }, [allowed, denied]);
  return <svg ref={ref} width={W} height={H} className={styles.spark} role="img" aria-label="allowed and denied over time" />;
}

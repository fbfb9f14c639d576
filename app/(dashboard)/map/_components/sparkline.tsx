"use client";
/** A d3 area sparkline of flows per second for the selected node or edge. */
import * as d3 from "d3";
import { useEffect, useRef } from "react";

export function Sparkline({ values, width = 280, height = 48, label }: { values: number[]; width?: number; height?: number; label: string }) {
  const svg = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!svg.current) return;
    const s = d3.select(svg.current);
    s.selectAll("*").remove();
    if (values.length < 2) return;
    const x = d3.scaleLinear().domain([0, values.length - 1]).range([1, width - 1]);
    const y = d3.scaleLinear().domain([0, d3.max(values) || 1]).nice().range([height - 2, 2]);
    const area = d3.area<number>().x((_, i) => x(i)).y0(height - 1).y1((d) => y(d)).curve(d3.curveMonotoneX);
    const line = d3.line<number>().x((_, i) => x(i)).y((d) => y(d)).curve(d3.curveMonotoneX);
    s.append("path").datum(values).attr("class", "spark-area").attr("d", area);
    s.append("path").datum(values).attr("class", "spark-line").attr("d", line);
  }, [values, width, height]);
  return <svg ref={svg} width={width} height={height} role="img" aria-label={label} className="sparkline" data-testid="map-sparkline" />;
}

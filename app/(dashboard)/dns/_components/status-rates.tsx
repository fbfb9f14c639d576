"use client";

import * as d3 from "d3";
import { useMemo } from "react";
import type { SeriesBucket } from "@/server/domain/dns/dns-summary";
import type { DnsStatus } from "@/server/domain/dns/dns-types";
import styles from "../dns.module.css";
import { STATUS_COLOR, STATUS_LABEL, formatClock } from "./dns-colors";

const STACK: DnsStatus[] = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "UNANSWERED"];
const W = 520;
const H = 150;
const M = { left: 34, right: 6, top: 8, bottom: 20 };

/** Status shares per time bucket (stacked, as a fraction of the bucket's queries) with counts on hover. */
export function StatusRates({ buckets, bucketMs }: { buckets: SeriesBucket[]; bucketMs: number }) {
  const { x, y, series } = useMemo(() => {
    const rows = buckets.map((b) => {
      const total = STACK.reduce((n, s) => n + b.counts[s], 0);
      return { t: b.t, total, ...Object.fromEntries(STACK.map((s) => [s, total ? b.counts[s] / total : 0])) } as { t: number; total: number } & Record<DnsStatus, number>;
    });
    const series = d3.stack<(typeof rows)[number], DnsStatus>().keys(STACK)(rows);
    const x = d3.scaleLinear().domain([buckets[0]?.t ?? 0, (buckets[buckets.length - 1]?.t ?? 1) + bucketMs]).range([M.left, W - M.right]);
    const y = d3.scaleLinear().domain([0, 1]).range([H - M.bottom, M.top]);
    return { x, y, series };
  }, [buckets, bucketMs]);
  const bw = Math.max(1, x(bucketMs + (buckets[0]?.t ?? 0)) - x(buckets[0]?.t ?? 0) - 0.5);
  return (
    <figure className={styles.chart} data-testid="dns-rates">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="Share of each response code over time">
        {[0, 0.5, 1].map((v) => (
          <g key={v}>
            <line x1={M.left} x2={W - M.right} y1={y(v)} y2={y(v)} className={styles.gridLine} />
            <text x={M.left - 4} y={y(v)} dy="0.35em" textAnchor="end" className={styles.tick}>
              {v * 100}%
            </text>
          </g>
        ))}
        {series.map((s) => (
          <g key={s.key} fill={STATUS_COLOR[s.key]}>
            {s.map((d, i) =>
              d[1] - d[0] > 0 ? (
                <rect key={i} x={x(d.data.t)} width={bw} y={y(d[1])} height={Math.max(0.5, y(d[0]) - y(d[1]))}>
                  <title>{`${formatClock(d.data.t)}: ${STATUS_LABEL[s.key]} ${Math.round((d[1] - d[0]) * 100)}% of ${d.data.total}`}</title>
                </rect>
              ) : null,
            )}
          </g>
        ))}
        {buckets.length > 0 && (
          <>
            <text x={M.left} y={H - 4} className={styles.tick}>
              {formatClock(buckets[0].t).slice(0, 8)}
            </text>
            <text x={W - M.right} y={H - 4} textAnchor="end" className={styles.tick}>
              {formatClock(buckets[buckets.length - 1].t + bucketMs).slice(0, 8)}
            </text>
          </>
        )}
      </svg>
    </figure>
  );
}

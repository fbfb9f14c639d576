/**
 * Flows per second from a per-bucket flow count series (GET /api/graph `series`, buckets of one
 * minute or more). A bucket's count divided by its length is the average rate over that bucket —
 * for long windows a per-minute (or coarser) average, which the label must say. The newest bucket
 * of a live window is still filling: dividing it by its full length would show a false drop at the
 * right edge, so it is divided by the time that has passed in it, and left out while less than
 * `minElapsedS` has (too few seconds to be a rate).
 */
export interface RateSeries {
  /** flows/s per bucket, oldest first */
  values: number[];
  /** bucket length in seconds */
  bucketS: number;
  /** highest and newest value; 0 when empty */
  peak: number;
  last: number;
  /** "flows/s, 1-minute averages" */
  unit: string;
}

export function seriesRates(series: { startNs: string; bucketNs: string; counts: number[] }, nowMs: number, minElapsedS = 5): RateSeries {
  const startS = Number(BigInt(series.startNs) / 1_000_000n) / 1000;
  const bucketS = Number(BigInt(series.bucketNs) / 1_000_000n) / 1000;
  const nowS = nowMs / 1000;
  const values: number[] = [];
  series.counts.forEach((count, i) => {
    const from = startS + i * bucketS;
    const elapsed = Math.min(bucketS, nowS - from);
    if (elapsed >= bucketS) values.push(count / bucketS);
    else if (elapsed >= minElapsedS) values.push(count / elapsed);
  });
  const minutes = bucketS / 60;
  const span = minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60}-hour` : `${Number(minutes.toFixed(2))}-minute`;
  return {
    values,
    bucketS,
    peak: values.length ? Math.max(...values) : 0,
    last: values.length ? values[values.length - 1] : 0,
    unit: `flows/s, ${span} averages`,
  };
}

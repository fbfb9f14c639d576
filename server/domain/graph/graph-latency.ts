/**
 * Percentiles from the rollups' latency histogram: bucket i counts L7 latencies in [2^i, 2^(i+1)) µs
 * (bucket 0 also holds everything under 2 µs, the last everything above). The answer is the
 * bucket's geometric midpoint, so it is within a factor √2 of the true value — good enough to tell
 * 5 ms from 500 ms, which is what the map shows.
 */
export function histogramPercentileMs(hist: readonly number[], p: number): number | null {
  const total = hist.reduce((s, x) => s + x, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) return (2 ** i * Math.SQRT2) / 1000;
  }
  return (2 ** (hist.length - 1) * Math.SQRT2) / 1000;
}

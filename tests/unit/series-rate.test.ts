/** The map's sparkline: per-bucket counts become flows/s, with the still-filling newest bucket measured by its elapsed time. */
import { describe, expect, it } from "vitest";
import { seriesRates } from "@/app/lib/series-rate";

const MIN_NS = 60_000_000_000n;
const start = Date.parse("2026-11-23T12:00:00Z");
const series = (counts: number[], perMinutes = 1) => ({ startNs: (BigInt(start) * 1_000_000n).toString(), bucketNs: (BigInt(perMinutes) * MIN_NS).toString(), counts });

describe("seriesRates", () => {
  it("divides whole buckets by their length and says so in the unit", () => {
    const r = seriesRates(series([60, 120, 0]), start + 3 * 60_000);
    expect(r.values).toEqual([1, 2, 0]);
    expect(r).toMatchObject({ bucketS: 60, peak: 2, last: 0, unit: "flows/s, 1-minute averages" });
    expect(seriesRates(series([3600], 60), start + 3_600_000).unit).toBe("flows/s, 1-hour averages");
    expect(seriesRates(series([300], 5), start + 300_000).values).toEqual([1]);
  });

  it("measures the filling bucket by the seconds passed, and leaves it out when just begun", () => {
    // 30 s into the third minute with 30 flows: 1 flow/s, not 0.5
    expect(seriesRates(series([60, 60, 30]), start + 2 * 60_000 + 30_000).values).toEqual([1, 1, 1]);
    expect(seriesRates(series([60, 60, 1]), start + 2 * 60_000 + 2_000).values).toEqual([1, 1]);
    // buckets entirely in the future (a clock behind the server's) are left out
    expect(seriesRates(series([60, 0, 0]), start + 60_000).values).toEqual([1]);
  });
});

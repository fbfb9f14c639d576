import { describe, expect, it } from "vitest";
import { dayOf, partitionName } from "@/server/db/flows/flow-partitions";
import { NS_PER_DAY } from "@/server/domain/shared/time";

describe("daily partitions", () => {
  it("names a day's partition by its UTC date", () => {
    const ns = BigInt(Date.parse("2026-11-23T23:59:59.999Z")) * 1_000_000n + 999_999n;
    expect(partitionName(dayOf(ns))).toBe("flows_p20261123");
    expect(partitionName(dayOf(ns + 1n))).toBe("flows_p20261124");
  });

  it("puts times before 1970 on the right day", () => {
    expect(dayOf(-1n)).toBe(-1);
    expect(dayOf(-NS_PER_DAY)).toBe(-1);
    expect(dayOf(-NS_PER_DAY - 1n)).toBe(-2);
    expect(partitionName(-1)).toBe("flows_p19691231");
  });
});

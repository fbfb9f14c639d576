import { expect, it } from "vitest";
import { RecentKeys } from "@/server/ingest/recent-keys";

it("drops a key seen within the window and forgets keys older than it", () => {
  const k = new RecentKeys(1_000n);
  expect(k.add("a", 100n)).toBe(true);
  expect(k.add("a", 100n)).toBe(false);
  // push time forward far enough, with enough keys to trigger an eviction pass
  for (let i = 0; i < 5000; i++) k.add(`k${i}`, 10_000n + BigInt(i));
  expect(k.size).toBeLessThan(5001);
  expect(k.add("a", 20_000n)).toBe(true); // "a" was evicted: a flow that old is no longer an overlap
});

import { toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GetFlowsResponseSchema } from "@/proto/gen/observer/observer_pb";
import { FlowWriter } from "@/server/db/flows/flow-writer";
import { NS_PER_DAY } from "@/server/domain/shared/time";
import { splitResponse, type FlowRow } from "@/server/flow-codec/split-flow";
import { buildFlow, responseOf } from "../fixtures/flow-builder";
import { openTestStore, type TestStore } from "../fixtures/test-db";
import { storedCount } from "../fixtures/test-pipeline";

let store: TestStore;
beforeAll(async () => {
  store = await openTestStore("postgres");
});
afterAll(async () => {
  await store?.cleanup();
});

function rowAt(ns: bigint): FlowRow {
  const s = splitResponse(Buffer.from(toBinary(GetFlowsResponseSchema, responseOf(buildFlow({ time: ns })))));
  if (s.kind !== "flow") throw new Error("not a flow");
  return s.row;
}

it("keeps flows in daily partitions and retention drops whole old days", async () => {
  const writer = new FlowWriter(store.db);
  const today = (BigInt(Date.now()) * 1_000_000n / NS_PER_DAY) * NS_PER_DAY;
  const rows = [0n, 1n, 2n, 9n].flatMap((daysAgo) => [1n, 2n, 3n].map((h) => rowAt(today - daysAgo * NS_PER_DAY + h * 3_600_000_000_000n)));
  await writer.write(rows);
  expect(await storedCount(store.db)).toBe(12);
  const parts = await store.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'flows' AND p.relnamespace = to_regnamespace(current_schema())::oid`,
  );
  expect(Number(parts[0].n)).toBe(4);

  // keep the last 7 days: the partition of 9 days ago goes, the rest stays
  const dropped = await writer.partitions.dropBefore(BigInt(Date.now()) * 1_000_000n - 7n * NS_PER_DAY);
  expect(dropped).toHaveLength(1);
  expect(await storedCount(store.db)).toBe(9);
  // writing into a dropped day's range again recreates its partition
  await writer.write([rowAt(today - 9n * NS_PER_DAY + 1n)]);
  expect(await storedCount(store.db)).toBe(10);
});

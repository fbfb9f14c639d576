/**
 * The HTTP layer on real components: route handlers called directly, on the runtime getRuntime()
 * starts (store + migrations + ingest from a real gRPC test relay + live hub). One store kind per
 * test file (api-postgres.test.ts, api-embedded.test.ts), because the runtime is a process singleton.
 */
import { describe } from "vitest";
import { FILTER_FLOWS, TIMELINE, TWINS } from "../fixtures/api-dataset";
import { useApiRuntime } from "../fixtures/api-harness";
import type { StoreKind } from "../fixtures/test-db";
import { responseOf } from "../fixtures/flow-builder";
import { recordedResponses } from "../fixtures/recorded-flows";
import { errorTests } from "./api-errors";
import { exportTests } from "./api-exports";
import { filterTests } from "./api-filters";
import { HOSTILE, hostileTests } from "./api-hostile";
import { liveAndStatusTests } from "./api-live-status";

export function apiSuite(kind: StoreKind): void {
  describe(`HTTP API on ${kind}`, () => {
    const env = useApiRuntime(kind, ({ publish }) => {
      publish(...recordedResponses());
      publish(...[FILTER_FLOWS, TIMELINE, HOSTILE, TWINS].flatMap((group) => Object.values(group).map(responseOf)));
    });
    filterTests();
    errorTests();
    exportTests();
    hostileTests(env);
    liveAndStatusTests(env);
  });
}

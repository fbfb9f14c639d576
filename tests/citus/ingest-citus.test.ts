import { describe, it } from "vitest";
import { ingestSuites } from "../integration/ingest-cases";
import { citusSkipReason } from "../fixtures/test-db";

const skip = citusSkipReason();
if (skip) describe.skip(`ingest on citus — skipped: ${skip}`, () => it("needs a Citus cluster", () => {}));
else ingestSuites("citus");

import { describe, it } from "vitest";
import { apiSuite } from "../integration/api-suite";
import { citusSkipReason } from "../fixtures/test-db";

const skip = citusSkipReason();
if (skip) describe.skip(`HTTP API on citus — skipped: ${skip}`, () => it("needs a Citus cluster", () => {}));
else apiSuite("citus");

-- The DNS views read only DNS flows (l7_kind 100). This partial index keeps their per-minute row
-- counts and their reads proportional to the DNS flows of a range instead of all its flows, and
-- holds l7_type so the counts are an index-only scan. Hand-written: the schema cannot express a
-- partial index, see the note on the Flow model.
CREATE INDEX "flows_dns_ts_idx" ON "flows"("ts", "l7_type") WHERE "l7_kind" = 100;

/** What /api/policies, /api/policies/diff and /api/policies/suggest answer. */
import type { EdgeChange, EdgeDiff } from "@/server/domain/policies/policy-diff";
import type { Suggestion } from "@/server/domain/policies/policy-suggest";

export type { PoliciesResult, PolicySeries, RevisionMoment } from "@/server/db/policies/policies-repo";

export interface DiffResponse {
  at: string;
  before: { since: string; until: string };
  after: { since: string; until: string };
  summary: Record<EdgeChange, number>;
  edges: EdgeDiff[];
}

export type SuggestResponse = Omit<Suggestion, "plans"> & { since: string; until: string | null };

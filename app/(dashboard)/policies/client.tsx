"use client";

import { useQuery } from "@tanstack/react-query";
import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo, useTransition } from "react";
import { ApiError, getJson, retryUnlessBadRequest } from "@/app/lib/api-client";
import styles from "../drops/drops.module.css";
import { FilterBar } from "../flows/_components/filter-bar";
import { apiParams, type FlowsUrlState } from "../flows/search-params";
import { BeforeAfter } from "./_components/before-after";
import { MomentsPicker } from "./_components/moments-picker";
import { PoliciesTable } from "./_components/policies-table";
import type { PoliciesResult } from "./_components/policies-types";
import { SuggestionPanel } from "./_components/suggestion-panel";
import { diffApiQuery, parsePoliciesSearch, policiesApiQuery, policiesHref, suggestApiQuery, type PoliciesUrlState } from "./search-params";

/** /policies: what each policy allowed and denied, what a change did, and a suggested policy set. */
export function PoliciesClient({ initialState }: { initialState: PoliciesUrlState }) {
  const params = useSearchParams();
  const router = useRouter();
  const [navigating, startTransition] = useTransition();
  const state = useMemo(() => (params ? parsePoliciesSearch(params) : initialState), [params, initialState]);
  const go = useCallback((next: PoliciesUrlState) => startTransition(() => router.replace(policiesHref(next), { scroll: false })), [router]);

  const apiQuery = policiesApiQuery(state);
  const q = useQuery({
    queryKey: ["policies", apiQuery],
    queryFn: ({ signal }) => getJson<PoliciesResult>(`/api/policies?${apiQuery}`, signal),
    retry: retryUnlessBadRequest,
    refetchInterval: 30_000,
  });
  const error = q.error instanceof ApiError ? q.error : null;
  // no moment picked yet: the latest change is what a learner wants to see ("what did my last change do")
  const latest = q.data?.moments.at(-1);
  const latestAt = latest ? new Date(Number(BigInt(latest.atNs) / 1_000_000n)).toISOString().replace(/\.\d+Z$/, "Z") : undefined;
  const shownAt = state.at ?? latestAt;
  const diffQuery = diffApiQuery({ ...state, at: shownAt });
  const namespaces = [...new Set((q.data?.policies ?? []).flatMap((p) => (p.namespace ? [p.namespace] : [])))].sort();
  const dropsQuery = apiParams({ ...state.flows, filters: {} }).toString();

  return (
    <div className={styles.page} data-testid="policies-page">
      <FilterBar state={state.flows} error={error} applying={navigating} onApply={(flows: FlowsUrlState) => go({ ...state, flows: { ...flows, live: false } })} />
      {error && <p className="banner error-text">{error.message}</p>}

      <section className={styles.section}>
        <h2>Before / after a policy change</h2>
        <p className="small muted" data-testid="moments-source">
          Pick a moment a policy changed; each connection&apos;s outcome in the {state.window} before and after it is compared. Moments are the changes of each
          node&apos;s policy revision in flows (an agent restart starts the revisions over; those changes are listed again)
          {q.data ? (q.data.agentEvents ? " and the agents' own policy events." : ". The agents' policy events are not available (Hubble Relay does not serve them).") : "."}
        </p>
        {q.data && <MomentsPicker moments={q.data.moments} at={shownAt} onPick={(at) => go({ ...state, at })} />}
        <form
          className={styles.row}
          style={{ marginTop: 8 }}
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            go({ ...state, at: String(f.get("at") || "") || undefined, window: String(f.get("window") || "2m") });
          }}
        >
          <label className="small">
            Moment <input name="at" className="input mono" style={{ width: 240 }} defaultValue={shownAt ?? ""} key={shownAt} placeholder="2026-11-23T18:00:00Z" data-testid="diff-at" />
          </label>
          <label className="small">
            Window <input name="window" className="input mono" style={{ width: 70 }} defaultValue={state.window} key={state.window} data-testid="diff-window" />
          </label>
          <button className="button small" type="submit">
            Compare
          </button>
        </form>
        {diffQuery && <BeforeAfter query={diffQuery} />}
      </section>

      <section className={styles.section}>
        <h2>Policies seen in flows</h2>
        {q.isPending ? (
          <p className="muted">Loading…</p>
        ) : q.data && q.data.policies.length ? (
          <PoliciesTable policies={q.data.policies} dropsQuery={dropsQuery} />
        ) : (
          <p className="muted" data-testid="policies-empty">
            No flow in this range names a policy (allowed_by / denied_by).
          </p>
        )}
      </section>

      <section className={styles.section}>
        <h2>Suggest a least-privilege policy set for a namespace</h2>
        <SuggestionPanel namespace={state.suggest} namespaces={namespaces} query={suggestApiQuery(state)} onNamespace={(ns) => go({ ...state, suggest: ns })} />
      </section>
    </div>
  );
}

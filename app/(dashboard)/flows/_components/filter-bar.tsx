"use client";

import { useState, type FormEvent } from "react";
import { COMMA_IS_PART_OF_VALUE, MORE_FILTERS, QUICK_FILTERS, type FilterParam } from "@/app/lib/flow-filter-params";
import type { ApiError } from "@/app/lib/api-client";
import { draftFromState, isDraftDirty, isKnownFormParameter, stateFromDraft, type FilterDraft } from "../filter-draft";
import { flowsApiQuery, type FlowsUrlState } from "../search-params";
import { DirectionFilter, Field, MultiFilter, TextFilter } from "./filter-fields";
import { TimeRange } from "./time-range";
import { VerdictPicker } from "./verdict-picker";
import { HubbleCommand } from "./hubble-command";

/**
 * Every /api/flows parameter as a form. Typing edits a local draft; Enter or Apply writes it to the
 * URL. The draft is only replaced when the URL's filter changes from elsewhere (a link, back
 * button), so a value the API rejected stays as typed, with the API's message beside it.
 */
export function FilterBar({
  state,
  error,
  applying,
  onApply,
}: {
  state: FlowsUrlState;
  error: ApiError | null;
  applying: boolean;
  onApply: (next: FlowsUrlState) => void;
}) {
  const urlQuery = flowsApiQuery(state);
  const [draft, setDraft] = useState<FilterDraft>(() => draftFromState(state));
  const [draftFor, setDraftFor] = useState(urlQuery);
  const [moreOpen, setMoreOpen] = useState(() => MORE_FILTERS.some((p) => state.filters[p]?.length) || Boolean(state.last));

  // The URL's filter changed under us (not by this form's Apply): show the new filter.
  if (draftFor !== urlQuery) {
    setDraftFor(urlQuery);
    if (flowsApiQuery(stateFromDraft(state, draft)) !== urlQuery) setDraft(draftFromState(state));
  }

  const fieldError = (p: string) => (error?.isBadRequest && error.parameter === p ? error.message : undefined);
  const errorParam = error?.isBadRequest ? error.parameter : undefined;
  const strayError = error?.isBadRequest && !(errorParam && isKnownFormParameter(errorParam)) ? error.message : undefined;
  const showMore = moreOpen || (errorParam !== undefined && ((MORE_FILTERS as readonly string[]).includes(errorParam) || errorParam === "last"));
  const dirty = isDraftDirty(state, draft);
  const moreCount = MORE_FILTERS.filter((p) => state.filters[p]?.length).length + (state.last ? 1 : 0);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(stateFromDraft(state, draft));
  };
  const clear = () => {
    const empty = draftFromState({ filters: {}, live: state.live });
    setDraft(empty);
    onApply(stateFromDraft(state, empty));
  };
  const setText = (p: FilterParam, v: string) => setDraft((d) => ({ ...d, text: { ...d.text, [p]: v } }));
  const setMulti = (p: FilterParam, v: string[]) => setDraft((d) => ({ ...d, multi: { ...d.multi, [p]: v } }));

  const input = (p: FilterParam) =>
    p === "traffic-direction" ? (
      <DirectionFilter key={p} value={draft.text[p] ?? ""} error={fieldError(p)} onChange={(v) => setText(p, v)} />
    ) : COMMA_IS_PART_OF_VALUE.has(p) ? (
      <MultiFilter key={p} name={p} values={draft.multi[p] ?? [""]} error={fieldError(p)} onChange={(v) => setMulti(p, v)} />
    ) : (
      <TextFilter key={p} name={p} value={draft.text[p] ?? ""} error={fieldError(p)} onChange={(v) => setText(p, v)} />
    );

  return (
    <section className="filter-bar" data-testid="filter-bar" aria-label="Flow filters">
      <HubbleCommand state={state} onApply={onApply} />
      <form onSubmit={submit} className="filter-form" noValidate>
        <div className="filter-row">
          <TimeRange
            value={draft.time}
            errors={{ since: fieldError("since"), until: fieldError("until") }}
            onChange={(time) => setDraft((d) => ({ ...d, time }))}
          />
          <VerdictPicker value={draft.verdicts} error={fieldError("verdict")} onChange={(verdicts) => setDraft((d) => ({ ...d, verdicts }))} />
          <div className="filter-actions">
            <button type="submit" className={`button primary${dirty ? " attention" : ""}`} data-testid="filter-apply" aria-busy={applying || undefined}>
              {applying ? "Applying…" : "Apply"}
            </button>
            <button type="button" className="button" onClick={clear} data-testid="filter-clear">
              Clear
            </button>
            <button
              type="button"
              className="button ghost"
              aria-expanded={showMore}
              aria-controls="all-filters"
              data-testid="filter-more"
              onClick={() => setMoreOpen(!showMore)}
            >
              All filters{moreCount ? ` (${moreCount})` : ""} {showMore ? "▴" : "▾"}
            </button>
          </div>
        </div>
        <div className="filter-row quick-filters">{QUICK_FILTERS.map(input)}</div>
        {showMore && (
          <div className="filter-grid" id="all-filters">
            {MORE_FILTERS.map(input)}
            <TextFilter name="verdict" value={draft.text.verdict ?? ""} onChange={(v) => setText("verdict", v)} />
            <Field label="last" error={fieldError("last")} help="Only the N newest matching flows">
              {({ inputId, errorId }) => (
                <input
                  id={inputId}
                  className="input"
                  type="text"
                  inputMode="numeric"
                  value={draft.last}
                  placeholder="1000"
                  aria-invalid={fieldError("last") ? true : undefined}
                  aria-describedby={errorId}
                  data-testid="filter-last"
                  onChange={(e) => setDraft((d) => ({ ...d, last: e.target.value }))}
                />
              )}
            </Field>
          </div>
        )}
        {strayError && (
          <p className="field-error" role="alert">
            {errorParam ? `${errorParam}: ` : ""}
            {strayError}
          </p>
        )}
        {/* Enter in any input submits; this keeps that working even when Apply is off screen. */}
        <button type="submit" hidden tabIndex={-1} aria-hidden="true" />
      </form>
    </section>
  );
}

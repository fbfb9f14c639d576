/**
 * The filter form's editable model (what the user is typing) and its conversion to and from the URL
 * state. Kept apart from the URL state so a rejected value (400) stays in its input exactly as typed
 * until the user changes it. Pure: no React.
 */
import {
  COMMA_IS_PART_OF_VALUE,
  FILTER_PARAMS,
  type FilterParam,
  type FilterValues,
} from "@/app/lib/flow-filter-params";
import { VERDICTS, verdictName } from "@/app/lib/hubble-enums";
import { flowsApiQuery, withFilters, type FlowsUrlState } from "./search-params";

export const TIME_PRESETS = ["5m", "15m", "1h", "6h", "24h", "7d"] as const;

/** "" = any time, a preset duration, or "custom" (free since/until). */
export type TimePreset = "" | (typeof TIME_PRESETS)[number] | "custom";

export interface FilterDraft {
  /** checked verdict names */
  verdicts: string[];
  /** one text per parameter whose commas mean OR (verdict here holds values without a checkbox) */
  text: Partial<Record<FilterParam, string>>;
  /** parameters whose values contain commas (labels, http-path): one entry per OR alternative */
  multi: Partial<Record<FilterParam, string[]>>;
  time: { preset: TimePreset; since: string; until: string };
  last: string;
}

function splitComma(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function timePresetOf(state: Pick<FlowsUrlState, "since" | "until">): TimePreset {
  if (!state.since && !state.until) return "";
  if (!state.until && (TIME_PRESETS as readonly string[]).includes(state.since ?? "")) {
    return state.since as TimePreset;
  }
  return "custom";
}

export function draftFromState(state: FlowsUrlState): FilterDraft {
  const known = new Set<string>(VERDICTS);
  const verdicts: string[] = [];
  const otherVerdicts: string[] = [];
  for (const v of (state.filters.verdict ?? []).flatMap(splitComma)) {
    const name = verdictName(v);
    if (known.has(name)) {
      if (!verdicts.includes(name)) verdicts.push(name);
    } else otherVerdicts.push(v);
  }
  const text: FilterDraft["text"] = {};
  const multi: FilterDraft["multi"] = {};
  for (const name of FILTER_PARAMS) {
    if (name === "verdict") continue;
    const vs = state.filters[name] ?? [];
    if (COMMA_IS_PART_OF_VALUE.has(name)) multi[name] = vs.length ? [...vs] : [""];
    else text[name] = vs.join(", ");
  }
  text.verdict = otherVerdicts.join(", ");
  const preset = timePresetOf(state);
  return {
    verdicts,
    text,
    multi,
    time: {
      preset,
      since: preset === "custom" ? (state.since ?? "") : "",
      until: preset === "custom" ? (state.until ?? "") : "",
    },
    last: state.last ?? "",
  };
}

export function filtersFromDraft(draft: FilterDraft): FilterValues {
  const filters: FilterValues = {};
  for (const name of FILTER_PARAMS) {
    if (name === "verdict") {
      // Order as chosen (the URL's order first), so an unchanged form is an unchanged query.
      const vs = [...draft.verdicts, ...splitComma(draft.text.verdict ?? "")];
      if (vs.length) filters.verdict = vs;
    } else if (COMMA_IS_PART_OF_VALUE.has(name)) {
      const vs = (draft.multi[name] ?? []).map((s) => s.trim()).filter((s) => s !== "");
      if (vs.length) filters[name] = vs;
    } else {
      const vs = splitComma(draft.text[name] ?? "");
      if (vs.length) filters[name] = vs;
    }
  }
  return filters;
}

/** The URL state the draft asks for; live follow and the open flow carry over. */
export function stateFromDraft(current: FlowsUrlState, draft: FilterDraft): FlowsUrlState {
  const next = withFilters(current, filtersFromDraft(draft));
  const { preset, since, until } = draft.time;
  next.since = preset === "" ? undefined : preset === "custom" ? since.trim() || undefined : preset;
  next.until = preset === "custom" ? until.trim() || undefined : undefined;
  next.last = draft.last.trim() || undefined;
  return next;
}

/** True when applying the draft would change the query. */
export function isDraftDirty(current: FlowsUrlState, draft: FilterDraft): boolean {
  return flowsApiQuery(stateFromDraft(current, draft)) !== flowsApiQuery(current);
}

/** Which input a 400 `parameter` belongs to; `verdict` errors sit by the verdict control. */
export function isKnownFormParameter(p: string): boolean {
  return (FILTER_PARAMS as readonly string[]).includes(p) || p === "since" || p === "until" || p === "last";
}

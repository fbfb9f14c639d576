"use client";

import { datetimeLocalToRfc3339, rfc3339ToDatetimeLocal } from "@/app/lib/flow-time";
import { TIME_PRESETS, type FilterDraft, type TimePreset } from "../filter-draft";
import { Field } from "./filter-fields";

type TimeDraft = FilterDraft["time"];

const PRESET_LABELS: Record<string, string> = {
  "": "any time",
  "5m": "last 5 min",
  "15m": "last 15 min",
  "1h": "last hour",
  "6h": "last 6 hours",
  "24h": "last 24 hours",
  "7d": "last 7 days",
  custom: "custom range…",
};

/** since presets, or a custom since/until (RFC 3339 or a duration like 2h, with a date picker). */
export function TimeRange({
  value,
  errors,
  onChange,
}: {
  value: TimeDraft;
  errors: { since?: string; until?: string };
  onChange: (v: TimeDraft) => void;
}) {
  const presets: TimePreset[] = ["", ...TIME_PRESETS, "custom"];
  return (
    <div className="time-range">
      <Field label="time" error={value.preset === "custom" ? undefined : errors.since}>
        {({ inputId, errorId }) => (
          <select
            id={inputId}
            className="input"
            value={value.preset}
            aria-describedby={errorId}
            data-testid="filter-since"
            onChange={(e) => {
              const preset = e.target.value as TimePreset;
              // Entering custom mode starts from the preset so the range doesn't jump.
              onChange(preset === "custom" ? { preset, since: value.since || value.preset || "1h", until: value.until } : { preset, since: "", until: "" });
            }}
          >
            {presets.map((p) => (
              <option key={p} value={p}>
                {PRESET_LABELS[p]}
              </option>
            ))}
          </select>
        )}
      </Field>
      {value.preset === "custom" && (
        <>
          <TimeInput label="since" value={value.since} error={errors.since} onChange={(since) => onChange({ ...value, since })} />
          <TimeInput label="until" value={value.until} error={errors.until} onChange={(until) => onChange({ ...value, until })} />
        </>
      )}
    </div>
  );
}

function TimeInput({ label, value, error, onChange }: { label: string; value: string; error?: string; onChange: (v: string) => void }) {
  return (
    <Field label={label} error={error} help="RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (30s, 15m, 2h, 7d)">
      {({ inputId, errorId }) => (
        <div className="time-input">
          <input
            id={inputId}
            className="input mono"
            type="text"
            value={value}
            placeholder={label === "since" ? "2h or 2026-01-02T15:04:05Z" : "now"}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={errorId}
            data-testid={`filter-${label}-text`}
            onChange={(e) => onChange(e.target.value)}
          />
          <input
            className="input date-picker"
            type="datetime-local"
            step={1}
            aria-label={`Pick ${label} date and time`}
            value={rfc3339ToDatetimeLocal(value)}
            onChange={(e) => onChange(datetimeLocalToRfc3339(e.target.value) ?? "")}
          />
        </div>
      )}
    </Field>
  );
}

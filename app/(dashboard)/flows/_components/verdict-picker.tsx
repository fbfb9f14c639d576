"use client";

import { VERDICTS, verdictTone } from "@/app/lib/hubble-enums";

/** Verdict multi-select as toggle chips (real checkboxes underneath, for keyboards and tests). */
export function VerdictPicker({
  value,
  error,
  onChange,
}: {
  value: string[];
  error?: string;
  onChange: (v: string[]) => void;
}) {
  const toggle = (v: string, on: boolean) => onChange(on ? [...value.filter((x) => x !== v), v] : value.filter((x) => x !== v));
  return (
    <fieldset className={`field verdicts${error ? " field-invalid" : ""}`} data-testid="filter-verdict">
      <legend className="field-label">verdict</legend>
      <div className="chips">
        {VERDICTS.map((v) => (
          <label key={v} className={`chip-toggle tone-${verdictTone(v)}`}>
            <input
              type="checkbox"
              name="verdict"
              value={v}
              checked={value.includes(v)}
              data-testid={`verdict-${v}`}
              onChange={(e) => toggle(v, e.target.checked)}
            />
            <span>{v.toLowerCase()}</span>
          </label>
        ))}
      </div>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </fieldset>
  );
}

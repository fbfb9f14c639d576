"use client";

import { useId, type ReactNode } from "react";
import type { FilterParam } from "@/app/lib/flow-filter-params";
import { FILTER_META } from "../filter-meta";

/** Label above, error below; the error is tied to the input for screen readers. */
export function Field({
  label,
  error,
  help,
  className,
  children,
}: {
  label: string;
  error?: string;
  help?: string;
  className?: string;
  children: (ids: { inputId: string; errorId?: string }) => ReactNode;
}) {
  const inputId = useId();
  const errorId = useId();
  return (
    <div className={`field${error ? " field-invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={inputId} className="field-label" title={help}>
        {label}
      </label>
      {children({ inputId, errorId: error ? errorId : undefined })}
      {error && (
        <span id={errorId} className="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

/** One text input per parameter; commas separate OR'ed values (the API splits them the same way). */

/** What every filter text input shares: its parameter name, hints from FILTER_META, error wiring. */
function textInputProps(name: FilterParam, error: string | undefined, errorId: string | undefined) {
  const meta = FILTER_META[name];
  return {
    name,
    className: "input",
    type: "text",
    placeholder: meta.placeholder,
    title: meta.help,
    spellCheck: false,
    autoComplete: "off",
    "aria-invalid": error ? true : undefined,
    "aria-describedby": errorId,
  } as const;
}

export function TextFilter({
  name,
  value,
  error,
  onChange,
}: {
  name: FilterParam;
  value: string;
  error?: string;
  onChange: (v: string) => void;
}) {
  const meta = FILTER_META[name];
  const listId = useId();
  // The verdict checkboxes own "filter-verdict"; this input only takes values they don't offer.
  const other = name === "verdict";
  return (
    <Field label={other ? "verdict (other)" : name} error={error} help={meta.help}>
      {({ inputId, errorId }) => (
        <>
          <input
            id={inputId}
            {...textInputProps(name, error, errorId)}
            value={value}
            list={meta.suggestions ? listId : undefined}
            data-testid={other ? "filter-verdict-other" : `filter-${name}`}
            onChange={(e) => onChange(e.target.value)}
          />
          {meta.suggestions && (
            <datalist id={listId}>
              {meta.suggestions.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          )}
        </>
      )}
    </Field>
  );
}

/**
 * Label selectors and http-path regexes contain commas, so each OR alternative gets its own input
 * (repeated parameters in the URL) instead of being split on commas.
 */
export function MultiFilter({
  name,
  values,
  error,
  onChange,
}: {
  name: FilterParam;
  values: string[];
  error?: string;
  onChange: (v: string[]) => void;
}) {
  const meta = FILTER_META[name];
  const list = values.length ? values : [""];
  const set = (i: number, v: string) => onChange(list.map((old, j) => (j === i ? v : old)));
  return (
    <Field label={name} error={error} help={meta.help} className="field-multi">
      {({ inputId, errorId }) => (
        <div className="multi">
          {list.map((v, i) => (
            <div key={i} className="multi-row">
              {i > 0 && <span className="multi-or">or</span>}
              <input
                id={i === 0 ? inputId : undefined}
                aria-label={i === 0 ? undefined : `${name} alternative ${i + 1}`}
                {...textInputProps(name, error, errorId)}
                value={v}
                data-testid={i === 0 ? `filter-${name}` : undefined}
                onChange={(e) => set(i, e.target.value)}
              />
              {list.length > 1 && (
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Remove ${name} alternative`}
                  onClick={() => onChange(list.filter((_, j) => j !== i))}
                >
                  ×
                </button>
              )}
            </div>
          ))}
          <button type="button" className="link-button small" onClick={() => onChange([...list, ""])}>
            + or
          </button>
        </div>
      )}
    </Field>
  );
}

/** ingress / egress / any; a value from the URL we don't offer stays selectable. */
export function DirectionFilter({ value, error, onChange }: { value: string; error?: string; onChange: (v: string) => void }) {
  const options = ["", "ingress", "egress"];
  if (!options.includes(value.toLowerCase())) options.push(value);
  return (
    <Field label="traffic-direction" error={error} help={FILTER_META["traffic-direction"].help}>
      {({ inputId, errorId }) => (
        <select
          id={inputId}
          className="input"
          value={options.includes(value) ? value : value.toLowerCase()}
          aria-invalid={error ? true : undefined}
          aria-describedby={errorId}
          data-testid="filter-traffic-direction"
          onChange={(e) => onChange(e.target.value)}
        >
          {options.map((o) => (
            <option key={o} value={o}>
              {o === "" ? "any" : o}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

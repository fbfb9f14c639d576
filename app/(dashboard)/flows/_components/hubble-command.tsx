"use client";

import { useState, type FormEvent } from "react";
import { parseHubbleCommand, toHubbleCommand } from "@/app/lib/hubble-command";
import { serializeFlowsSearch, type FlowsUrlState } from "../search-params";

/**
 * A `hubble observe …` line: shows the current view as the CLI command that asks Hubble the same
 * question, and takes a pasted command (Enter applies it).
 */
export function HubbleCommand({ state, onApply }: { state: FlowsUrlState; onApply: (next: FlowsUrlState) => void }) {
  const command = toHubbleCommand({ ...state, follow: state.live });
  const [text, setText] = useState(command);
  const [shownFor, setShownFor] = useState(serializeFlowsSearch({ ...state, flow: undefined }));
  const [error, setError] = useState<string | null>(null);

  // Follow the URL unless the user is mid-edit of something that failed to parse.
  const current = serializeFlowsSearch({ ...state, flow: undefined });
  if (shownFor !== current) {
    setShownFor(current);
    setText(command);
    setError(null);
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = parseHubbleCommand(text);
    if (!r.ok) {
      setError(r.error);
      return;
    }
    setError(null);
    onApply({ filters: r.filters, since: r.since, until: r.until, last: r.last, live: r.follow, flow: state.flow });
  };

  return (
    <form className="hubble-command" onSubmit={submit}>
      <label className="hubble-prompt mono" htmlFor="hubble-command-input" title="Paste a hubble observe command and press Enter">
        $
      </label>
      <input
        id="hubble-command-input"
        className="input mono"
        type="text"
        value={text}
        spellCheck={false}
        autoComplete="off"
        aria-label="hubble observe command"
        aria-invalid={error ? true : undefined}
        data-testid="filter-command"
        onChange={(e) => setText(e.target.value)}
      />
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}

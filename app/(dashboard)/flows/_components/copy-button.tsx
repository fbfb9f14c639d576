"use client";

import { useEffect, useState } from "react";

/** Copies text to the clipboard; says so for a moment. */
export function CopyButton({ text, label = "Copy", testId }: { text: string | (() => string); label?: string; testId?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = window.setTimeout(() => setState("idle"), 1500);
    return () => window.clearTimeout(t);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(typeof text === "function" ? text() : text);
      setState("copied");
    } catch {
      // Clipboard API needs a secure context (https or localhost).
      setState("failed");
    }
  };
  return (
    <button type="button" className="button small" onClick={copy} data-testid={testId}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}
    </button>
  );
}

import type { ReactNode } from "react";

export type EmptyKind = "waiting" | "no-match" | "error" | "bad-filter";

/** One box for every "nothing to show" case; `kind` is exposed for tests and styling. */
export function EmptyState({ kind, title, children }: { kind: EmptyKind; title: string; children?: ReactNode }) {
  return (
    <div className={`empty-state empty-${kind}`} data-testid="empty-state" data-kind={kind} role={kind === "error" ? "alert" : "status"}>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

"use client";

/** Last line of defence: a rendering bug shows a message and a retry, not a blank page. */
export default function DashboardError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="empty-state empty-error dashboard-error" role="alert" data-testid="empty-state" data-kind="error">
      <h2>Something went wrong on this page</h2>
      <p className="error-text">{error.message}</p>
      <button type="button" className="button" onClick={reset}>
        Try again
      </button>
    </div>
  );
}

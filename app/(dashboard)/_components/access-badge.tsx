"use client";

import { useState } from "react";

export interface AccessView {
  mode: "local" | "off" | "on";
  bind?: string;
  user: string;
  role: string | null;
  namespaces: string[];
  csrf?: string;
  session: boolean;
}

/**
 * Who you are and how this Flowlens is protected: "localhost only" without sign-in, a warning when
 * auth is off on purpose, else the user, role and namespaces, with sign-out.
 */
export function AccessBadge({ access }: { access: AccessView }) {
  const [busy, setBusy] = useState(false);
  if (access.mode === "local") {
    return (
      <span className="access-badge" data-testid="access-badge" data-mode="local" title="No sign-in is configured, so Flowlens listens on this machine only (docs/security.md)">
        no sign-in · {access.bind ?? "127.0.0.1"} only
      </span>
    );
  }
  if (access.mode === "off") {
    return (
      <span className="access-badge tone-warn-text" data-testid="access-badge" data-mode="off" title="FLOWLENS_AUTH=off: anyone who can reach this address sees every flow">
        ⚠ sign-in off{access.bind ? ` · ${access.bind}` : ""}
      </span>
    );
  }
  const scope = access.namespaces.includes("*") ? "all namespaces" : access.namespaces.join(", ");
  const signOut = async () => {
    setBusy(true);
    try {
      const r = await fetch("/auth/logout", { method: "POST", headers: { "X-Flowlens-CSRF": access.csrf ?? "" } });
      const body = (await r.json().catch(() => ({}))) as { next?: string };
      window.location.assign(body.next ?? "/auth/signed-out");
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="access-badge" data-testid="access-badge" data-mode="on">
      <span data-testid="access-user">{access.user}</span>
      <span className="muted">
        {" "}
        · {access.role} · <span data-testid="access-scope">{scope}</span>
      </span>
      {access.session && (
        <button type="button" className="status-button" onClick={signOut} disabled={busy} data-testid="sign-out">
          Sign out
        </button>
      )}
    </span>
  );
}

"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

interface TokenRow {
  id: number;
  name: string;
  role: string;
  namespaces: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

async function api<T>(url: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(url, init);
  const body = (await r.json().catch(() => ({}))) as T & { error?: string };
  if (!r.ok) throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  return body;
}

function state(t: TokenRow): string {
  if (t.revokedAt) return `revoked ${t.revokedAt.slice(0, 16).replace("T", " ")}`;
  if (t.expiresAt && Date.parse(t.expiresAt) < Date.now()) return "expired";
  return "active";
}

/** Create (shown once), list and revoke API tokens. */
export function TokensClient({ csrf }: { csrf: string }) {
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => api<{ tokens: TokenRow[] }>("/api/tokens") });
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const headers = { "Content-Type": "application/json", "X-Flowlens-CSRF": csrf };

  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setError(null);
    try {
      const body = {
        name: String(f.get("name") ?? ""),
        role: String(f.get("role") ?? "viewer"),
        namespaces: String(f.get("namespaces") ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
        expires: String(f.get("expires") ?? "") || undefined,
      };
      const r = await api<{ token: string; name: string }>("/api/tokens", { method: "POST", headers, body: JSON.stringify(body) });
      setCreated(r);
      await qc.invalidateQueries({ queryKey: ["tokens"] });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  const revoke = async (id: number) => {
    setError(null);
    try {
      await api(`/api/tokens/${id}`, { method: "DELETE", headers });
      await qc.invalidateQueries({ queryKey: ["tokens"] });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section className="admin-page">
      <h1>API tokens</h1>
      <p className="muted">For scripts, CI, Grafana and Prometheus: sent as <code>Authorization: Bearer …</code>. Only a hash is kept; a token is shown once.</p>
      <form onSubmit={create} className="admin-form" data-testid="token-form">
        <label>
          Name <input name="name" required placeholder="grafana" />
        </label>
        <label>
          Role{" "}
          <select name="role" defaultValue="viewer">
            <option value="viewer">viewer</option>
            <option value="auditor">auditor</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Namespaces <input name="namespaces" required placeholder="shop,payments or *" />
        </label>
        <label>
          Expires <input name="expires" placeholder="90d (empty: never)" />
        </label>
        <button type="submit">Create token</button>
      </form>
      {error && (
        <p role="alert" className="status-error-text">
          {error}
        </p>
      )}
      {created && (
        <p data-testid="new-token">
          Token for {created.name} (copy it now, it is not shown again): <code>{created.token}</code>
        </p>
      )}
      <table className="admin-table">
        <thead>
          <tr>
            <th>id</th>
            <th>name</th>
            <th>role</th>
            <th>namespaces</th>
            <th>created</th>
            <th>last used</th>
            <th>state</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.tokens ?? []).map((t) => (
            <tr key={t.id} data-testid="token-row">
              <td>{t.id}</td>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.namespaces.join(", ")}</td>
              <td>
                {t.createdAt.slice(0, 16).replace("T", " ")} by {t.createdBy}
              </td>
              <td>{t.lastUsedAt ? t.lastUsedAt.slice(0, 16).replace("T", " ") : "never"}</td>
              <td>{state(t)}</td>
              <td>
                {!t.revokedAt && (
                  <button type="button" onClick={() => revoke(t.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

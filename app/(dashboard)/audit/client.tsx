"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";

interface Entry {
  id: string;
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

const ACTIONS = ["", "sign-in", "sign-in-failed", "sign-out", "token-use", "token-created", "token-revoked", "export"];

/** The append-only audit log, newest first, with a JSONL export of all of it. */
export function AuditClient() {
  const [action, setAction] = useState("");
  const q = useInfiniteQuery({
    queryKey: ["audit", action],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam, signal }) => {
      const p = new URLSearchParams({ limit: "200" });
      if (pageParam) p.set("cursor", pageParam);
      if (action) p.set("action", action);
      const r = await fetch(`/api/audit?${p}`, { signal });
      const body = (await r.json()) as { items: Entry[]; next: string | null; error?: string };
      if (!r.ok) throw new Error(body.error ?? String(r.status));
      return body;
    },
    getNextPageParam: (last) => last.next,
    refetchInterval: 10_000,
  });
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  const exportHref = `/api/audit?format=jsonl${action ? `&action=${action}` : ""}`;
  return (
    <section className="admin-page">
      <h1>Audit log</h1>
      <p className="muted">Sign-ins, failed sign-ins, token use, token changes and every export (who, when, filter, rows). Append-only.</p>
      <div className="admin-form">
        <label>
          Action{" "}
          <select value={action} onChange={(e) => setAction(e.target.value)} data-testid="audit-action">
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a || "all"}
              </option>
            ))}
          </select>
        </label>
        <a href={exportHref} download data-testid="audit-export">
          Export JSONL
        </a>
      </div>
      {q.error && <p role="alert">{q.error.message}</p>}
      <table className="admin-table">
        <thead>
          <tr>
            <th>when</th>
            <th>who</th>
            <th>action</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action}>
              <td>{e.at.replace("T", " ").slice(0, 19)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>
                <code>{JSON.stringify(e.detail)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.hasNextPage && (
        <button type="button" onClick={() => q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          Older entries
        </button>
      )}
    </section>
  );
}

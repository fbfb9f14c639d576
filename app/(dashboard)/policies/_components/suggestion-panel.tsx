"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { getJson, retryUnlessBadRequest } from "@/app/lib/api-client";
import styles from "../../drops/drops.module.css";
import { YamlBlock } from "../../drops/_components/yaml-block";
import type { SuggestResponse } from "./policies-types";

/** Namespace → a least-privilege policy set from its observed traffic, with the coverage preview. */
export function SuggestionPanel({ namespace, namespaces, query, onNamespace }: { namespace?: string; namespaces: string[]; query: string | null; onNamespace: (ns: string) => void }) {
  const [draft, setDraft] = useState(namespace ?? "");
  const [format, setFormat] = useState<"cilium" | "kubernetes">("cilium");
  const q = useQuery({
    queryKey: ["policy-suggest", query],
    queryFn: ({ signal }) => getJson<SuggestResponse>(`/api/policies/suggest?${query}`, signal),
    retry: retryUnlessBadRequest,
    enabled: query !== null,
  });
  return (
    <div data-testid="suggestion">
      <form
        className={styles.row}
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.trim()) onNamespace(draft.trim());
        }}
      >
        <label className="small" htmlFor="suggest-ns">
          Namespace
        </label>
        <input id="suggest-ns" className="input" style={{ width: 200 }} list="suggest-ns-list" value={draft} onChange={(e) => setDraft(e.target.value)} data-testid="suggest-namespace" />
        <datalist id="suggest-ns-list">
          {namespaces.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <button type="submit" className="button small primary" data-testid="suggest-go">
          Suggest policies
        </button>
        <select className="input" style={{ width: 180 }} value={format} onChange={(e) => setFormat(e.target.value as "cilium" | "kubernetes")} data-testid="suggest-format">
          <option value="cilium">CiliumNetworkPolicy</option>
          <option value="kubernetes">NetworkPolicy</option>
        </select>
      </form>
      {query === null ? null : q.isPending ? (
        <p className="muted">Reading the namespace's traffic…</p>
      ) : q.isError ? (
        <p className="error-text">{(q.error as Error).message}</p>
      ) : q.data.message ? (
        <p className="banner" data-testid="suggest-empty">
          {q.data.message}
        </p>
      ) : (
        <>
          <p className="small muted">
            From traffic delivered since {q.data.since} (a reply, or the destination letting it in; traffic a policy denied gets no rule, even where it
            left its source). {q.data.policies.length} policies; preview of {q.data.coverage.length} observed connections below.
          </p>
          {q.data.warnings.map((w) => (
            <p key={w} className="small tone-text-warn" data-testid="suggest-warning">
              {w}
            </p>
          ))}
          <YamlBlock
            title={`All ${format === "cilium" ? "CiliumNetworkPolicies" : "NetworkPolicies"} (kubectl apply -f -)`}
            yaml={format === "cilium" ? q.data.ciliumYaml : q.data.kubernetesYaml}
            testId="suggest-yaml"
          />
          {q.data.policies.map((p) => (
            <details key={p.name} data-testid="suggested-policy">
              <summary>
                <span className="mono">{p.name}</span> <span className="muted small">{p.description}</span>
              </summary>
              {[...p.warnings, ...(format === "kubernetes" ? p.kubernetesNotes : [])].map((w) => (
                <p key={w} className="small tone-text-warn">
                  {w}
                </p>
              ))}
              <pre className="mono small">{format === "cilium" ? p.ciliumYaml : (p.kubernetesYaml ?? "(not expressible as a NetworkPolicy)")}</pre>
            </details>
          ))}
          <h3 className={styles.sub}>Coverage preview</h3>
          <table className={styles.table} data-testid="coverage">
            <thead>
              <tr>
                <th>From</th>
                <th>To</th>
                <th>Service</th>
                <th>Observed</th>
                <th>Delivered / denied</th>
                <th>With these policies</th>
              </tr>
            </thead>
            <tbody>
              {q.data.coverage.map((c, i) => (
                <tr key={i} data-testid="coverage-row" data-outcome={c.outcome}>
                  <td>{c.src}</td>
                  <td>{c.dst}</td>
                  <td className="mono">{c.service}</td>
                  <td>{c.observed}</td>
                  <td className="mono">
                    {c.delivered} / {c.denied}
                  </td>
                  <td className={c.outcome === "dropped" ? "tone-text-bad" : c.outcome === "allowed" ? "tone-text-ok" : "muted"}>
                    {c.outcome === "allowed"
                      ? `allowed by ${c.sides.map((s) => (s.unenforced ? `${s.direction}: not enforced` : s.rule)).join(" + ")}`
                      : c.outcome === "dropped"
                        ? `dropped at ${c.sides.filter((s) => !s.allowed).map((s) => s.direction).join(" and ")}`
                        : "outside the namespace"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

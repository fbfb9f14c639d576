"use client";

import { groupDestinationLabel } from "@/server/domain/drops/drop-why";
import { peerLabel } from "@/server/domain/shared/peer";
import { policyName } from "@/server/domain/drops/drop-group";
import { POLICY_REASONS } from "@/server/domain/shared/drop-reasons";
import styles from "../drops.module.css";
import { defaultOrder, type DropsSort } from "../search-params";
import type { DropGroupView } from "./drops-types";

const COLUMNS: { sort: DropsSort | null; label: string }[] = [
  { sort: "source", label: "Source" },
  { sort: "destination", label: "Destination" },
  { sort: "port", label: "Port" },
  { sort: null, label: "Dir" },
  { sort: "reason", label: "Reason" },
  { sort: "policy", label: "Denied by" },
  { sort: "count", label: "Packets" },
  { sort: "first", label: "First seen" },
  { sort: "last", label: "Last seen" },
  { sort: null, label: "Nodes / clusters" },
];

const time = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace("T", " ").slice(0, 19);

function service(g: DropGroupView): string {
  if (g.icmp) return `${g.protocol} ${g.icmp.type}/${g.icmp.code}`;
  return g.port !== undefined ? `${g.port}/${g.protocol}` : g.protocol || "—";
}

/** Grouped drops; headers sort (server-side, in the URL); a row opens its group. */
export function DropsTable({
  groups,
  sort,
  order,
  selected,
  onSort,
  onSelect,
}: {
  groups: DropGroupView[];
  sort: DropsSort;
  order: "asc" | "desc";
  selected?: string;
  onSort: (sort: DropsSort, order: "asc" | "desc") => void;
  onSelect: (key: string) => void;
}) {
  return (
    <div className={styles.tableWrap}>
      <table className={styles.table} data-testid="drops-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = c.sort === sort;
              return (
                <th key={c.label} aria-sort={active ? (order === "asc" ? "ascending" : "descending") : undefined}>
                  {c.sort ? (
                    <button
                      type="button"
                      className={styles.sortButton}
                      data-testid={`sort-${c.sort}`}
                      onClick={() => onSort(c.sort!, active ? (order === "asc" ? "desc" : "asc") : defaultOrder(c.sort!))}
                    >
                      {c.label} {active ? (order === "asc" ? "▲" : "▼") : ""}
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr
              key={g.key}
              data-testid="drop-group"
              aria-selected={g.key === selected}
              className={g.key === selected ? styles.selected : undefined}
              onClick={() => onSelect(g.key)}
              tabIndex={0}
              onKeyDown={(e) => {
                if (e.key === "Enter") onSelect(g.key);
              }}
            >
              <td title={g.srcPods.join("\n")}>{peerLabel(g.src)}</td>
              <td title={[...g.dstPods, ...g.dstIps].join("\n")}>{groupDestinationLabel(g)}</td>
              <td className="mono">{service(g)}</td>
              <td>{g.direction === "UNKNOWN" ? "?" : g.direction.toLowerCase()}</td>
              <td>
                <span className={`badge ${g.verdict === "AUDIT" ? "tone-warn" : "tone-bad"}`}>{g.reasonName}</span>
                {g.verdict === "AUDIT" ? <span className="tag">audit</span> : null}
              </td>
              <td data-testid="group-policy" data-named={g.deniedBy.length > 0}>
                {g.deniedBy.length ? (
                  g.deniedBy.map(policyName).join(", ")
                ) : !POLICY_REASONS.has(g.reason) ? (
                  <span className="muted">not a policy decision</span>
                ) : (
                  <span className="muted" title={g.selectedBy?.length ? `No flow names the policy; other flows show ${g.selectedBy.join(", ")} deciding this endpoint` : "No flow names the policy"}>
                    default deny{g.selectedBy?.length ? ` (${g.selectedBy.join(", ")})` : ""}
                  </span>
                )}
              </td>
              <td className="mono" data-testid="group-count">
                {g.count}
              </td>
              <td className="mono small">{time(g.firstNs)}</td>
              <td className="mono small">{time(g.lastNs)}</td>
              <td className="small">
                {g.nodes.join(", ")}
                {g.clusters.length ? <span className="muted"> · {g.clusters.join(", ")}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

import type { ReactNode } from "react";

/** Definition list rows; rows whose value is empty are left out so absent fields don't add noise. */
export function KV({ rows }: { rows: [string, ReactNode][] }) {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0));
  if (shown.length === 0) return null;
  return (
    <dl className="kv">
      {shown.map(([k, v]) => (
        <div key={k} className="kv-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Labels, names, flags as wrapping chips; long values ellipsize and show in full on hover. */
export function Chips({ values, className }: { values: string[]; className?: string }) {
  if (values.length === 0) return null;
  return (
    <ul className={`chip-list${className ? ` ${className}` : ""}`}>
      {values.map((v, i) => (
        <li key={`${i}:${v}`} className="chip" title={v}>
          {v}
        </li>
      ))}
    </ul>
  );
}

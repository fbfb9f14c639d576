import { verdictName, verdictTone } from "@/app/lib/hubble-enums";

export function VerdictBadge({ verdict }: { verdict: unknown }) {
  const name = verdictName(verdict);
  return <span className={`badge tone-${verdictTone(name)}`}>{name}</span>;
}

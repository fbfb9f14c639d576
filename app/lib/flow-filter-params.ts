/**
 * The filter parameters of GET /api/flows and /api/live (docs/api.md), named like `hubble observe`
 * flags. The order here is the canonical order of URLs the UI writes.
 */
export const FILTER_PARAMS = [
  "verdict",
  "namespace",
  "from-namespace",
  "to-namespace",
  "pod",
  "from-pod",
  "to-pod",
  "label",
  "from-label",
  "to-label",
  "ip",
  "from-ip",
  "to-ip",
  "port",
  "from-port",
  "to-port",
  "protocol",
  "type",
  "drop-reason-desc",
  "http-status",
  "http-method",
  "http-path",
  "fqdn",
  "from-fqdn",
  "to-fqdn",
  "node-name",
  "traffic-direction",
  "cluster",
  "uuid",
] as const;

export type FilterParam = (typeof FILTER_PARAMS)[number];

/** Values per parameter; values of one parameter OR together, parameters AND. */
export type FilterValues = Partial<Record<FilterParam, string[]>>;

const FILTER_SET: ReadonlySet<string> = new Set(FILTER_PARAMS);

export function isFilterParam(name: string): name is FilterParam {
  return FILTER_SET.has(name);
}

/**
 * Parameters whose values may legitimately contain commas, so a comma never means "or" for them:
 * a label selector's comma means AND (`app=web,tier!=db`, `app in (a,b)`) and http-path is a regex.
 * For every other parameter the API treats `a,b` like `a` + `b`.
 */
export const COMMA_IS_PART_OF_VALUE: ReadonlySet<FilterParam> = new Set<FilterParam>([
  "label",
  "from-label",
  "to-label",
  "http-path",
]);

/** Quick filters shown in the bar itself; the rest live in "all filters". Verdict has its own control. */
export const QUICK_FILTERS: readonly FilterParam[] = [
  "namespace",
  "pod",
  "label",
  "ip",
  "port",
  "protocol",
  "fqdn",
  "http-status",
];

export const MORE_FILTERS: readonly FilterParam[] = FILTER_PARAMS.filter(
  (p) => p !== "verdict" && !QUICK_FILTERS.includes(p),
);

/** pairInfo once per decoded context object (contexts are decoded once and shared by every reader). */
import { pairInfo, type PairInfo } from "./denied-packets";

const cache = new WeakMap<object, PairInfo | null>();

export function pairInfoOf(flow: Record<string, unknown> | undefined): PairInfo | undefined {
  if (!flow) return undefined;
  let v = cache.get(flow);
  if (v === undefined) cache.set(flow, (v = pairInfo(flow) ?? null));
  return v ?? undefined;
}

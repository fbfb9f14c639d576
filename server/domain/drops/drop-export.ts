/**
 * Audit exports of denied traffic: grouped rows and raw flows, each with WHO / WHAT / WHEN / WHERE
 * / WHY, and every row stamped with the export time and the filter it was made with (absolute
 * times), so a file handed to someone else still says what it is. CSV quoting and formula
 * neutralising are flow-csv's.
 */
import { CSV_COLUMNS, csvRow } from "../flows/flow-csv";
import type { FlowItem } from "../flows/flow-item";
import { groupDrops, sliceOfFlow, type DropGroup } from "./drop-group";
import { peerLabel } from "../shared/peer";
import { deniedByText, dropWhy, groupDestinationLabel } from "./drop-why";
import { formatRfc3339Ns, parseRfc3339Ns } from "../shared/time";

export interface ExportStamp {
  /** RFC 3339 */
  exportedAt: string;
  /** the effective query string (flowQueryToSearchParams) */
  filter: string;
}

export const GROUP_COLUMNS = [
  "exported_at",
  "filter",
  "who",
  "what",
  "when",
  "where",
  "why",
  "verdict",
  "drop_reason",
  "direction",
  "source",
  "destination",
  "protocol",
  "port",
  "denied_by",
  "count",
  "first_seen",
  "last_seen",
  "nodes",
  "clusters",
  "source_pods",
  "destination_pods",
] as const;

export function groupCsvRow(g: DropGroup, stamp: ExportStamp): string[] {
  const w = dropWhy(g);
  return [
    stamp.exportedAt,
    stamp.filter,
    w.who,
    w.what,
    w.when,
    w.where,
    w.why,
    g.verdict,
    g.reasonName,
    g.direction,
    peerLabel(g.src),
    groupDestinationLabel(g),
    g.protocol,
    g.icmp ? `${g.icmp.type}/${g.icmp.code}` : g.port === undefined ? "" : String(g.port),
    deniedByText(g),
    String(g.count),
    formatRfc3339Ns(BigInt(g.firstNs)),
    formatRfc3339Ns(BigInt(g.lastNs)),
    g.nodes.join(" "),
    g.clusters.join(" "),
    g.srcPods.join(" "),
    g.dstPods.join(" "),
  ];
}

export function groupJsonl(g: DropGroup, stamp: ExportStamp): Record<string, unknown> {
  return { exported_at: stamp.exportedAt, filter: stamp.filter, ...dropWhy(g), group: g };
}

/**
 * `packet` says whether a row counts as a denied packet: a policy denial is reported by a
 * policy-verdict event and a drop event of the same packet (docs/adr/0005), and only one of the
 * two is "counted" — so the counted rows add up to /drops' total.
 */
export const RAW_COLUMNS = ["exported_at", "filter", "who", "what", "when", "where", "why", "packet", ...CSV_COLUMNS] as const;

export const PACKET_COUNTED = "counted";
export const PACKET_PAIRED = "same packet as its policy-verdict event";

function itemNs(item: FlowItem): bigint {
  const t = item.flow.time ?? item.time;
  const r = t ? parseRfc3339Ns(t) : undefined;
  return r && r.ok ? r.value : 0n;
}

/** One raw denied flow as a group of one, for its WHO…WHY. */
export function rawWhy(item: FlowItem) {
  return dropWhy(groupDrops([sliceOfFlow(item, itemNs(item))])[0]);
}

export function itemTimeNs(item: FlowItem): bigint {
  return itemNs(item);
}

/** `paired`: the drop event of a packet whose policy-verdict event is the counted row */
export function rawCsvRow(item: FlowItem, stamp: ExportStamp, paired = false): string[] {
  const w = rawWhy(item);
  return [stamp.exportedAt, stamp.filter, w.who, w.what, w.when, w.where, w.why, paired ? PACKET_PAIRED : PACKET_COUNTED, ...csvRow(item)];
}

/** hubble's GetFlowsResponse JSON plus the audit fields. */
export function rawJsonl(item: FlowItem, stamp: ExportStamp, paired = false): Record<string, unknown> {
  const o: Record<string, unknown> = { exported_at: stamp.exportedAt, filter: stamp.filter, ...rawWhy(item), packet: paired ? PACKET_PAIRED : PACKET_COUNTED, flow: item.flow };
  if (item.node_name !== undefined) o.node_name = item.node_name;
  if (item.time !== undefined) o.time = item.time;
  return o;
}

/**
 * The DNS record of a stored flow's L7 bytes (Layer7.dns): its qtypes read with the wire walker,
 * once per stored DNS flow, and the full record decoded only for the queries an answer shows.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Layer7Schema } from "@/proto/gen/flow/flow_pb";
import { L7_DNS } from "./flow-fields";
import { WIRE_LEN, WireCursor } from "./wire";

export interface DnsDetails {
  ips: string[];
  ttl: number | null;
  cnames: string[];
  rrtypes: string[];
}

/** ips, ttl, cnames of a response (a full decode: only for the queries an answer shows). */
export function dnsDetails(l7: Uint8Array | undefined): DnsDetails | null {
  if (!l7) return null;
  try {
    const m = fromBinary(Layer7Schema, l7);
    if (m.record.case !== "dns") return null;
    const d = m.record.value;
    return { ips: d.ips, ttl: d.ttl, cnames: d.cnames, rrtypes: d.rrtypes };
  } catch {
    return null;
  }
}

const QTYPE_TEXT = new Map<number, string>();

/** ASCII bytes → text, interning the few qtype names there are ("A", "AAAA", "SRV"…). */
function qtypeText(buf: Uint8Array, start: number, end: number): string {
  let h = end - start;
  for (let i = start; i < end && i < start + 12; i++) h = (h * 31 + buf[i]) >>> 0;
  const known = QTYPE_TEXT.get(h);
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
  if (known === text) return known;
  if (QTYPE_TEXT.size < 256) QTYPE_TEXT.set(h, text);
  return text;
}

/**
 * Layer7.dns.qtypes without decoding the rest (field 100 → repeated string 7): a hand-rolled walk,
 * as this runs once per stored DNS flow of the range.
 */
export function readQtypes(l7: Uint8Array): string[] {
  const out: string[] = [];
  try {
    const c = new WireCursor(l7);
    while (!c.done()) {
      c.field();
      if (c.fieldNo !== L7_DNS || c.wireType !== WIRE_LEN) continue;
      const d = new WireCursor(l7, c.valueStart, c.valueEnd);
      while (!d.done()) {
        d.field();
        if (d.fieldNo === 7 && d.wireType === WIRE_LEN) out.push(qtypeText(l7, d.valueStart, d.valueEnd));
      }
    }
  } catch {
    // a malformed record still pairs by name; it just has no qtype
  }
  return out;
}

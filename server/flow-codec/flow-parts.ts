/**
 * The Layer4 and Layer7 columns of a flow, read off its wire bytes (split-flow.ts): ports, TCP
 * flags, the L7 record's kind, latency, DNS query/rcode and HTTP code/method/URL.
 */
import { L4_IGMP, L4_SCTP, L4_TCP, L7_DNS, L7_HTTP, L7_KAFKA } from "./flow-fields";
import { WIRE_LEN, WIRE_VARINT, WireCursor } from "./wire";

const MAX_INT64 = 0x7fffffffffffffffn;

export interface L7Parts {
  l7Type: number | null;
  /** the Layer7 record's field number: 100 DNS, 101 HTTP, 102 Kafka */
  l7Kind: number | null;
  latencyNs: bigint | null;
  dnsQuery: string | null;
  dnsRcode: number | null;
  httpCode: number | null;
  httpMethod: string | null;
  httpUrl: string | null;
}

export interface L4Parts {
  l4: number;
  sport: number | null;
  dport: number | null;
  tcpFlags: number | null;
  /** false when the message holds anything our columns cannot rebuild exactly */
  exact: boolean;
}

function readTcpFlags(c: WireCursor): number | null {
  const f = new WireCursor(c.buf, c.valueStart, c.valueEnd);
  let bits = 0;
  while (!f.done()) {
    f.field();
    if (f.wireType !== WIRE_VARINT || f.fieldNo < 1 || f.fieldNo > 9) return null;
    if (f.varintValue() === 1) bits |= 1 << (f.fieldNo - 1);
    else if (f.varintValue() !== 0) return null;
  }
  return bits;
}

export function readL4(buf: Uint8Array, start: number, end: number): L4Parts {
  const outer = new WireCursor(buf, start, end);
  const parts: L4Parts = { l4: 0, sport: null, dport: null, tcpFlags: null, exact: true };
  let members = 0;
  while (!outer.done()) {
    outer.field();
    members++;
    if (outer.wireType !== WIRE_LEN) {
      parts.exact = false;
      continue;
    }
    // the protocol is known for the oneof's members (VRRP 6 and IGMP 7 have no columns); a field
    // number a newer agent adds says nothing about it
    if (outer.fieldNo <= L4_IGMP) parts.l4 = outer.fieldNo;
    if (outer.fieldNo < L4_TCP || outer.fieldNo > L4_SCTP) {
      parts.exact = false;
      continue;
    }
    const inner = new WireCursor(buf, outer.valueStart, outer.valueEnd);
    while (!inner.done()) {
      inner.field();
      if (inner.fieldNo === 1 && inner.wireType === WIRE_VARINT) parts.sport = inner.varintValue();
      else if (inner.fieldNo === 2 && inner.wireType === WIRE_VARINT) parts.dport = inner.varintValue();
      else if (inner.fieldNo === 3 && inner.wireType === WIRE_LEN && outer.fieldNo === L4_TCP) {
        parts.tcpFlags = readTcpFlags(inner);
        if (parts.tcpFlags === null) parts.exact = false;
      } else parts.exact = false;
    }
    // a value that does not fit the int columns travels as bytes, and is not searchable by port
    if ((parts.sport ?? 0) > 0x7fffffff) (parts.sport = null), (parts.exact = false);
    if ((parts.dport ?? 0) > 0x7fffffff) (parts.dport = null), (parts.exact = false);
  }
  // none (an empty Layer4 is still a Layer4) or several: only the bytes say what was sent
  if (members !== 1) parts.exact = false;
  return parts;
}

export function noL7(): L7Parts {
  return { l7Type: null, l7Kind: null, latencyNs: null, dnsQuery: null, dnsRcode: null, httpCode: null, httpMethod: null, httpUrl: null };
}

export function readL7(buf: Uint8Array, start: number, end: number): L7Parts {
  const p = noL7();
  const c = new WireCursor(buf, start, end);
  while (!c.done()) {
    c.field();
    if (c.fieldNo === 1 && c.wireType === WIRE_VARINT) p.l7Type = c.varintValue();
    else if (c.fieldNo === 2 && c.wireType === WIRE_VARINT) {
      const v = c.varintValueBig();
      p.latencyNs = v > MAX_INT64 ? null : v;
    } else if (c.fieldNo === L7_DNS && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_DNS;
      p.dnsRcode = 0;
      const d = new WireCursor(buf, c.valueStart, c.valueEnd);
      while (!d.done()) {
        d.field();
        if (d.fieldNo === 1 && d.wireType === WIRE_LEN) p.dnsQuery = d.stringValue();
        else if (d.fieldNo === 6 && d.wireType === WIRE_VARINT) p.dnsRcode = d.varintValue();
      }
    } else if (c.fieldNo === L7_KAFKA && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_KAFKA;
    } else if (c.fieldNo === L7_HTTP && c.wireType === WIRE_LEN) {
      p.l7Kind = L7_HTTP;
      const h = new WireCursor(buf, c.valueStart, c.valueEnd);
      while (!h.done()) {
        h.field();
        if (h.fieldNo === 1 && h.wireType === WIRE_VARINT) p.httpCode = h.varintValue();
        else if (h.fieldNo === 2 && h.wireType === WIRE_LEN) p.httpMethod = h.stringValue();
        else if (h.fieldNo === 3 && h.wireType === WIRE_LEN) p.httpUrl = h.stringValue();
      }
    }
  }
  if (p.dnsRcode !== null && p.dnsRcode > 0x7fffffff) p.dnsRcode = null;
  if (p.httpCode !== null && p.httpCode > 0x7fffffff) p.httpCode = null;
  return p;
}

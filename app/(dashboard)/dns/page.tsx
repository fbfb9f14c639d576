import type { Metadata } from "next";
import { DnsClient } from "./client";
import { dnsTitle, parseDnsSearch } from "./search-params";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  return { title: dnsTitle(parseDnsSearch(await searchParams)) };
}

/** The server only parses the URL; the client reads /api/dns and /api/dns/summary for it. */
export default async function DnsPage({ searchParams }: { searchParams: SearchParams }) {
  return <DnsClient initialState={parseDnsSearch(await searchParams)} />;
}

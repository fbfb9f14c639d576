import type { Metadata } from "next";
import { DropsClient } from "./client";
import { parseDropsSearch } from "./search-params";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export const metadata: Metadata = { title: "Drops" };

/** Only the URL is read on the server; the client fetches /api/drops for it. */
export default async function DropsPage({ searchParams }: { searchParams: SearchParams }) {
  return <DropsClient initialState={parseDropsSearch(await searchParams)} />;
}

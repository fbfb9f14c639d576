import type { Metadata } from "next";
import { MapClient } from "./client";
import { parseMapSearch } from "./search-params";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export const metadata: Metadata = { title: "Service map · Flowlens" };

/** The server only parses the URL; the map itself (cytoscape, polling) lives in the client. */
export default async function MapPage({ searchParams }: { searchParams: SearchParams }) {
  return <MapClient initialState={parseMapSearch(await searchParams)} />;
}

import type { Metadata } from "next";
import { FlowsClient } from "./client";
import { flowsTitle, parseFlowsSearch } from "./search-params";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  return { title: flowsTitle(parseFlowsSearch(await searchParams)) };
}

/**
 * Server side only parses the URL, so the first HTML already has the right filters in the inputs;
 * everything else (queries, live follow) happens in the client, which then follows the URL itself.
 */
export default async function FlowsPage({ searchParams }: { searchParams: SearchParams }) {
  const initialState = parseFlowsSearch(await searchParams);
  return <FlowsClient initialState={initialState} />;
}

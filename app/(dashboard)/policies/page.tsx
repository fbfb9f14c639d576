import type { Metadata } from "next";
import { PoliciesClient } from "./client";
import { parsePoliciesSearch } from "./search-params";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export const metadata: Metadata = { title: "Policies" };

export default async function PoliciesPage({ searchParams }: { searchParams: SearchParams }) {
  return <PoliciesClient initialState={parsePoliciesSearch(await searchParams)} />;
}

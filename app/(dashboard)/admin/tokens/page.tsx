import type { Metadata } from "next";
import { pageCaller } from "@/server/auth/page-caller";
import { may } from "@/server/domain/auth/roles";
import { AdminOnly } from "../../_components/admin-only";
import { TokensClient } from "./client";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  const caller = await pageCaller();
  if (!caller || !may(caller, "admin")) return <AdminOnly what="API tokens" />;
  return <TokensClient csrf={caller.csrf ?? ""} />;
}

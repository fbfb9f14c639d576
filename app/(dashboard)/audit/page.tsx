import type { Metadata } from "next";
import { pageCaller } from "@/server/auth/page-caller";
import { may } from "@/server/domain/auth/roles";
import { AdminOnly } from "../_components/admin-only";
import { AuditClient } from "./client";

export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage() {
  const caller = await pageCaller();
  if (!caller || !may(caller, "admin")) return <AdminOnly what="Audit log" />;
  return <AuditClient />;
}

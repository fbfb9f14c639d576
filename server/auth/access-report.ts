/** Who is asking and how Flowlens is protected, as the header shows it (status API and page layout). */
import { unionScopes } from "@/server/domain/auth/namespace-scope";
import { may, topRole, type Caller } from "@/server/domain/auth/roles";
import type { AccessReport } from "@/server/domain/flows/flow-item";
import { authSettings } from "./auth-settings";

export function accessReport(caller: Caller): AccessReport {
  const settings = authSettings();
  return {
    mode: settings.mode,
    bind: settings.bind,
    user: caller.name,
    role: topRole(caller.grants),
    namespaces: unionScopes(caller.grants.map((g) => g.namespaces)),
    csrf: caller.csrf,
    canExport: may(caller, "export"),
    isAdmin: may(caller, "admin"),
  };
}

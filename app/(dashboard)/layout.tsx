import Link from "next/link";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { authSettings } from "@/server/auth/auth-settings";
import { accessReport } from "@/server/auth/access-report";
import { pageCaller } from "@/server/auth/page-caller";
import { may } from "@/server/domain/auth/roles";
import { AccessBadge } from "./_components/access-badge";
import { Nav } from "./_components/nav";
import { StatusHeader } from "./_components/status-header";

/**
 * Every dashboard page: brand, navigation, who is signed in and the live status of ingestion on
 * top. With sign-in on, a page is only rendered for a valid session (the data itself comes from
 * the API, which checks every request again).
 */
export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const caller = await pageCaller();
  const settings = authSettings();
  if (!caller && settings.oidc) redirect("/auth/login");
  if (!caller) {
    // FLOWLENS_AUTH=on without an identity provider: API tokens only, no pages
    return (
      <main className="admin-page">
        <h1>Sign-in required</h1>
        <p data-testid="tokens-only">This Flowlens accepts API tokens only (FLOWLENS_AUTH=on without FLOWLENS_OIDC_ISSUER). See docs/security.md.</p>
      </main>
    );
  }
  const isAdmin = may(caller, "admin");
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/flows" className="brand" aria-label="Flowlens home">
          <span className="brand-mark" aria-hidden="true" />
          Flowlens
        </Link>
        <Nav admin={isAdmin && settings.mode !== "local" && settings.mode !== "off"} />
        <StatusHeader />
        <AccessBadge
          access={{ ...accessReport(caller), session: caller.kind === "session" }}
        />
      </header>
      <main className="main">{children}</main>
    </div>
  );
}

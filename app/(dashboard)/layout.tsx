import Link from "next/link";
import type { ReactNode } from "react";
import { Nav } from "./_components/nav";
import { StatusHeader } from "./_components/status-header";

/** Every dashboard page: brand, navigation and the live status of ingestion on top. */
export default function DashboardLayout({ children }: { children: ReactNode }) {
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/flows" className="brand" aria-label="Flowlens home">
          <span className="brand-mark" aria-hidden="true" />
          Flowlens
        </Link>
        <Nav />
        <StatusHeader />
      </header>
      <main className="main">{children}</main>
    </div>
  );
}

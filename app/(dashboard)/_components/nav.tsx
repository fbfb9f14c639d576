"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

/**
 * Views that exist. Map, Drops, Policies and DNS join this list when their pages land; until then
 * they are not shown (a link to a 404 helps nobody).
 */
const NAV_ITEMS: { href: string; label: string }[] = [{ href: "/flows", label: "Flows" }];

export function Nav() {
  const pathname = usePathname();
  return (
    <nav className="nav" aria-label="Views">
      {NAV_ITEMS.map((item) => {
        const active = pathname === item.href || pathname.startsWith(`${item.href}/`);
        return (
          <Link key={item.href} href={item.href} className="nav-link" aria-current={active ? "page" : undefined}>
            {item.label}
          </Link>
        );
      })}
    </nav>
  );
}

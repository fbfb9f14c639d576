"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

/** Views that exist (a link to a page that has not landed would be a 404). */
const NAV_ITEMS: { href: string; label: string }[] = [
  { href: "/flows", label: "Flows" },
  { href: "/map", label: "Map" },
  { href: "/drops", label: "Drops" },
  { href: "/policies", label: "Policies" },
  { href: "/dns", label: "DNS" },
];

/** Only for admins when sign-in is on (without sign-in there are no tokens to manage). */
const ADMIN_ITEMS: { href: string; label: string }[] = [
  { href: "/admin/tokens", label: "Tokens" },
  { href: "/audit", label: "Audit" },
];

export function Nav({ admin = false }: { admin?: boolean }) {
  const pathname = usePathname();
  return (
    <nav className="nav" aria-label="Views">
      {[...NAV_ITEMS, ...(admin ? ADMIN_ITEMS : [])].map((item) => {
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

"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

export interface NavLink {
  href: string;
  label: string;
}

export function PortalNav({ links }: { links: NavLink[] }) {
  const pathname = usePathname();
  // The longest matching link only: on /admin/releases, "Releases" is current, not "Admin" as well.
  const current = links
    .filter((link) => pathname === link.href || pathname.startsWith(link.href + "/"))
    .reduce<string | null>((best, link) => (best === null || link.href.length > best.length ? link.href : best), null);
  return (
    <nav aria-label="Main" className="flex gap-1">
      {links.map((link) => {
        const active = link.href === current;
        return (
          <Link
            key={link.href}
            href={link.href}
            aria-current={active ? "page" : undefined}
            className={`rounded-md px-3 py-1.5 text-sm font-medium whitespace-nowrap ${active ? "bg-brand-50 text-brand-700" : "text-slate-600 hover:bg-slate-100"}`}
          >
            {link.label}
          </Link>
        );
      })}
    </nav>
  );
}

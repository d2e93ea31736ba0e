import { requirePageActor } from "@/lib/auth/current";
import { isAdmin } from "@/lib/auth/roles";
import { Logo } from "@/components/logo";
import { PortalNav, type NavLink } from "@/components/portal-nav";
import { SignOutButton } from "@/components/auth/sign-out-button";

export const dynamic = "force-dynamic";

export default async function PortalLayout({ children }: { children: React.ReactNode }) {
  const actor = await requirePageActor();
  const links: NavLink[] = [
    { href: "/dashboard", label: "Dashboard" },
    { href: "/flavours", label: "Flavours" },
    { href: "/devices", label: "Devices" },
    { href: "/base-manifests", label: "Base manifest" },
    { href: "/settings/tokens", label: "API tokens" },
  ];
  if (isAdmin(actor)) links.push({ href: "/admin/releases", label: "Releases" }, { href: "/admin", label: "Admin" });
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl items-center justify-between gap-6 px-6 py-3">
          <div className="flex items-center gap-6">
            <Logo />
            <PortalNav links={links} />
          </div>
          <div className="flex min-w-0 items-center gap-3 text-sm">
            {/* The organisation wraps under the e-mail rather than pushing the nav onto two lines. */}
            <span className="min-w-0 text-right text-slate-600" data-testid="whoami">
              {actor.user.email} <span className="whitespace-nowrap">· {actor.org.name}</span>
              {isAdmin(actor) && <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800">admin</span>}
            </span>
            <span className="shrink-0">
              <SignOutButton />
            </span>
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-6 py-8">{children}</main>
    </div>
  );
}

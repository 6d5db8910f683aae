import { signOutNow } from "@/lib/actions/auth/sign-out";
import type { Actor } from "@/lib/auth/actor";
import { can } from "@/lib/auth/permissions";
import { Badge } from "@/components/ui/badge";
import { NavLinks, type NavLink } from "./nav-links";

export function AppShell({ actor, children }: { actor: Actor; children: React.ReactNode }) {
  const links: NavLink[] = [
    { href: "/", label: "Overview" },
    { href: "/replicas", label: "Replicas" },
    { href: "/sessions", label: "Sessions" },
    { href: "/schedules", label: "Schedules" },
  ];
  if (can(actor.role, "audit.read")) links.push({ href: "/audit", label: "Audit log" });
  if (can(actor.role, "users.write")) links.push({ href: "/users", label: "Users" });
  links.push({ href: "/profile", label: "Profile" });

  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 pt-3">
          <div className="flex items-center gap-2">
            {/* eslint-disable-next-line @next/next/no-img-element */}
            <img src="/favicon.svg" alt="" width={24} height={24} />
            <span className="font-semibold">Failback</span>
          </div>
          <div className="flex min-w-0 items-center gap-3 text-sm">
            <span className="hidden truncate text-slate-600 sm:inline" data-testid="signed-in-as">
              {actor.email}
            </span>
            <Badge tone="blue">{actor.role}</Badge>
            <form action={signOutNow}>
              <button type="submit" className="text-slate-600 underline-offset-2 hover:text-slate-900 hover:underline">
                Sign out
              </button>
            </form>
          </div>
        </div>
        <div className="mx-auto max-w-6xl px-4">
          <NavLinks links={links} />
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
    </div>
  );
}

import { AppShell } from "@/components/shell/app-shell";
import { requireActor } from "@/lib/auth/page-guard";

// Every page here reads live state and the signed-in user: never prerendered.
export const dynamic = "force-dynamic";

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const actor = await requireActor();
  return <AppShell actor={actor}>{children}</AppShell>;
}

import { redirect } from "next/navigation";
import { db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { currentActor, type Actor } from "./actor";
import { can, type Permission } from "./permissions";

/** For pages: the signed-in actor, or a redirect to sign-in. */
export async function requireActor(): Promise<Actor> {
  const actor = await currentActor();
  if (!actor) redirect("/sign-in");
  return actor;
}

/** For pages: the actor if their role has the permission; otherwise the denial is audited and null returned. */
export async function actorWithPermission(
  permission: Permission,
  what: string,
): Promise<{ actor: Actor; allowed: boolean }> {
  const actor = await requireActor();
  if (can(actor.role, permission)) return { actor, allowed: true };
  await appendAudit(db(), {
    actorUserId: actor.userId,
    actorLabel: actor.email,
    action: "page.open",
    outcome: "denied",
    targetType: "page",
    targetId: what,
    reason: `missing permission ${permission}`,
    clientIp: actor.clientIp,
    userAgent: actor.userAgent,
  });
  return { actor, allowed: false };
}
